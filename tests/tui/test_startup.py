"""The way to the first frame stays light: none of the training stack, the OpenAI client or the
run store is imported to show the workbench (they load where they are needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "trl", "peft", "bitsandbytes", "datasets", "openai", "accelerate")

CHILD = """
import json, os, sys
from pathlib import Path
from ftui.config import Config
from ftui.tui.app import make_app
from ftui.tui.widgets.example_list import ExampleList

home = Path(sys.argv[1])
dataset = Path(sys.argv[2]) if len(sys.argv) > 2 else None

def report(app):
    os.write(1, json.dumps(sorted(sys.modules)).encode())
    app.exit()

async def until_first_rows(pilot):
    app = pilot.app
    if dataset is not None:
        while not any(widget.row_count for widget in app.screen.query(ExampleList)):
            await pilot.pause(0.01)
    app.call_after_refresh(report, app)

make_app(Config(home=home), dataset).run(headless=True, auto_pilot=until_first_rows)
"""


def loaded_modules(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("with_dataset", [False, True], ids=["empty", "demo dataset"])
def test_first_frame_imports_nothing_heavy(tmp_path: Path, with_dataset: bool) -> None:
    from ftui.core.dataset.demo import create_demo_workspace

    args = [str(tmp_path / "home")]
    if with_dataset:
        args.append(str(create_demo_workspace(tmp_path / "workspace")))
    loaded = loaded_modules(*args)
    assert "ftui.tui.app" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []
    # Sections other than Data load on first visit.
    assert "sqlite_utils" not in loaded and "ftui.services.store" not in loaded
