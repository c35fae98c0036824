"""The validation pane while a full pass runs: saving in the middle of the first pass of a file
is safe (the pass keeps reading the file it began on, then one runs on the saved file), and the
pane never shows a tally until a result for the current content is in."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ftui.core.editing import full_pass
from ftui.core.editing.session import DatasetSession
from ftui.core.findings import Severity
from ftui.core.validation.validate import ValidationOptions
from tests.tui.conftest import SIZE, data_section, press, settle

WAIT = 30.0


def errors_in(path: Path, tmp_path: Path) -> int:
    """The oracle: errors a fresh session finds in the file."""
    with DatasetSession.open(
        path, journal_dir=tmp_path / "oracle", options=ValidationOptions(workers=1)
    ) as session:
        report = session.validate_all()
    return sum(1 for f in report.findings if f.severity == Severity.ERROR)


class GatedPasses:
    """run_full_pass, with every pass held at its first progress report until released."""

    def __init__(self) -> None:
        self.real = full_pass.run_full_pass
        self.reached = [threading.Event(), threading.Event()]
        self.release = threading.Event()
        self.files: list[int] = []

    def __call__(
        self, snapshot: full_pass.FullPassSnapshot, progress: Callable[[int, int], None]
    ) -> full_pass.FullPassResult:
        number = len(self.files)
        self.files.append(snapshot.binding)
        first_report = True

        def held(done: int, total: int) -> None:
            nonlocal first_report
            if first_report and number < len(self.reached):
                first_report = False
                self.reached[number].set()
                assert self.release.wait(WAIT)
            progress(done, total)

        return self.real(snapshot, held)


@pytest.fixture
def bigger_demo(demo_path: Path) -> Path:
    """The demo ten times over (its three errors become thirty)."""
    text = demo_path.read_bytes()
    demo_path.write_bytes(text * 10)
    return demo_path


async def test_save_during_the_first_validation_is_safe_and_shows_no_false_tally(
    app_factory: Any, bigger_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = GatedPasses()
    monkeypatch.setattr(full_pass, "run_full_pass", gated)
    app = app_factory(bigger_demo)
    async with app.run_test(size=SIZE) as pilot:
        assert await asyncio.to_thread(gated.reached[0].wait, WAIT)
        data = data_section(app)
        assert data.validating
        await press(pilot, "i")  # a new example with two empty messages: two more errors
        await press(pilot, "escape", "ctrl+s")
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "save"])
        await pilot.pause(0)
        session = data.session
        assert session is not None and not session.dirty and not data.saving
        # A pass on the saved file has begun (held before its first report): the pane shows
        # what the save left it showing.
        assert await asyncio.to_thread(gated.reached[1].wait, WAIT)
        await pilot.pause(0)
        title = str(data.pane.border_title)
        assert "checking" in title and "error" not in title  # no tally before a result is in
        gated.release.set()
        await settle(pilot)
        expected = errors_in(bigger_demo, tmp_path)
        assert expected == 32
        assert str(data.pane.border_title).startswith(f"Validation · {expected} errors")
        assert data.pane.counts["error"] == expected and session.report_is_current
        assert len(gated.files) == 2 and gated.files[0] != gated.files[1]  # then the saved file
        problems = [n.message for n in app._notifications if n.severity == "error"]
        assert problems == []


async def test_edits_during_a_pass_are_in_the_findings_it_leaves(
    app_factory: Any, demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = GatedPasses()
    gated.reached.pop()  # hold only the first pass
    monkeypatch.setattr(full_pass, "run_full_pass", gated)
    app = app_factory(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        assert await asyncio.to_thread(gated.reached[0].wait, WAIT)
        data = data_section(app)
        await press(pilot, "D")  # delete example 1 on the UI thread while the pass is held
        await press(pilot, "i", "escape")  # and insert an empty one: two errors
        gated.release.set()
        await settle(pilot)
        session = data.session
        assert session is not None and not data.validating and len(gated.files) == 1
        assert not session.report_is_current  # re-based: its totals are the snapshot's
        # Per-example errors: what the pass found, moved by the delete, plus the inserted one.
        shown = sorted(f.example for f in session.findings if f.code == "missing_content")
        saved = tmp_path / "now.jsonl"
        session.export(range(len(session)), saved)
        with DatasetSession.open(
            saved, journal_dir=tmp_path / "oracle", options=ValidationOptions(workers=1)
        ) as fresh:
            fresh.validate_all()
            expected = sorted(f.example for f in fresh.findings if f.code == "missing_content")
        assert shown == expected and 1 in shown  # the inserted example, at position 1
