"""Search and filter over a session: text, regex, role, finding code, token range."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftui.core.dataset.demo import create_demo_workspace
from ftui.core.editing.edits import InsertExample, SetContent
from ftui.core.editing.search import Query, count_matches, iter_matches
from ftui.core.editing.session import DatasetSession
from ftui.core.validation.validate import ValidationOptions


@pytest.fixture
def demo(tmp_path: Path) -> DatasetSession:
    session = DatasetSession.open(
        create_demo_workspace(tmp_path / "ws"),
        journal_dir=tmp_path / "j",
        options=ValidationOptions(workers=1),
    )
    session.ensure_indexed()
    return session


def brute_force(session: DatasetSession, predicate) -> list[int]:
    return [p for p in range(len(session)) if any(predicate(m) for m in session.messages(p))]


def test_plain_text_is_case_insensitive_by_default(demo: DatasetSession) -> None:
    hits = list(iter_matches(demo, Query(text="ldap")))
    assert hits == brute_force(demo, lambda m: "ldap" in str(m.get("content") or "").lower())
    assert hits and all(h >= 0 for h in hits)
    assert list(iter_matches(demo, Query(text="LDAP", case=True))) == brute_force(
        demo, lambda m: "LDAP" in str(m.get("content") or "")
    )
    assert list(iter_matches(demo, Query(text="Ldap", case=True))) == []


def test_text_that_json_escapes_or_spells_differently_is_still_found(tmp_path: Path) -> None:
    path = tmp_path / "escapes.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": 'say "hi"\nthen leave'}]},
        {"messages": [{"role": "user", "content": "café"}]},  # written as caf\u00e9
        {"messages": [{"role": "user", "content": "plain"}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    session = DatasetSession.open(path, journal_dir=tmp_path / "j")
    session.ensure_indexed()
    assert list(iter_matches(session, Query(text='"hi"\nthen'))) == [0]
    assert list(iter_matches(session, Query(text="CAFÉ"))) == [1]
    assert list(iter_matches(session, Query(text="messages"))) == []  # keys are not content


def test_regex_role_and_start(demo: DatasetSession) -> None:
    query = Query(text=r"inkwell (backup|reindex)", regex=True, role="assistant")
    hits = list(iter_matches(demo, query))
    assert len(hits) >= 3
    assert hits == brute_force(
        demo,
        lambda m: m.get("role") == "assistant"
        and ("inkwell backup" in str(m.get("content")).lower()
             or "inkwell reindex" in str(m.get("content")).lower()),
    )  # fmt: skip
    assert list(iter_matches(demo, query, start=hits[1])) == hits[1:]
    assert list(iter_matches(demo, query, start=hits[1], reverse=True)) == hits[1::-1]
    tools = list(iter_matches(demo, Query(role="tool")))
    assert len(tools) == 4
    assert "get_server_status" in json.dumps(demo.messages(tools[0]))
    # Tool-call names and arguments are searchable too.
    calls = set(iter_matches(demo, Query(text="search_docs")))
    assert len(calls) == 2 and calls < set(tools)


def test_invalid_regex_is_a_clear_error(demo: DatasetSession) -> None:
    with pytest.raises(ValueError, match=r"invalid regular expression “\(unclosed”.*position 0"):
        iter_matches(demo, Query(text="(unclosed", regex=True))


def test_code_and_token_filters(demo: DatasetSession) -> None:
    demo.validate_all()
    assert list(iter_matches(demo, Query(code="missing_content"))) == [16]
    big = list(iter_matches(demo, Query(min_tokens=500)))
    assert big and all((demo.tokens(p) or 0) >= 500 for p in big)
    small = list(iter_matches(demo, Query(max_tokens=100)))
    assert all((demo.tokens(p) or 0) <= 100 for p in small)
    assert count_matches(demo, Query(min_tokens=0)) == len(demo)
    both = list(iter_matches(demo, Query(text="inkwell", min_tokens=300, max_tokens=400)))
    assert all(300 <= (demo.tokens(p) or 0) <= 400 for p in both)


def test_search_sees_edits(demo: DatasetSession) -> None:
    demo.apply(SetContent(3, 1, "zebra crossing"))
    demo.apply(InsertExample(0, {"messages": [{"role": "user", "content": "Zebra?"}]}))
    assert list(iter_matches(demo, Query(text="zebra"))) == [0, 4]


def test_describe_and_empty() -> None:
    assert Query().is_empty and Query().describe() == "everything"
    query = Query(text="refund", case=True, role="assistant", min_tokens=100, max_tokens=2000)
    assert not query.is_empty
    assert query.describe() == (
        "text “refund”, case-sensitive in assistant messages · 100–2,000 tokens"
    )
    assert Query(code="duplicate_example").describe() == "finding duplicate_example"
    assert Query(text="a+", regex=True).describe() == "regex “a+”"
