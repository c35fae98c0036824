"""Every test runs against its own ftui home and never against the user's config or network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Beside the checkout; FTUI_SHARED_DATASETS points elsewhere (a worktree that lives deeper).
SHARED_DATASETS = Path(
    os.environ.get("FTUI_SHARED_DATASETS")
    or Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
)


@pytest.fixture(autouse=True)
def _isolated_ftui_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("ftui-home")
    monkeypatch.setenv("FTUI_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    # Tests run two at a time and start trainers of their own: one math thread per process keeps
    # torch from oversubscribing the cores, which slows everything down many times over.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return home


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"the shared datasets folder is absent ({SHARED_DATASETS})")
    return SHARED_DATASETS
