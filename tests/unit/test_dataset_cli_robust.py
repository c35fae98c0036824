"""The dataset commands on streams, odd records and their own bugs: an exit code that means what
it says, one clear line, and never a traceback or a hang.

Exit codes: 0 fine, 1 problems in the data (an unread record included), 2 unreadable file,
3 an internal error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ftui.core.dataset import spool
from ftui.core.dataset.reader import DatasetError, iter_records
from ftui.core.editing.session import DatasetSession


def ftui(*args: str, stdin: bytes | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "ftui", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,  # type: ignore[arg-type]
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_stdin_and_process_substitution_are_read_once(shared_datasets: Path) -> None:
    source = shared_datasets / "openai-chat/uploaded_output.jsonl"
    done = ftui("validate", "-", "--json", stdin=source.read_bytes())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["examples"] == 11 and report["path"] == "-"
    substituted = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m ftui stats <(cat "{source}") --json'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert substituted.returncode == 0, substituted.stderr
    assert json.loads(substituted.stdout)["examples"] == 11


def test_a_named_pipe_with_a_writer_is_read_and_split_refuses_it(
    shared_datasets: Path, tmp_path: Path
) -> None:
    source = shared_datasets / "openai-chat/uploaded_output.jsonl"
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as out:
            out.write(source.read_bytes())

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    done = ftui("convert", str(fifo), str(tmp_path / "out.json"), "--to", "sharegpt")
    writer.join(10)
    assert done.returncode == 0, done.stderr
    assert len(list(iter_records(tmp_path / "out.json"))) == 11
    refused = ftui("split", str(fifo))
    assert refused.returncode == 2 and "not a regular file" in refused.stderr


def test_a_pipe_nobody_writes_to_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "silent.jsonl"
    os.mkfifo(fifo)
    monkeypatch.setattr(spool, "STREAM_WAIT_SECONDS", 0.5)
    started = time.monotonic()
    with (
        pytest.raises(DatasetError, match="nothing was written to this pipe"),
        spool.readable_file(fifo),
    ):
        pass
    assert time.monotonic() - started < 5
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"ftui-stream.{os.getpid()}.*"))


def test_the_editor_refuses_a_named_pipe_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(DatasetError, match="named pipe"):
        DatasetSession.open(fifo, journal_dir=tmp_path / "journals")


def test_an_internal_error_exits_3_with_one_line_and_a_crash_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code = (
        "import ftui.commands.dataset as d\n"
        "def broken(**kwargs):\n"
        "    raise ZeroDivisionError('division by zero in a check')\n"
        "d.validate_command.callback = broken\n"
        "from ftui.cli import main\n"
        "main(['validate', 'x.jsonl'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FTUI_HOME": str(home)},
    )
    assert done.returncode == 70
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "internal error (ZeroDivisionError: division by zero in a check)" in done.stderr
    logs = list((home / "crashes").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in done.stderr
    assert "Traceback" in logs[0].read_text() and "broken" in logs[0].read_text()


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ({"tool_calls": "call it"}, "tool_calls must be a list of calls, got a string"),
        ({"tool_calls": {"id": 1}}, "tool_calls must be a list of calls, got an object"),
        ({"tool_calls": [{"function": "f"}]}, "got a string as the function"),
        ({"tool_calls": [7]}, "got a number as the call"),
        ({"tool_calls": [{"function": None}]}, "got null as the function"),
        ({"function_call": "go"}, "function_call must be an object"),
        ({"function_call": [1]}, "function_call must be an object"),
    ],
)
def test_convert_to_sharegpt_names_malformed_tool_calls(
    tmp_path: Path, message: dict[str, object], said: str
) -> None:
    source = tmp_path / "calls.jsonl"
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}
    bad = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", **message}]}
    source.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    target = tmp_path / "out.json"
    done = ftui("convert", str(source), str(target), "--to", "sharegpt")
    assert done.returncode == 1 and not target.exists()
    assert "line 2: message 2" in done.stderr and said in done.stderr
    skipped = ftui("convert", str(source), str(target), "--to", "sharegpt", "--skip-invalid")
    assert skipped.returncode == 0 and len(json.loads(target.read_text())) == 1


def test_deeply_nested_records_and_arguments_are_record_problems(tmp_path: Path) -> None:
    deep_args = "[" * 1000 + "]" * 1000
    rows = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]},
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "1",
                            "type": "function",
                            "function": {"name": "f", "arguments": deep_args},
                        }
                    ],
                },
            ]
        },
    ]
    source = tmp_path / "deep.jsonl"
    nested = "[" * 600 + "]" * 600
    source.write_text(
        "".join(json.dumps(r) + "\n" for r in rows) + '{"messages": ' + nested + "}\n"
    )
    done = ftui("convert", str(source), str(tmp_path / "o.json"), "--to", "sharegpt")
    assert done.returncode == 1
    assert "line 2: a value in it (tool-call arguments?) nests more than" in done.stderr
    assert "line 3: this example nests arrays and objects more than" in done.stderr
    for command in (["split", str(source)], ["validate", str(source)], ["stats", str(source)]):
        assert ftui(*command).returncode == 1


def test_integers_beyond_64_bits_come_out_exactly(tmp_path: Path) -> None:
    source = tmp_path / "ids.jsonl"
    source.write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok", '
        '"weight": 1}], "tools": [{"type": "function", "function": {"name": "f", "parameters": '
        '{"maximum": 123456789012345678901234567890}}}]}\n'
    )
    for target, to in (("o.jsonl", "openai"), ("o.json", "sharegpt")):
        done = ftui("convert", str(source), str(tmp_path / target), "--to", to)
        assert done.returncode == 0, done.stderr
        assert "123456789012345678901234567890" in (tmp_path / target).read_text()
        assert "1.2345678901234568e+29" not in (tmp_path / target).read_text()


def test_partial_reads_never_exit_0(shared_datasets: Path, tmp_path: Path) -> None:
    records = json.loads((shared_datasets / "alpaca/alpaca_en_demo.json").read_text())[:30]
    text = json.dumps(records, indent=2)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index("\n  {", len(text) // 2)])
    validated = ftui("validate", str(cut), "--json")
    assert validated.returncode == 1
    report = json.loads(validated.stdout)
    assert any("closing ']'" in f["message"] for f in report["findings"])
    stats = ftui("stats", str(cut))
    assert stats.returncode == 1 and "could not be read (the first at line" in stats.stderr
    assert ftui("convert", str(cut), str(tmp_path / "o.jsonl"), "--to", "openai").returncode == 1
    assert ftui("split", str(cut)).returncode == 1
    empty_first = tmp_path / "lines.jsonl"
    source = shared_datasets / "openai-chat/uploaded_output.jsonl"
    empty_first.write_bytes(b"[]\n" + source.read_bytes())
    converted = ftui("convert", str(empty_first), str(tmp_path / "o.jsonl"), "--to", "openai")
    assert converted.returncode == 1 and "line 1:" in converted.stderr
    kept = ftui(
        "convert", str(empty_first), str(tmp_path / "o.jsonl"), "--to", "openai", "--skip-invalid"
    )
    assert kept.returncode == 0 and "wrote 11 examples" in kept.stdout


def test_two_arrays_in_one_file_are_all_validated(shared_datasets: Path, tmp_path: Path) -> None:
    records = json.loads((shared_datasets / "alpaca/alpaca_en_demo.json").read_text())[:91]
    path = tmp_path / "joined.json"
    path.write_text(json.dumps(records[:40], indent=2) + "\n" + json.dumps(records[40:], indent=2))
    report = json.loads(ftui("validate", str(path), "--json").stdout)
    assert report["examples"] == 91


def test_files_that_are_not_json_text_say_what_they_are(tmp_path: Path) -> None:
    utf16 = tmp_path / "wide.jsonl"
    utf16.write_bytes('{"messages": []}\n'.encode("utf-16-le") * 4)
    done = ftui("validate", str(utf16))
    assert done.returncode == 2 and "UTF-16 (little-endian)" in done.stderr
    done = ftui("validate", "/bin/ls")
    assert done.returncode == 2 and "binary program" in done.stderr and done.stdout == ""
