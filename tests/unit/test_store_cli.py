"""`ftui runs ...` against a real store in a temporary home."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ftui.cli import cli
from ftui.core.runs.events import EventWriter
from ftui.services.store import RunStore


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[RunStore]:
    store = RunStore(home / "ftui.db", home / "runs")
    yield store
    store.close()


def run_cli(home: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "runs", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def finished_run(store: RunStore, *, backend: str = "local", created_at: float = 1.0) -> str:
    run = store.create_run(
        backend=backend, base_model="tiny-llama", config={"epochs": 2}, created_at=created_at
    )
    with EventWriter(run.events_path) as writer:
        writer.write({"ts": 10.0, "type": "status", "status": "running"})
        writer.write({"ts": 11.0, "type": "metric", "step": 1, "values": {"train_loss": 2.0}})
        writer.write({"ts": 75.0, "type": "metric", "step": 2, "values": {"train_loss": 1.5}})
        writer.write({"ts": 80.0, "type": "status", "status": "succeeded"})
    return run.id


def test_list_shows_runs_and_picks_up_new_events(store: RunStore, home: Path) -> None:
    first = finished_run(store, created_at=1.0)
    second = finished_run(store, backend="openai", created_at=2.0)
    code, out, _ = run_cli(home, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATUS", "BACKEND"]
    assert lines[1].startswith(second) and lines[2].startswith(first)  # newest first
    assert "1.5000" in lines[1] and "1m10s" in lines[1]
    code, out, _ = run_cli(home, "list", "--json", "--backend", "local")
    listed = json.loads(out)
    assert [run["id"] for run in listed] == [first]
    for key in ("status", "base_model", "output_model", "dataset", "config", "finished_at"):
        assert key in listed[0]
    assert listed[0]["final_metrics"] == {"train_loss": 1.5}


def test_list_says_when_nothing_matches(store: RunStore, home: Path) -> None:
    assert run_cli(home, "list")[1].strip() == "No runs yet."
    finished_run(store)
    assert run_cli(home, "list", "--status", "failed")[1].strip() == "No runs match these filters."


def test_show_by_prefix_and_as_json(store: RunStore, home: Path) -> None:
    run_id = finished_run(store)
    code, out, _ = run_cli(home, "show", run_id[:5])
    assert code == 0
    assert f"Run {run_id}  [succeeded]" in out
    assert "epochs = 2" in out and "train_loss" in out
    code, out, _ = run_cli(home, "show", run_id, "--json")
    assert json.loads(out)["id"] == run_id


def test_show_says_which_checkpoints_are_no_longer_on_disk(store: RunStore, home: Path) -> None:
    run_id = finished_run(store)
    run = store.get_run(run_id)
    (run.run_dir / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    with EventWriter(run.events_path) as writer:
        for step in (1, 2):
            path = f"checkpoints/checkpoint-{step}"
            writer.write({"ts": 80.0, "type": "checkpoint", "step": step, "path": path})
    code, out, _ = run_cli(home, "show", run_id)
    assert code == 0
    lines = {line.split("checkpoint at step ")[1][0]: line for line in out.splitlines()
             if "checkpoint at step" in line}  # fmt: skip
    assert "(removed" in lines["1"]
    assert "(removed" not in lines["2"]


def test_unknown_or_ambiguous_id_exits_2(store: RunStore, home: Path) -> None:
    store.create_run(backend="local", base_model="m", config={}, run_id="aa1")
    store.create_run(backend="local", base_model="m", config={}, run_id="aa2")
    code, _, err = run_cli(home, "show", "nope")
    assert code == 2 and "no run matches 'nope'" in err
    code, _, err = run_cli(home, "export", "aa")
    assert code == 2 and "matches several runs" in err


def test_export_to_a_file(store: RunStore, home: Path, tmp_path: Path) -> None:
    run_id = finished_run(store)
    target = tmp_path / "out" / "run.json"
    target.parent.mkdir()
    code, _, err = run_cli(home, "export", run_id, "-o", str(target))
    assert code == 0 and "Exported" in err
    exported = json.loads(target.read_text())
    assert exported["run"]["id"] == run_id
    assert exported["metrics"]["train_loss"] == [[1, 2.0], [2, 1.5]]


def test_rm_asks_and_deletes(store: RunStore, home: Path) -> None:
    run_id = finished_run(store)
    code, _, _ = run_cli(home, "rm", run_id, input="n\n")
    assert code == 1 and store.list_runs()  # declined: nothing deleted
    code, out, _ = run_cli(home, "rm", run_id, "--yes")
    assert code == 0 and f"Deleted run {run_id}" in out
    assert store.list_runs() == [] and not (home / "runs" / run_id).exists()


def test_archive_hides_from_list(store: RunStore, home: Path) -> None:
    run_id = finished_run(store)
    assert run_cli(home, "archive", run_id)[0] == 0
    assert json.loads(run_cli(home, "list", "--json")[1]) == []
    assert [r["id"] for r in json.loads(run_cli(home, "list", "--json", "--all")[1])] == [run_id]


def test_watch_follows_a_live_run_until_it_finishes(store: RunStore, home: Path) -> None:
    run = store.create_run(backend="local", base_model="tiny-llama", config={})

    def train() -> None:
        with EventWriter(run.events_path) as writer:
            writer.status("running")
            for step in range(1, 4):
                time.sleep(0.05)
                writer.metric(step, {"train_loss": 3.0 - step}, max_steps=3)
            writer.log("saved the adapter")
            writer.status("failed", error="disk full")

    trainer = threading.Thread(target=train)
    trainer.start()
    code, out, _ = run_cli(home, "watch", run.id, "--interval", "0.05")
    trainer.join()
    assert code == 1  # the run failed
    assert "step 3/3" in out and "loss 0" in out
    assert "saved the adapter" in out and "-> failed: disk full" in out
    assert out.rstrip().endswith(f"Run {run.id} failed.")
    assert store.get_run(run.id).status == "failed"  # watching indexed it too


def test_watch_replays_a_finished_run(store: RunStore, home: Path) -> None:
    run_id = finished_run(store)
    code, out, _ = run_cli(home, "watch", run_id)
    assert code == 0
    assert "loss 1.5" in out and out.rstrip().endswith("succeeded.")


def test_rm_without_an_answer_deletes_nothing(store: RunStore, home: Path) -> None:
    run_id = finished_run(store)
    code, _, _ = run_cli(home, "rm", run_id, input="")
    assert code == 1 and [run.id for run in store.list_runs()] == [run_id]


def test_watch_prints_only_recent_history_unless_asked(store: RunStore, home: Path) -> None:
    run_id = finished_run(store)
    code, out, _ = run_cli(home, "watch", run_id, "--history", "1")
    assert code == 0
    assert "-> succeeded" in out and "loss" not in out
    code, out, _ = run_cli(home, "watch", run_id, "--all")
    assert "-> created" in out and "step 2 · " in out and "loss 1.5" in out


def test_a_corrupt_store_gets_a_clear_message(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "ftui.db").write_bytes(b"definitely not sqlite" * 50)
    code, _, err = run_cli(home, "list")
    assert code == 1
    assert "cannot be read (file is not a database)" in err and "--home" in err
