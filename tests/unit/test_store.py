"""RunStore on a real SQLite file: runs, datasets, ingesting event logs, ids, archive, delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from ftui.config import Config
from ftui.core.runs.events import EventWriter
from ftui.services.store import (
    AmbiguousRunId,
    DatasetNotFound,
    RunActive,
    RunNotFound,
    RunStore,
    StoreError,
)

CHAT_LINE = {
    "messages": [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
    ]
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    yield store
    store.close()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"".join(orjson.dumps(CHAT_LINE) + b"\n" for _ in range(4)))
    return path


def write_training_log(run_dir: Path, steps: int = 20, *, finish: str = "succeeded") -> None:
    with EventWriter(run_dir / "events.jsonl") as writer:
        writer.write({"ts": 1000.0, "type": "status", "status": "running"})
        for step in range(1, steps + 1):
            values = {"train_loss": 3.0 - step * 0.1, "learning_rate": 1e-4}
            if step % 5 == 0:
                values["valid_loss"] = 3.2 - step * 0.1
            writer.write(
                {
                    "ts": 1000.0 + step,
                    "type": "metric",
                    "step": step,
                    "max_steps": steps,
                    "epoch": step / steps * 2,
                    "values": values,
                }
            )
        writer.write({"ts": 1030.0, "type": "log", "level": "info", "message": "saving"})
        writer.write({"ts": 1031.0, "type": "checkpoint", "step": steps, "path": "checkpoints/c1"})
        writer.write({"ts": 1032.0, "type": "artifact", "kind": "adapter", "path": "adapter"})
        writer.write({"ts": 1040.0, "type": "status", "status": finish})


def test_from_config_uses_the_config_paths(tmp_path: Path) -> None:
    config = Config(home=tmp_path / "home")
    store = RunStore.from_config(config)
    assert store.path == config.store_path
    assert store.runs_dir == config.runs_dir
    assert store.list_runs() == []
    assert config.store_path.is_file()
    store.close()


def test_store_uses_wal_and_the_current_schema(store: RunStore) -> None:
    store.list_runs()
    conn = store._db().conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version() == 5
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


def test_create_run_writes_config_and_initial_event(store: RunStore, dataset: Path) -> None:
    config = {"epochs": 2, "learning_rate": 2e-4, "lora": {"r": 8}}
    run = store.create_run(
        backend="local", base_model="tiny-llama", config=config, dataset_path=dataset
    )
    assert run.status == "created"
    assert run.run_dir == store.runs_dir / run.id
    assert json.loads(run.config_path.read_text()) == config
    first_event = orjson.loads(run.events_path.read_bytes().splitlines()[0])
    assert first_event["type"] == "status" and first_event["status"] == "created"
    assert run.config == config
    assert run.epochs == 2.0
    assert run.dataset is not None
    assert run.dataset.path == dataset.resolve()
    assert run.dataset.examples == 4
    assert run.dataset.format == "openai"
    assert run.dataset.tokens is not None and run.dataset.tokens > 0
    assert run.dataset.summary["validation"]["counts"]["too_few_examples"] == 1
    assert len(run.dataset.sha256) == 64
    assert run.events_offset == run.events_path.stat().st_size


def test_create_run_rejects_bad_input_without_leaving_anything(
    store: RunStore, tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="unknown backend 'azure'"):
        store.create_run(backend="azure", base_model="m", config={})
    with pytest.raises(DatasetNotFound, match="does not exist"):
        store.create_run(
            backend="local", base_model="m", config={}, dataset_path=tmp_path / "nope.jsonl"
        )
    with pytest.raises(StoreError, match="invalid run id"):
        store.create_run(backend="local", base_model="m", config={}, run_id="../escape")
    store.create_run(backend="local", base_model="m", config={}, run_id="fixed")
    with pytest.raises(StoreError, match="already exists"):
        store.create_run(backend="local", base_model="m", config={}, run_id="fixed")
    assert [run.id for run in store.list_runs()] == ["fixed"]
    assert sorted(p.name for p in store.runs_dir.iterdir()) == ["fixed"]


def test_ingest_indexes_metrics_status_artifacts(store: RunStore, dataset: Path) -> None:
    run = store.create_run(backend="local", base_model="m", config={}, dataset_path=dataset)
    write_training_log(run.run_dir)
    assert store.ingest_events(run.id) == 20 + 5
    assert store.ingest_events(run.id) == 0  # nothing new: idempotent
    run = store.get_run(run.id)
    assert run.status == "succeeded"
    assert run.started_at == 1000.0 and run.finished_at == 1040.0
    assert run.duration() == 40.0
    assert run.final_metrics["train_loss"] == pytest.approx(1.0)
    assert run.final_metrics["valid_loss"] == pytest.approx(1.2)
    assert run.last_step == 20 and run.max_steps == 20 and run.last_epoch == 2.0
    assert run.adapter_path == str(run.run_dir / "adapter")
    series = store.metrics(run.id)
    assert [step for step, _ in series["valid_loss"]] == [5, 10, 15, 20]
    assert len(series["train_loss"]) == 20
    assert store.metrics(run.id, ["valid_loss"]).keys() == {"valid_loss"}
    thinned = store.metrics(run.id, ["train_loss"], max_points=5)["train_loss"]
    assert len(thinned) == 5 and thinned[-1][0] == 20
    types = [event["type"] for event in store.events(run.id)]
    assert types == ["status", "status", "log", "checkpoint", "artifact", "status"]
    assert [e["type"] for e in store.artifacts(run.id)] == ["checkpoint", "artifact"]
    assert store.events(run.id, limit=1)[0]["status"] == "succeeded"


def test_ingest_follows_a_log_written_in_pieces(store: RunStore) -> None:
    run = store.create_run(backend="local", base_model="m", config={})
    with run.events_path.open("ab") as handle:
        handle.write(b'{"ts": 1, "type": "metric", "step": 1, "values": {"train_loss": 2.5}}\n')
        handle.write(b'{"ts": 2, "type": "metric", "step": 2, "val')  # write in progress
        handle.flush()
        assert store.ingest_events(run.id) == 1
        handle.write(b'ues": {"train_loss": 2.0}}\nnot json at all\n')
        handle.flush()
        assert store.ingest_events(run.id) == 1
    assert store.metrics(run.id)["train_loss"] == [(1, 2.5), (2, 2.0)]


def test_failed_status_keeps_the_error(store: RunStore) -> None:
    run = store.create_run(backend="openai", base_model="gpt-4o-mini", config={})
    with EventWriter(run.events_path) as writer:
        writer.write({"ts": 5.0, "type": "status", "status": "running"})
        writer.write({"ts": 9.0, "type": "status", "status": "failed", "error": "CUDA OOM"})
    store.ingest_events(run.id)
    run = store.get_run(run.id)
    assert (run.status, run.error, run.finished_at) == ("failed", "CUDA OOM", 9.0)


def test_rewritten_log_is_indexed_again(store: RunStore) -> None:
    run = store.create_run(backend="local", base_model="m", config={})
    write_training_log(run.run_dir, steps=10)
    store.ingest_events(run.id)
    run.events_path.write_bytes(
        b'{"ts": 1, "type": "metric", "step": 1, "values": {"train_loss": 9.0}}\n'
    )
    assert store.ingest_events(run.id) == 1
    assert store.metrics(run.id) == {"train_loss": [(1, 9.0)]}
    assert store.get_run(run.id).final_metrics == {"train_loss": 9.0}


def test_update_run_status_goes_through_the_log(store: RunStore) -> None:
    run = store.create_run(backend="openai", base_model="gpt-4o-mini", config={"n_epochs": 3})
    store.update_run(run.id, status="running", message="job started")
    updated = store.update_run(
        run.id, output_model="ft:gpt-4o-mini:acme::abc", cost_usd=1.25, config={"n_epochs": 4}
    )
    assert updated.status == "running"
    assert updated.output_model == "ft:gpt-4o-mini:acme::abc"
    assert updated.cost_usd == 1.25
    assert json.loads(run.config_path.read_text()) == {"n_epochs": 4}
    logged = [orjson.loads(line) for line in run.events_path.read_bytes().splitlines()]
    assert logged[-1]["status"] == "running" and logged[-1]["message"] == "job started"
    with pytest.raises(TypeError, match="cannot set id"):
        store.update_run(run.id, id="other")


def test_ids_resolve_by_unique_prefix(store: RunStore) -> None:
    store.create_run(backend="local", base_model="m", config={}, run_id="abc111")
    store.create_run(backend="local", base_model="m", config={}, run_id="abc222")
    assert store.get_run("abc1").id == "abc111"
    with pytest.raises(AmbiguousRunId, match="matches several runs") as error:
        store.get_run("abc")
    assert set(error.value.candidates) == {"abc111", "abc222"}
    with pytest.raises(RunNotFound, match="no run matches 'zzz'"):
        store.get_run("zzz")


def test_list_runs_filters_and_orders_newest_first(
    store: RunStore, dataset: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.jsonl"
    other.write_bytes(orjson.dumps(CHAT_LINE) + b"\n")
    store.create_run(
        backend="local", base_model="Qwen2.5-0.5B", config={}, dataset_path=dataset, created_at=1
    )
    store.create_run(
        backend="openai", base_model="gpt-4o-mini", config={}, dataset_path=other, created_at=2
    )
    newest = store.create_run(
        backend="local", base_model="qwen2.5-1.5b", config={}, dataset_path=other, created_at=3
    )
    store.update_run(newest.id, status="running")
    assert [r.created_at for r in store.list_runs()] == [3, 2, 1]
    assert [r.backend for r in store.list_runs(backend="openai")] == ["openai"]
    assert [r.created_at for r in store.list_runs(base_model="QWEN")] == [3, 1]
    assert [r.created_at for r in store.list_runs(dataset="other.jsonl")] == [3, 2]
    assert [r.created_at for r in store.list_runs(status="running")] == [3]
    assert [r.created_at for r in store.list_runs(status=["running", "created"], limit=2)] == [3, 2]
    assert [r.created_at for r in store.list_runs(limit=1, offset=1)] == [2]
    assert store.count_runs(backend="local") == 2
    assert store.distinct_values("backend") == ["local", "openai"]


def test_archive_hides_and_delete_removes(store: RunStore) -> None:
    kept = store.create_run(backend="local", base_model="m", config={}, created_at=1)
    gone = store.create_run(backend="local", base_model="m", config={}, created_at=2)
    write_training_log(gone.run_dir, steps=3)
    store.ingest_events(gone.id)
    assert store.archive_run(kept.id).archived
    assert [r.id for r in store.list_runs()] == [gone.id]
    assert {r.id for r in store.list_runs(include_archived=True)} == {kept.id, gone.id}
    store.delete_run(gone.id)
    assert not gone.run_dir.exists()
    with pytest.raises(RunNotFound):
        store.get_run(gone.id)
    conn = store._db().conn
    assert conn.execute("SELECT count(*) FROM metrics").fetchone()[0] == 0
    events_left = conn.execute("SELECT count(*) FROM events WHERE run_id = ?", (gone.id,))
    assert events_left.fetchone()[0] == 0


def test_a_running_run_is_not_deleted_without_force(store: RunStore) -> None:
    run = store.create_run(backend="local", base_model="m", config={})
    store.update_run(run.id, status="running")
    with pytest.raises(RunActive, match="still running"):
        store.delete_run(run.id)
    store.delete_run(run.id, force=True)
    assert store.list_runs() == []


def test_dataset_change_is_detected_and_run_keeps_its_hash(store: RunStore, dataset: Path) -> None:
    run = store.create_run(backend="local", base_model="m", config={}, dataset_path=dataset)
    trained_on = run.dataset.sha256 if run.dataset else None
    assert store.dataset_state(run.id) == "unchanged" and not store.dataset_changed(run.id)
    dataset.write_bytes(dataset.read_bytes() + orjson.dumps(CHAT_LINE) + b"\n")
    assert store.dataset_state(run.id) == "changed" and store.dataset_changed(run.id)
    assert store.get_run(run.id).dataset.sha256 == trained_on  # type: ignore[union-attr]
    # A new run on the edited file gets a new dataset record; the old run still points at its own.
    second = store.create_run(backend="local", base_model="m", config={}, dataset_path=dataset)
    assert second.dataset is not None and second.dataset.sha256 != trained_on
    assert second.dataset.examples == 5
    dataset.unlink()
    assert store.dataset_state(run.id) == "missing" and store.dataset_changed(run.id)
    no_data = store.create_run(backend="local", base_model="m", config={})
    assert store.dataset_state(no_data.id) == "none" and not store.dataset_changed(no_data.id)


def test_same_dataset_is_registered_once(store: RunStore, dataset: Path) -> None:
    first = store.register_dataset(dataset)
    again = store.register_dataset(dataset)
    assert first.id == again.id
    assert len(store.list_datasets()) == 1
    summarized = store.register_dataset(dataset, summary={"format": "x", "examples": 9})
    assert summarized.id == first.id and summarized.examples == 9


def test_json_dict_and_export_carry_everything(store: RunStore, dataset: Path) -> None:
    run = store.create_run(
        backend="local", base_model="m", config={"epochs": 1}, dataset_path=dataset
    )
    write_training_log(run.run_dir, steps=5)
    exported = store.export_run(run.id[:4])
    as_json = json.loads(json.dumps(exported))  # serialisable as is
    record = as_json["run"]
    for key in ("id", "backend", "status", "base_model", "output_model", "config", "created_at"):
        assert key in record
    assert record["dataset"]["path"] == str(dataset.resolve())
    assert record["dataset"]["sha256"] == run.dataset.sha256  # type: ignore[union-attr]
    assert record["finished_at"] == 1040.0
    assert record["final_metrics"]["train_loss"] == pytest.approx(2.5)
    assert as_json["metrics"]["train_loss"][0] == [1, pytest.approx(2.9)]
    assert as_json["events"][-1]["status"] == "succeeded"
    assert as_json["dataset_changed"] is False


def test_aliases_and_judge_results(store: RunStore) -> None:
    run = store.create_run(backend="openai", base_model="gpt-4o-mini", config={})
    store.set_alias("support-bot", "ft:gpt-4o-mini:acme::1", run_id=run.id)
    moved = store.set_alias("support-bot", "ft:gpt-4o-mini:acme::2")
    assert moved.target == "ft:gpt-4o-mini:acme::2" and moved.run_id is None
    assert [a.alias for a in store.list_aliases()] == ["support-bot"]
    assert store.get_alias("nope") is None
    assert store.remove_alias("support-bot") and store.list_aliases() == []
    result = store.add_judge_result(
        "s1", "gpt-4o-mini", "support-bot", example_key="3", winner="b", scores={"rougeL": 0.4}
    )
    store.add_judge_result("s2", "a", "b", winner="tie")
    assert store.list_judge_results(session="s1") == [result]
    assert result.scores == {"rougeL": 0.4}
    assert len(store.list_judge_results()) == 2


def test_store_works_from_several_threads(store: RunStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    runs = [store.create_run(backend="local", base_model="m", config={}) for _ in range(4)]

    def work(run_id: str) -> int:
        for step in range(50):
            store.append_event(
                run_id, {"ts": step, "type": "metric", "step": step, "values": {"loss": step}}
            )
        return len(store.metrics(run_id)["loss"])

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(work, [run.id for run in runs]))
    assert counts == [50, 50, 50, 50]


def test_ingest_reads_a_log_larger_than_one_chunk(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftui.services.store import ingest as store_module

    monkeypatch.setattr(store_module, "INGEST_CHUNK_BYTES", 1024)
    run = store.create_run(backend="local", base_model="m", config={})
    with EventWriter(run.events_path) as writer:
        for step in range(500):
            writer.metric(step, {"train_loss": 1.0})
    assert store.ingest_events(run.id) == 500
    assert len(store.metrics(run.id)["train_loss"]) == 500
    assert store.get_run(run.id).events_offset == run.events_path.stat().st_size


def test_a_late_queued_status_does_not_undo_running(store: RunStore) -> None:
    run = store.create_run(backend="local", base_model="m", config={})
    with EventWriter(run.events_path) as writer:
        writer.write({"ts": 2.0, "type": "status", "status": "running"})  # the process was quick
    store.update_run(run.id, status="queued", message="process started")  # the launcher, late
    assert store.get_run(run.id).status == "running"
    store.update_run(run.id, status="cancelled")
    store.update_run(run.id, status="queued", message="resumed")  # a resume starts over
    assert store.get_run(run.id).status == "queued"
    assert store.get_run(run.id).finished_at is None


def test_events_of_unknown_kinds_are_indexed_and_exported_as_written(store: RunStore) -> None:
    run = store.create_run(backend="local", base_model="m", config={})
    newer = {"v": 2, "ts": 5.0, "type": "gpu_sample", "util": [0.9], "host": "h"}
    alert = {"v": 1, "ts": 6.0, "type": "alert", "kind": "stalled", "message": "no progress"}
    with EventWriter(run.events_path) as writer:
        writer.write({"ts": 4.0, "type": "status", "status": "running"})
        writer.write(newer)
        writer.write(alert)
    store.ingest_events(run.id)
    assert store.get_run(run.id).status == "running"  # an unknown kind changes nothing
    assert store.events(run.id)[-2:] == [newer, alert]
    assert store.export_run(run.id)["events"][-2:] == [newer, alert]


def test_run_state_is_the_folded_row_and_its_offset(store: RunStore) -> None:
    run = store.create_run(backend="local", base_model="m", config={})
    write_training_log(run.run_dir, steps=10)
    store.ingest_events(run.id)
    state, offset = store.run_state(run.id)
    assert (state.status, state.step, state.max_steps) == ("succeeded", 10, 10)
    assert state.last_metrics["train_loss"] == pytest.approx(2.0)
    assert offset == run.events_path.stat().st_size


def test_one_run_query_for_listing_and_counting(store: RunStore) -> None:
    from ftui.services.store import RunQuery

    for n, model in enumerate(["Qwen2.5-0.5B", "Llama-3.2-1B", "qwen3-4b"]):
        store.create_run(backend="local", base_model=model, config={}, created_at=float(n))
    query = RunQuery(base_model="qwen")
    assert [run.base_model for run in store.list_runs(query)] == ["qwen3-4b", "Qwen2.5-0.5B"]
    assert store.count_runs(query) == 2 == store.count_runs(base_model="qwen")
    assert store.count_runs(RunQuery(status=["created"], backend="openai")) == 0


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("chat.json", orjson.dumps([CHAT_LINE] * 3)),
        ("alpaca.jsonl", b'{"instruction": "a", "output": "b"}\n' * 3),
    ],
)
def test_the_fallback_description_says_what_the_core_reader_says(
    tmp_path: Path, name: str, content: bytes
) -> None:
    from ftui.core.dataset.formats import detect_format
    from ftui.services.store.datasets import _describe_cheaply

    path = tmp_path / name
    path.write_bytes(content)
    assert _describe_cheaply(path) == {"examples": 3, "format": str(detect_format(path))}
