"""DatasetSession: reading through the index, every kind of edit, undo/redo, atomic save that keeps
the file's format, conflict detection and export."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ftui.core.dataset.formats import DatasetFormat
from ftui.core.editing.edits import (
    Compound,
    DeleteExamples,
    DeleteMessage,
    DuplicateExample,
    EditError,
    InsertExample,
    InsertMessage,
    MoveExample,
    MoveMessage,
    ReplaceExample,
    ReplaceMessage,
    SetContent,
    SetRole,
    edit_from_dict,
    edit_to_dict,
)
from ftui.core.editing.session import (
    DatasetSession,
    FileChangedError,
    SaveError,
    SourceRewrittenError,
)


def chat(i: int, *, system: str | None = None) -> dict:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [
        {"role": "user", "content": f"question {i}"},
        {"role": "assistant", "content": f"answer {i} is long enough"},
    ]
    return {"messages": messages}


def write_jsonl(path: Path, values: list[dict]) -> Path:
    path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="utf-8")
    return path


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "data.jsonl", [chat(i) for i in range(10)])


def open_session(path: Path, tmp_path: Path) -> DatasetSession:
    session = DatasetSession.open(path, journal_dir=tmp_path / "journal")
    session.ensure_indexed()
    return session


def contents(session: DatasetSession) -> list[str]:
    return [session.messages(i)[0]["content"] for i in range(len(session))]


def test_open_is_lazy_and_index_steps_report_progress(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "big.jsonl", [chat(i) for i in range(25_000)])
    session = DatasetSession.open(path, journal_dir=tmp_path / "j")
    assert len(session) == 0 and not session.indexing_done
    steps = session.index_steps()
    # A small first chunk, for a screenful of rows at once; then chunks of 10,000.
    assert next(steps) == 500 and len(session) == 500
    # The tokenizer loads in the indexing worker meanwhile.
    assert session.row(499).first_user == "question 499" and session.row(0).tokens is None
    version = session.version
    counts = list(steps)
    assert counts == [10_500, 20_500, 25_000] and session.version > version
    assert session.row(0).tokens == session.tokens(0) and (session.tokens(0) or 0) > 10
    assert session.indexing_done and len(session) == 25_000
    assert session.format == DatasetFormat.OPENAI
    assert session.messages(24_999)[0]["content"] == "question 24999"
    assert session.source_line(24_999) == 25_000


def test_row_summary(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [chat(0, system="be brief"), chat(1)])
    session = open_session(path, tmp_path)
    row = session.row(0)
    assert (row.number, row.turns, row.roles, row.first_user) == (1, 3, "S U A", "question 0")
    assert row.source_line == 1 and not row.edited
    assert row.tokens is not None and row.tokens > 10
    session.apply(DeleteExamples([0]))
    assert session.row(0).number == 1 and session.row(0).first_user == "question 1"


def test_message_edits_and_undo_redo(dataset: Path, tmp_path: Path) -> None:
    session = open_session(dataset, tmp_path)
    original = session.value(2)
    edits = [
        SetContent(2, 1, "new answer"),
        SetRole(2, 0, "system"),
        InsertMessage(2, 2, {"role": "user", "content": "and then?"}),
        ReplaceMessage(2, 2, {"role": "user", "content": "why?", "name": "ana"}),
        MoveMessage(2, 2, 0),
        DeleteMessage(2, 0),
    ]
    states = [session.value(2)]
    for edit in edits:
        session.apply(edit)
        states.append(session.value(2))
    assert session.value(2)["messages"] == [
        {"role": "system", "content": "question 2"},
        {"role": "assistant", "content": "new answer"},
    ]
    assert session.dirty and session.is_edited(2) and session.row(2).edited
    for expected in reversed(states[:-1]):
        assert session.undo() is not None
        assert session.value(2) == expected
    assert session.value(2) == original and not session.dirty and not session.can_undo
    assert session.undo() is None
    for expected in states[1:]:
        session.redo()
        assert session.value(2) == expected
    assert not session.can_redo


def test_structural_edits_and_undo(dataset: Path, tmp_path: Path) -> None:
    session = open_session(dataset, tmp_path)
    before = contents(session)
    session.apply(DeleteExamples([0, 5, 9]))
    assert contents(session) == [before[i] for i in (1, 2, 3, 4, 6, 7, 8)]
    session.apply(InsertExample(2, chat(100)))
    session.apply(DuplicateExample(0))
    session.apply(MoveExample(0, 8))
    session.apply(ReplaceExample(1, chat(200)))
    assert contents(session) == [
        "question 1", "question 200", "question 100", "question 3", "question 4",
        "question 6", "question 7", "question 8", "question 1",
    ]  # fmt: skip
    # A replaced example keeps its place in the file; an inserted one has none yet.
    assert session.source_line(1) == 3 and session.source_line(2) is None
    for _ in range(5):
        session.undo()
    assert contents(session) == before and not session.dirty


def test_compound_is_one_step_and_atomic(dataset: Path, tmp_path: Path) -> None:
    session = open_session(dataset, tmp_path)
    session.apply(Compound("two", [SetContent(0, 0, "a"), DeleteExamples([1])]))
    assert len(session) == 9 and contents(session)[0] == "a"
    session.undo()
    assert len(session) == 10 and contents(session)[0] == "question 0"
    # A failing part rolls back the parts before it: all or nothing.
    with pytest.raises(EditError, match="no message 9"):
        session.apply(Compound("bad", [DeleteExamples([0]), SetContent(0, 8, "x")]))
    assert len(session) == 10 and contents(session)[0] == "question 0"
    assert session.can_redo  # a refused edit leaves the redo history alone


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (SetContent(99, 0, "x"), "no example 100"),
        (SetContent(0, 5, "x"), "no message 6"),
        (DeleteExamples([3, 10]), "no example 11"),
        (MoveExample(0, 10), "cannot move example 1 to 11"),
        (InsertMessage(0, 4, {"role": "user", "content": "x"}), "cannot insert a message at 5"),
        (ReplaceExample(0, {"bad": {1, 2}}), "cannot be stored as JSON"),
    ],
)
def test_bad_edits_say_what_is_wrong_and_change_nothing(
    dataset: Path, tmp_path: Path, edit: object, message: str
) -> None:
    session = open_session(dataset, tmp_path)
    version = session.version
    with pytest.raises(EditError, match=message):
        session.apply(edit)  # type: ignore[arg-type]
    assert not session.dirty and session.version == version


def test_edits_round_trip_through_dicts() -> None:
    edits = [
        SetContent(1, 2, "t"),
        DeleteExamples([3, 1]),
        Compound("c", [InsertExample(0, {"messages": []}), MoveMessage(0, 1, 0)]),
    ]
    for edit in edits:
        assert edit_from_dict(json.loads(json.dumps(edit_to_dict(edit)))) == edit
    assert DeleteExamples([3, 1, 3]).positions == (1, 3)
    with pytest.raises(EditError, match="unknown edit kind"):
        edit_from_dict({"kind": "explode"})


def test_save_writes_exactly_the_edit(dataset: Path, tmp_path: Path) -> None:
    original_lines = dataset.read_bytes().splitlines(keepends=True)
    session = open_session(dataset, tmp_path)
    session.apply(SetContent(3, 1, 'edited ✓ with "quotes"\nand a newline'))
    session.apply(DeleteExamples([7]))
    session.save()
    lines = dataset.read_bytes().splitlines(keepends=True)
    expected = list(original_lines)
    edited = chat(3)
    edited["messages"][1]["content"] = 'edited ✓ with "quotes"\nand a newline'
    # The file is plain ASCII written by Python's json: edited records are written alike.
    expected[3] = (json.dumps(edited) + "\n").encode()
    del expected[7]
    assert lines == expected
    # The session now edits the saved file: clean, no journal, offsets of the new file.
    assert not session.dirty and not session.can_undo
    assert not list((tmp_path / "journal").glob("*.journal"))
    assert session.messages(3)[1]["content"].startswith("edited ✓") and len(session) == 9
    session.apply(SetContent(8, 0, "last"))
    session.save()
    assert json.loads(dataset.read_text().splitlines()[8])["messages"][0]["content"] == "last"


def test_save_keeps_crlf_compact_style_and_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    values = [chat(i) for i in range(3)]
    values[0]["messages"][0]["content"] = "café"  # escaped as \u00e9: the file escapes non-ASCII
    lines = [json.dumps(v, separators=(",", ":"), ensure_ascii=True) for v in values]
    path.write_bytes(("\r\n".join(lines)).encode())
    session = open_session(path, tmp_path)
    session.apply(SetContent(1, 0, "é"))
    session.save()
    edited = chat(1)
    edited["messages"][0]["content"] = "é"
    new = json.dumps(edited, separators=(",", ":"), ensure_ascii=True)
    assert path.read_bytes() == "\r\n".join([lines[0], new, lines[2]]).encode()


def test_save_json_array_keeps_layout_and_alpaca_format(tmp_path: Path) -> None:
    records = [
        {"instruction": f"Task {i}", "input": f"input {i}", "output": f"Output {i}."}
        for i in range(4)
    ]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    session = open_session(path, tmp_path)
    assert session.format == DatasetFormat.ALPACA
    assert session.messages(1) == [
        {"role": "user", "content": "Task 1\ninput 1"},
        {"role": "assistant", "content": "Output 1."},
    ]
    session.apply(SetContent(1, 1, "Better output."))
    session.apply(InsertMessage(2, 0, {"role": "system", "content": "Be kind."}))
    session.apply(DeleteExamples([3]))
    session.save()
    expected = [dict(r) for r in records[:3]]
    expected[1]["output"] = "Better output."
    expected[2]["system"] = "Be kind."
    # Same layout as json.dumps(indent=2): unedited objects byte for byte, edited ones alike.
    assert path.read_text(encoding="utf-8") == json.dumps(expected, indent=2) + "\n"


def test_alpaca_cannot_hold_two_assistant_turns_in_a_row(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"instruction": "q", "input": "", "output": "a"}]))
    session = open_session(path, tmp_path)
    with pytest.raises(EditError, match="alpaca format cannot hold this change"):
        session.apply(InsertMessage(0, 2, {"role": "assistant", "content": "more"}))


def test_sharegpt_edit_keeps_its_shape(tmp_path: Path) -> None:
    record = {
        "id": "x1",
        "conversations": [
            {"from": "human", "value": "hi"},
            {"from": "function_call", "value": '{"name": "f", "arguments": {"a": 1}}'},
            {"from": "observation", "value": "42"},
            {"from": "gpt", "value": "it is 42"},
        ],
        "tools": '[{"name": "f", "parameters": {}}]',
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps([record, record], indent=2))
    session = open_session(path, tmp_path)
    assert [m["role"] for m in session.messages(0)] == ["user", "assistant", "tool", "assistant"]
    session.apply(SetContent(0, 3, "the answer is 42"))
    session.save()
    saved = json.loads(path.read_text())
    expected = json.loads(json.dumps(record))
    expected["conversations"][3]["value"] = "the answer is 42"
    assert saved == [expected, record]


def test_conflict_detection(dataset: Path, tmp_path: Path) -> None:
    session = open_session(dataset, tmp_path)
    session.apply(SetContent(0, 0, "mine"))
    assert session.changed_on_disk() is None
    theirs = dataset.read_text().replace("question 9", "question nine")
    replacement = tmp_path / "theirs.jsonl"
    replacement.write_text(theirs)
    os.replace(replacement, dataset)  # how editors and scripts usually save
    assert "size" in (session.changed_on_disk() or "")
    with pytest.raises(FileChangedError, match="changed on disk by another program"):
        session.save()
    assert dataset.read_text() == theirs  # not overwritten
    assert session.dirty  # nothing lost either
    session.save(force=True)  # the user chose to overwrite their version
    assert contents(session)[0] == "mine" and "question nine" not in dataset.read_text()
    assert len(session) == 10


def test_file_rewritten_in_place_is_never_mixed_into_a_save(dataset: Path, tmp_path: Path) -> None:
    session = open_session(dataset, tmp_path)
    session.apply(SetContent(0, 0, "mine"))
    theirs = dataset.read_text().replace("question 1", "question one")
    dataset.write_text(theirs)  # same inode: the bytes the session would copy are gone
    with pytest.raises(SourceRewrittenError, match="rewritten in place"):
        session.save(force=True)
    assert dataset.read_text() == theirs
    appended = dataset.read_text() + json.dumps(chat(10)) + "\n"
    session2 = open_session(dataset, tmp_path)
    session2.apply(SetContent(0, 0, "again"))
    dataset.write_text(appended)  # appending keeps every opened byte in place: force may save
    session2.save(force=True)
    assert len(session2) == 10 and contents(session2)[0] == "again"


def test_save_as_and_replaced_file_still_reads_the_original(dataset: Path, tmp_path: Path) -> None:
    session = open_session(dataset, tmp_path)
    session.apply(SetContent(0, 0, "mine"))
    # Another program replaces the file (new inode): the session still copies the original.
    replacement = tmp_path / "other.jsonl"
    write_jsonl(replacement, [chat(50)])
    os.replace(replacement, dataset)
    copy = session.save(tmp_path / "copy.jsonl")
    assert session.path == copy and not session.dirty
    assert contents(session)[:2] == ["mine", "question 1"] and len(session) == 10
    assert dataset.read_text() == json.dumps(chat(50)) + "\n"


def test_export_positions(dataset: Path, tmp_path: Path) -> None:
    session = open_session(dataset, tmp_path)
    session.apply(SetContent(4, 0, "edited"))
    out = session.export([4, 1, 1], tmp_path / "marked.jsonl")
    assert [
        json.loads(line)["messages"][0]["content"] for line in out.read_text().splitlines()
    ] == [
        "question 1",
        "edited",
    ]
    as_array = session.export([0, 2], tmp_path / "marked.json")
    assert [r["messages"][0]["content"] for r in json.loads(as_array.read_text())] == [
        "question 0",
        "question 2",
    ]
    with pytest.raises(IndexError):
        session.export([42], tmp_path / "x.jsonl")
    with pytest.raises(ValueError, match="overwrite"):
        session.export([0], dataset)
    assert session.dirty  # export leaves the session as it was


def test_unparsable_line_is_kept_and_can_be_replaced(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"messages": []}\n{not json\n' + json.dumps(chat(2)).encode() + b"\n")
    session = open_session(path, tmp_path)
    assert session.value(1) is None and session.messages(1) == []
    assert session.raw_text(1) == "{not json"
    with pytest.raises(EditError, match="not valid JSON"):
        session.apply(SetContent(1, 0, "x"))
    session.apply(SetContent(2, 0, "fine"))
    session.save()
    assert path.read_bytes().splitlines()[1] == b"{not json"  # kept, never silently dropped
    session.apply(ReplaceExample(1, chat(1)))
    session.save()
    assert json.loads(path.read_text().splitlines()[1]) == chat(1)


@pytest.mark.parametrize(
    "name",
    [
        "openai-chat/fluid_train.jsonl",
        "alpaca/alpaca_en_demo.json",
        "sharegpt/glaive_toolcall_en_demo.json",
        "sharegpt/kto_en_demo.json",
        "llamafactory-v1/v1_multimodal_demo.jsonl",
    ],
)
def test_shared_datasets_round_trip(shared_datasets: Path, tmp_path: Path, name: str) -> None:
    source = shared_datasets / name
    path = tmp_path / source.name
    shutil.copy(source, path)
    session = open_session(path, tmp_path)
    count = len(session)
    session.save()  # nothing edited: byte for byte the same file
    assert path.read_bytes() == source.read_bytes()
    target = next(i for i in range(count) if len(session.messages(i)) >= 2)
    message = next(i for i, m in enumerate(session.messages(target)) if m["role"] == "assistant")
    untouched = {i: session.raw_bytes(i) for i in range(count) if i != target}
    session.apply(SetContent(target, message, "Edited reply ✓"))
    session.save()
    reopened = open_session(path, tmp_path)
    assert len(reopened) == count
    assert reopened.messages(target)[message]["content"] == "Edited reply ✓"
    assert all(reopened.raw_bytes(i) == raw for i, raw in untouched.items())
    before = session.messages(target)
    assert reopened.format == session.format
    assert [m["role"] for m in reopened.messages(target)] == [m["role"] for m in before]


def test_failed_write_keeps_file_and_edits(dataset: Path, tmp_path: Path) -> None:
    session = open_session(dataset, tmp_path)
    session.apply(SetContent(0, 0, "mine"))
    with pytest.raises(
        SaveError, match=r"cannot write .*No such file or directory.*edits are kept"
    ):
        session.save(tmp_path / "missing-dir" / "out.jsonl")
    assert session.dirty and session.path == dataset and contents(session)[0] == "mine"
    session.save()
    assert contents(open_session(dataset, tmp_path))[0] == "mine"


def test_save_removes_temp_files_of_killed_saves(dataset: Path, tmp_path: Path) -> None:
    old = tmp_path / ".data.jsonl.k1ll3d.tmp"
    recent = tmp_path / ".data.jsonl.busy.tmp"
    for temp in (old, recent):
        temp.write_text("half")
    os.utime(old, (1, 1))
    session = open_session(dataset, tmp_path)
    session.apply(SetContent(0, 0, "mine"))
    session.save()
    assert not old.exists() and recent.exists()
