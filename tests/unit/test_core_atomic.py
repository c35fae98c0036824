"""Atomic writes: the target holds the old content or the new, never a mix, never a temp file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ftui.core.dataset.atomic import atomic_write_bytes, atomic_writer


def test_atomic_write_replaces_content_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "data.jsonl"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_a_failure_mid_write_leaves_the_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "data.jsonl"
    target.write_bytes(b"precious\n")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_text_mode_and_new_files(tmp_path: Path) -> None:
    target = tmp_path / "new.json"
    with atomic_writer(target, "w") as handle:
        handle.write("héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()
    with pytest.raises(ValueError, match="write mode"), atomic_writer(target, "a"):
        pass


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
