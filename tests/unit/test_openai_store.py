"""The store's part of OpenAI runs: uploads remembered by sha256, remote job fields on a run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ftui.core.runs.kinds import ArtifactEvent, RemoteJobEvent, StatusEvent
from ftui.services.store import RunStore, schema


def test_an_upload_is_found_by_bytes_account_and_purpose_and_can_be_forgotten(tmp_path) -> None:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    assert store.find_upload("ab" * 32, "acct", "fine-tune") is None
    store.record_upload(
        sha256="ab" * 32, account="acct", purpose="fine-tune", file_id="file-1", size=10
    )
    found = store.find_upload("ab" * 32, "acct", "fine-tune")
    assert found is not None and found.file_id == "file-1" and found.bytes == 10
    assert store.find_upload("ab" * 32, "another-account", "fine-tune") is None
    store.forget_upload("ab" * 32, "acct", "fine-tune")
    assert store.find_upload("ab" * 32, "acct", "fine-tune") is None
    store.close()


def test_a_remote_job_run_keeps_its_job_id_status_and_model(tmp_path) -> None:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    run = store.create_run(backend="openai", base_model="gpt-4o-mini", config={})
    store.append_event(run.id, RemoteJobEvent(job_id="ftjob-1", remote_status="queued"))
    assert store.run_for_remote_job("ftjob-1") == run.id
    store.append_event(run.id, StatusEvent(status="succeeded"))
    store.append_event(run.id, ArtifactEvent(kind="model_id", model_id="ft:gpt-4o-mini:o::x"))
    record = store.get_run(run.id).to_json_dict()
    assert record["remote_job_id"] == "ftjob-1"
    assert record["remote_status"] == "queued"
    assert record["fine_tuned_model"] == "ft:gpt-4o-mini:o::x"
    local = store.create_run(backend="local", base_model="tiny", config={})
    assert store.get_run(local.id).to_json_dict()["fine_tuned_model"] is None
    store.close()


def test_a_v2_store_gains_the_remote_columns_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "ftui.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    schema.migrate(conn, target=2)
    conn.execute("COMMIT")
    conn.execute(
        "INSERT INTO runs (id, backend, status, base_model, config, created_at, run_dir, "
        "final_metrics) VALUES ('old', 'openai', 'succeeded', 'm', '{}', 1, 'old', '{}')"
    )
    conn.close()
    store = RunStore(path, tmp_path / "runs")
    run = store.get_run("old")
    assert store.schema_version() == schema.SCHEMA_VERSION
    assert run.remote_job_id is None and run.trained_tokens is None
    store.close()
