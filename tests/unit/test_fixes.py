"""Bulk fixes: each is one Compound edit (one undo step), or None when there is nothing to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftui.core.dataset.demo import create_demo_workspace
from ftui.core.editing.edits import Compound
from ftui.core.editing.fixes import add_system_prompt, drop_exact_duplicates, drop_over_token_limit
from ftui.core.editing.session import DatasetSession
from ftui.core.validation.validate import ValidationOptions


def open_session(path: Path, tmp_path: Path, **options: object) -> DatasetSession:
    session = DatasetSession.open(
        path, journal_dir=tmp_path / "j", options=ValidationOptions(workers=1, **options)
    )
    session.ensure_indexed()
    return session


def user_texts(session: DatasetSession) -> list[str]:
    return [
        next(m["content"] for m in session.messages(p) if m["role"] == "user")
        for p in range(len(session))
    ]


def test_drop_exact_duplicates_keeps_the_first(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok!!"}]}
        for text in ["a", "b", "a", "c", "b", "a", "a  "]  # the last differs only in spacing
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    session = open_session(path, tmp_path)
    fix = drop_exact_duplicates(session)
    assert isinstance(fix, Compound) and fix.label.startswith("drop 4 exact duplicates")
    session.apply(fix)
    assert user_texts(session) == ["a", "b", "c"]
    assert drop_exact_duplicates(session) is None
    session.undo()  # one step brings every deleted example back
    assert user_texts(session) == ["a", "b", "a", "c", "b", "a", "a  "]
    session.save()
    assert len(path.read_text().splitlines()) == 7


def test_fixes_on_the_demo(tmp_path: Path) -> None:
    session = open_session(create_demo_workspace(tmp_path / "ws"), tmp_path, token_limit=400)
    session.validate_all()
    dup = drop_exact_duplicates(session)
    assert dup is not None and dup.edits[0].positions == (22,)  # type: ignore[union-attr]
    default = drop_over_token_limit(session)  # the session's limit: 400 here
    over_400 = tuple(p for p in range(len(session)) if (session.tokens(p) or 0) > 400)
    assert default is not None and default.edits[0].positions == over_400  # type: ignore[union-attr]
    over = [p for p in range(len(session)) if (session.tokens(p) or 0) > 300]
    assert len(over) >= 2
    long = drop_over_token_limit(session, limit=300)
    assert long is not None and long.label == f"drop {len(over)} examples over 300 tokens"
    before = len(session)
    session.apply(long)
    assert len(session) == before - len(over)
    assert all((session.tokens(p) or 0) <= 300 for p in range(len(session)))
    assert drop_over_token_limit(session) is None
    session.undo()
    assert len(session) == before
    assert drop_over_token_limit(session, limit=10_000) is None


def test_add_system_prompt_to_examples_lacking_one(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "q"}]},
        {"messages": []},
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    session = open_session(path, tmp_path)
    fix = add_system_prompt(session, "Be brief.")
    assert fix is not None and fix.label == "add a system prompt to 1 example"
    session.apply(fix)
    assert session.messages(0)[0] == {"role": "system", "content": "Be brief."}
    assert session.messages(1)[0]["content"] == "S" and session.messages(2) == []
    assert add_system_prompt(session, "Be brief.") is None
    session.undo()
    assert session.messages(0)[0]["role"] == "user"
    with pytest.raises(ValueError, match="empty"):
        add_system_prompt(session, "  ")


def test_add_system_prompt_to_alpaca_writes_its_system_field(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"instruction": "q", "input": "", "output": "a"}], indent=2))
    session = open_session(path, tmp_path)
    fix = add_system_prompt(session, "Be brief.")
    assert fix is not None
    session.apply(fix)
    session.save()
    assert json.loads(path.read_text()) == [
        {"instruction": "q", "input": "", "output": "a", "system": "Be brief."}
    ]
