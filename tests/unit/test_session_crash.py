"""Crash safety: a process killed in the middle of a save leaves the old file or the new one, and
edits of a session that died without saving come back from its journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftui.core.editing.edits import DeleteExamples, InsertExample, MoveExample, SetContent, SetRole
from ftui.core.editing.journal import JournalError
from ftui.core.editing.session import SAVE_PAUSE_ENV, DatasetSession

ROOT = Path(__file__).resolve().parents[2]


def chat(i: int) -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"question {i} " + "x" * 40},
            {"role": "assistant", "content": f"answer {i} " + "y" * 80},
        ]
    }


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(chat(i)) + "\n" for i in range(3000)))
    return path


def open_session(path: Path, journal: Path) -> DatasetSession:
    session = DatasetSession.open(path, journal_dir=journal)
    session.ensure_indexed()
    return session


def snapshot(session: DatasetSession) -> list[object]:
    return [session.value(i) for i in range(len(session))]


CHILD = """
import os, signal, sys
from pathlib import Path
from ftui.core.editing.edits import SetContent, DeleteExamples
from ftui.core.editing.session import DatasetSession
path, journal, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
session = DatasetSession.open(path, journal_dir=journal)
session.ensure_indexed()
session.apply(SetContent(5, 1, "edited before the crash"))
session.apply(DeleteExamples(range(0, 3000, 2)))
if mode == "die":
    os.kill(os.getpid(), signal.SIGKILL)
print("saving", flush=True)
session.save()
print("saved", flush=True)
"""


def run_child(dataset: Path, journal: Path, mode: str, env: dict[str, str] | None = None):
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(dataset), str(journal), mode],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_kill_in_the_middle_of_save_leaves_the_old_file(dataset: Path, tmp_path: Path) -> None:
    original = dataset.read_bytes()
    child = run_child(dataset, tmp_path / "j", "save", {SAVE_PAUSE_ENV: "60"})
    # The save pauses half-way through writing its temp file: kill it there.
    temps = lambda: [p for p in tmp_path.glob(".data.jsonl.*.tmp") if p.stat().st_size]  # noqa: E731
    wait_for(lambda: bool(temps()))
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert dataset.read_bytes() == original
    assert 0 < temps()[0].stat().st_size < len(original)  # it really was half-written
    # The edits were journaled before the save began: nothing is lost.
    session = open_session(dataset, tmp_path / "j")
    info = session.pending_journal()
    assert info is not None and info.compatible and info.count == 2
    assert session.restore_journal() == 2
    assert len(session) == 1500 and session.messages(2)[1]["content"] == "edited before the crash"
    session.save()
    assert len(dataset.read_text().splitlines()) == 1500


def test_kill_at_any_moment_of_save_leaves_old_or_new(dataset: Path, tmp_path: Path) -> None:
    original = dataset.read_bytes()
    reference = dataset.with_name("reference.jsonl")
    reference.write_bytes(original)
    run_child(reference, tmp_path / "j2", "save").wait()
    new = reference.read_bytes()
    assert new != original
    for delay in (0.0, 0.35, 0.6):
        dataset.write_bytes(original)
        child = run_child(dataset, tmp_path / f"j{delay}", "save")
        assert child.stdout is not None
        child.stdout.readline()  # "saving"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert dataset.read_bytes() in (original, new)


def test_restore_after_kill_9(dataset: Path, tmp_path: Path) -> None:
    child = run_child(dataset, tmp_path / "j", "die")
    child.wait()
    assert child.returncode == -signal.SIGKILL
    session = open_session(dataset, tmp_path / "j")
    info = session.pending_journal()
    assert info is not None and info.count == 2 and "2 unsaved edits" in info.describe()
    session.restore_journal()
    assert session.dirty and len(session) == 1500
    assert session.messages(2)[1]["content"] == "edited before the crash"


def test_restore_replays_undo_and_redo(dataset: Path, tmp_path: Path) -> None:
    journal = tmp_path / "j"
    session = open_session(dataset, journal)
    session.apply(SetContent(0, 0, "one"))
    session.apply(InsertExample(1, chat(-1)))
    session.apply(MoveExample(1, 2999))
    session.undo()
    session.apply(SetRole(3, 0, "system"))
    session.apply(DeleteExamples([10, 11]))
    session.undo()
    session.redo()
    session.undo()
    expected = snapshot(session)
    expected_redo = session.can_redo
    del session  # dropped without saving, like a crash

    reopened = open_session(dataset, journal)
    info = reopened.pending_journal()
    assert info is not None and info.count == 3 and info.steps == 9
    assert reopened.restore_journal() == 3
    assert snapshot(reopened) == expected and reopened.can_redo == expected_redo
    # It keeps journaling after the restore: a second crash loses nothing either.
    reopened.redo()
    expected = snapshot(reopened)
    del reopened
    again = open_session(dataset, journal)
    again.restore_journal()
    assert snapshot(again) == expected


def test_journal_of_a_changed_file_is_refused_and_kept(dataset: Path, tmp_path: Path) -> None:
    journal = tmp_path / "j"
    session = open_session(dataset, journal)
    session.apply(SetContent(0, 0, "mine"))
    session.close()
    dataset.write_text(dataset.read_text().replace("question 7 ", "question seven "))
    reopened = open_session(dataset, journal)
    info = reopened.pending_journal()
    assert info is not None and not info.compatible
    assert "dataset changed since" in (info.reason or "")
    with pytest.raises(JournalError, match="cannot restore"):
        reopened.restore_journal()
    reopened.discard_journal()
    assert reopened.pending_journal() is None
    assert len(list(journal.glob("*.old-journal"))) == 1  # set aside, not deleted
    assert open_session(dataset, journal).pending_journal() is None


def test_editing_without_restoring_keeps_the_old_journal_aside(
    dataset: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "j"
    session = open_session(dataset, journal)
    session.apply(SetContent(0, 0, "old"))
    del session
    fresh = open_session(dataset, journal)
    assert fresh.pending_journal() is not None
    fresh.apply(SetContent(1, 0, "new"))
    assert len(list(journal.glob("*.old-journal"))) == 1
    del fresh
    latest = open_session(dataset, journal)
    latest.restore_journal()
    assert latest.messages(1)[0]["content"] == "new"
    assert latest.messages(0)[0]["content"].startswith("question 0")


def test_torn_last_journal_line_is_skipped(dataset: Path, tmp_path: Path) -> None:
    journal = tmp_path / "j"
    session = open_session(dataset, journal)
    session.apply(SetContent(0, 0, "kept"))
    journal_file = next(journal.glob("*.journal"))
    del session
    with open(journal_file, "ab") as handle:  # a kill in the middle of an append
        handle.write(b'{"op": "apply", "edit": {"kind": "set_con')
    reopened = open_session(dataset, journal)
    assert reopened.restore_journal() == 1
    reopened.apply(SetContent(1, 0, "after"))
    del reopened
    again = open_session(dataset, journal)
    assert again.restore_journal() == 2
    assert [again.messages(i)[0]["content"] for i in (0, 1)] == ["kept", "after"]


def test_an_edit_that_cannot_be_journaled_is_not_made(dataset: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the journal folder should be")
    session = open_session(dataset, blocker)
    with pytest.raises(JournalError, match=r"cannot write the crash journal.*not made"):
        session.apply(SetContent(0, 0, "unsafe"))
    assert not session.dirty and session.messages(0)[0]["content"].startswith("question 0")
