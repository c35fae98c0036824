"""Schema migrations: a store from any earlier release opens, keeps its data, gains new tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ftui.services.store import RunStore, completion_key, schema


def make_store_at_version(path: Path, version: int) -> None:
    """A store file exactly as the release with schema `version` left it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    schema.migrate(conn, target=version)
    conn.execute("COMMIT")
    conn.close()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        conn.close()
    return {row[0] for row in rows}


def test_every_migration_is_listed_once() -> None:
    assert schema.SCHEMA_VERSION == len(schema.MIGRATIONS) == 5


def test_migrates_a_new_path_and_an_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (tmp_path / "new" / "ftui.db", empty):
        store = RunStore(path, tmp_path / "runs")
        assert store.schema_version() == schema.SCHEMA_VERSION
        store.close()
        assert {
            "datasets",
            "runs",
            "metrics",
            "events",
            "aliases",
            "judge_results",
            "generations",
        } <= tables(path)


@pytest.mark.parametrize("version", range(1, schema.SCHEMA_VERSION))
def test_migrates_each_earlier_schema_keeping_data(tmp_path: Path, version: int) -> None:
    path = tmp_path / "ftui.db"
    make_store_at_version(path, version)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "INSERT INTO datasets (id, path, sha256, created_at, examples) VALUES (?, ?, ?, ?, ?)",
        ("d1", "/data/train.jsonl", "ab" * 32, 1.0, 120),
    )
    conn.execute(
        """INSERT INTO runs (id, backend, status, base_model, dataset_id, config, created_at,
           run_dir, final_metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            "old1",
            "openai",
            "succeeded",
            "gpt-4o-mini",
            "d1",
            '{"n_epochs": 3}',
            5.0,
            "old1",
            '{"train_loss": 0.5}',
        ),
    )
    conn.execute("INSERT INTO metrics VALUES ('old1', 'train_loss', 1, 0.5, 5.0)")
    conn.close()

    store = RunStore(path, tmp_path / "runs")
    assert store.schema_version() == schema.SCHEMA_VERSION
    run = store.get_run("old1")
    assert (run.status, run.base_model, run.config) == ("succeeded", "gpt-4o-mini", {"n_epochs": 3})
    assert run.dataset is not None and run.dataset.examples == 120
    assert run.final_metrics == {"train_loss": 0.5} and not run.archived
    assert store.metrics("old1") == {"train_loss": [(1, 0.5)]}
    # What the newer schema added works on the migrated file.
    assert store.archive_run("old1").archived
    assert store.set_alias("prod", "ft:gpt-4o-mini:x", run_id="old1").run_id == "old1"
    key = completion_key("openai:gpt-4o-mini", [{"role": "user", "content": "hi"}], {"t": 0})
    assert store.cached_completion(key) is None
    store.cache_completion(key, "gpt-4o-mini-2024-07-18", "hello", 8, 1)
    cached = store.cached_completion(key)
    assert cached is not None and (cached.text, cached.prompt_tokens) == ("hello", 8)
    store.close()


def test_v4_keeps_v3_judge_results_and_caches_completions(tmp_path: Path) -> None:
    path = tmp_path / "ftui.db"
    make_store_at_version(path, 3)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        """INSERT INTO judge_results (session, model_a, model_b, example_key, winner, created_at)
           VALUES ('s1', 'openai:gpt-4o-mini', 'run:abc', 'k1', 'b', 1.0)"""
    )
    conn.close()

    store = RunStore(path, tmp_path / "runs")
    assert store.schema_version() == 5
    (old,) = store.list_judge_results(session="s1")
    assert (old.model_b, old.example_key, old.winner) == ("run:abc", "k1", "b")
    messages = [{"role": "user", "content": "2+2?"}]
    key = completion_key("openai:gpt-4o-mini", messages, {"temperature": 0.0})
    # The key covers the model, the messages and every sampling setting.
    assert key != completion_key("openai:gpt-4o", messages, {"temperature": 0.0})
    assert key != completion_key("openai:gpt-4o-mini", messages, {"temperature": 0.5})
    assert key != completion_key("openai:gpt-4o-mini", [{"role": "user", "content": "2+3?"}], {})
    assert key == completion_key("openai:gpt-4o-mini", messages, {"temperature": 0.0})
    store.cache_completion(key, "m", "4", None, None)
    store.cache_completion(key, "m", "four", 3, 1)  # a later answer replaces the first
    cached = store.cached_completion(key)
    assert cached is not None and (cached.text, cached.completion_tokens) == ("four", 1)
    assert store.count_cached_completions() == 1
    store.close()


def test_opening_twice_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "ftui.db"
    first = RunStore(path, tmp_path / "runs")
    first.create_run(backend="local", base_model="m", config={})
    first.close()
    second = RunStore(path, tmp_path / "runs")
    assert len(second.list_runs()) == 1
    second.close()


def test_a_newer_store_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "ftui.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    store = RunStore(path, tmp_path / "runs")
    with pytest.raises(schema.SchemaTooNew, match="newer ftui"):
        store.list_runs()
