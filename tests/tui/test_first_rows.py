"""A dataset's first rows are painted before any tokenizer is loaded; the counts fill in after.

Loading `o200k_base` takes most of a second and holds the GIL the first paint needs, though
nothing on the first screen needs a token count. The check runs in a fresh process, as ftui
starts: in the test process, apps and worker threads of earlier tests share the tokenizer and
the order of events.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, sys
from pathlib import Path

import ftui.core.pricing.tokens as tokens
import ftui.core.validation.validator as validator
from ftui.config import Config
from ftui.core.dataset.demo import create_demo_workspace
from ftui.tui.app import make_app
from ftui.tui.widgets.example_list import ExampleList
from tests.tui.conftest import SIZE, data_section, settle

painted_rows = 0
rows_painted_when_loading = []
render_row, get_encoding = ExampleList.render_row, tokens.get_encoding

def counting_render_row(self, *args, **kwargs):
    global painted_rows
    painted_rows += 1
    return render_row(self, *args, **kwargs)

def noting_get_encoding(name):
    rows_painted_when_loading.append(painted_rows)
    return get_encoding(name)

ExampleList.render_row = counting_render_row
tokens.get_encoding = validator.get_encoding = noting_get_encoding
tokens._encodings.clear()

async def main():
    place = Path(sys.argv[1])
    app = make_app(Config(home=place / "home"), create_demo_workspace(place / "workspace"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        data = data_section(app)
        assert rows_painted_when_loading, "the token counts were never computed"
        assert rows_painted_when_loading[0] > 0, "the tokenizer loaded before any row was painted"
        # ... and every count filled in afterwards: the list column, the conversation, the pane.
        assert data.session is not None and data.session.row(0).tokens is not None
        shown = data.conversation.shown
        assert shown is not None and all(count is not None for count in shown.message_tokens)
        report = data.session.report
        assert report is not None and len(report.tokens_per_example) == len(data.session)
        assert min(report.tokens_per_example) > 0
    print("ok", rows_painted_when_loading[0])

asyncio.run(main())
"""


def test_first_rows_are_painted_before_the_tokenizer_loads(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok ")
