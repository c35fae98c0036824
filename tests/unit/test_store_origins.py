"""Origins of imported and generated examples, kept in a real store file by example key."""

from __future__ import annotations

from pathlib import Path

from ftui.core.dataset.origin import Origin, example_key
from ftui.services.store import RunStore


def _store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "store.db", tmp_path / "runs")


def test_example_key_names_the_conversation_not_the_rest_of_the_record() -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    plain = example_key({"messages": messages})
    assert plain == example_key({"messages": messages, "label": True})
    assert plain != example_key(
        {"messages": [*messages[:1], {"role": "assistant", "content": "hey"}]}
    )
    assert plain == example_key({"messages": messages, "tools": []})  # the pane holds messages


def test_origins_round_trip_and_latest_wins(tmp_path: Path) -> None:
    store = _store(tmp_path)
    key = example_key({"messages": [{"role": "user", "content": "q"}]})
    first = Origin("import", "tickets.csv", 1.0, "b1", {"rows": [7]})
    later = Origin("distill", "openai:gpt-4o", 2.0, "b2", {"temperature": 0.7})
    assert store.record_origins(tmp_path / "a.jsonl", [(key, first)]) == 1
    store.record_origins(tmp_path / "b.jsonl", [(key, later)])
    found = store.origins_by_key([key, "0" * 64])
    assert list(found) == [key]
    assert found[key] == later
    assert store.count_origins() == 2
    assert store.count_origins(tmp_path / "a.jsonl") == 1
    assert first.describe() == "import · tickets.csv · row 7 · batch b1"


def test_lookup_of_many_keys_crosses_the_parameter_chunks(tmp_path: Path) -> None:
    store = _store(tmp_path)
    items = [
        (
            example_key({"messages": [{"role": "user", "content": str(i)}]}),
            Origin("synth", "m", i, "b"),
        )
        for i in range(2500)
    ]
    store.record_origins(tmp_path / "out.jsonl", items)
    found = store.origins_by_key([key for key, _ in items])
    assert len(found) == 2500
    assert found[items[1234][0]].created_at == 1234


def test_a_dataset_is_one_file_however_its_path_is_written(tmp_path: Path, monkeypatch) -> None:
    store = _store(tmp_path)
    key = example_key({"messages": [{"role": "user", "content": "q"}]})
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    here = Origin("distill", "m", 1.0, "here")
    store.record_origins("out.jsonl", [(key, here)])  # relative, as a CLI user types it
    store.record_origins(tmp_path / "other.jsonl", [(key, Origin("import", "f", 2.0, "later"))])
    assert store.origins_by_key([key], dataset=tmp_path / "sub" / "out.jsonl")[key] == here
    assert store.count_origins(tmp_path / "sub" / ".." / "sub" / "out.jsonl") == 1
