"""The crash journal file: fingerprints, entries, torn lines, what a pending journal reports."""

from __future__ import annotations

import os
from pathlib import Path

from ftui.core.editing.journal import (
    FileFingerprint,
    JournalWriter,
    inspect_journal,
    journal_path_for,
    net_edit_count,
    read_journal,
)


def test_fingerprint_notices_changes(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"x" * (3 << 20))
    before = FileFingerprint.of(path)
    assert before.describe_change(FileFingerprint.of(path)) is None
    with open(path, "r+b") as handle:  # same size, new bytes near the end
        handle.seek((3 << 20) - 10)
        handle.write(b"y")
    assert before.describe_change(FileFingerprint.of(path)) == "its content changed"
    with open(path, "ab") as handle:
        handle.write(b"z")
    assert "size went from 3,145,728 to 3,145,729" in (
        before.describe_change(FileFingerprint.of(path)) or ""
    )
    os.utime(path, ns=(1, 1))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert not before.still_in(fd)  # byte changed inside the original span
        now = FileFingerprint.of_fd(fd)
        assert now.still_in(fd)
    finally:
        os.close(fd)
    assert FileFingerprint.from_dict(before.to_dict()) == before


def test_net_edit_count() -> None:
    ops = ["apply", "apply", "undo", "redo", "undo", "undo", "redo", "apply", "redo"]
    assert net_edit_count([{"op": op} for op in ops]) == 2


def test_writer_and_inspect(tmp_path: Path) -> None:
    dataset = tmp_path / "d.jsonl"
    dataset.write_text("{}\n")
    source = FileFingerprint.of(dataset)
    path = journal_path_for(dataset, tmp_path / "j")
    assert path.parent == tmp_path / "j" and path.suffix == ".journal"
    assert journal_path_for(tmp_path / "." / "d.jsonl", tmp_path / "j") == path
    assert inspect_journal(path, source) is None
    writer = JournalWriter(path, dataset=dataset, fmt="openai", source=source)
    assert inspect_journal(path, source) is None  # a header alone is no pending work
    writer.append("apply", {"kind": "set_content", "example": 0, "message": 0, "text": "t"})
    writer.append("undo")
    writer.close()
    header, entries = read_journal(path)
    assert header["path"] == str(dataset) and [e["op"] for e in entries] == ["apply", "undo"]
    info = inspect_journal(path, source)
    assert info is not None and info.compatible and info.count == 0 and info.steps == 2
    reopened = JournalWriter.reopen(path)
    reopened.append("redo")
    reopened.close()
    info = inspect_journal(path, source)
    assert info is not None and info.count == 1
    assert "1 unsaved edit from a session" in info.describe()
    changed = FileFingerprint(source.size + 1, source.mtime_ns, source.head_sha1)
    stale = inspect_journal(path, changed)
    assert stale is not None and not stale.compatible and "cannot be restored" in stale.describe()


def test_unreadable_journal_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "x.journal"
    path.write_bytes(b"garbage\n")
    info = inspect_journal(path, None)
    assert info is not None and not info.compatible and "no readable header" in (info.reason or "")
