"""Every test runs against its own ftui home and never against the user's config or network."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Beside the checkout by default; a git worktree elsewhere points at them with the variable.
SHARED_DATASETS = Path(
    os.environ.get("FTUI_SHARED_DATASETS")
    or Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
)


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache() -> Iterator[None]:
    """ftui's regenerable caches (parsed CSS) go to one folder per test process, not the user's
    ~/.cache; shared by the session, so the tests of a warm start find it warm."""
    cache = tempfile.mkdtemp(prefix="ftui-cache-")
    os.environ["XDG_CACHE_HOME"] = cache
    yield
    shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_ftui_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("ftui-home")
    monkeypatch.setenv("FTUI_HOME", str(home))
    # Never the user's settings file: a test that wants one writes it and points here.
    monkeypatch.setenv("FTUI_CONFIG", str(home / "no-settings.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    # Tests run two at a time and start trainers of their own: one math thread per process keeps
    # torch from oversubscribing the cores, which slows everything down many times over.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    monkeypatch.delenv("OPENAI_PROJECT_ID", raising=False)
    return home


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"the shared datasets folder is absent ({SHARED_DATASETS})")
    return SHARED_DATASETS


@pytest.fixture
def fake_openai():
    """A running test OpenAI server whose clock moves only when the test says."""
    from tests.support.fake_openai import FakeOpenAI, ManualClock

    with FakeOpenAI(clock=ManualClock()) as server:
        yield server


@pytest.fixture
def fake_chat():
    """A running OpenAI-compatible chat server with scripted models (tests/support/fake_chat.py)."""
    from tests.support.fake_chat import FakeChat

    with FakeChat() as server:
        yield server
