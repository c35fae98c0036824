"""`RunStore.recent_series`: many runs' metric series at once, thinned for sparklines, on a real
SQLite file filled from real event logs."""

from __future__ import annotations

import itertools
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftui.core.runs.events import EventWriter
from ftui.services.store import RunStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    yield store
    store.close()


def add_run(store: RunStore, run_id: str, steps: range, *, valid_every: int = 0) -> None:
    """A run whose train_loss at step s is s (so a thinned series names its steps)."""
    run = store.create_run(backend="local", base_model="m", config={}, run_id=run_id)
    with EventWriter(run.events_path) as writer:
        writer.status("running")
        for step in steps:
            values = {"train_loss": float(step), "learning_rate": 1e-4}
            if valid_every and step % valid_every == 0:
                values["valid_loss"] = float(step) / 10
            writer.metric(step, values)
    store.ingest_events(run_id)


def test_a_long_series_is_thinned_evenly_over_the_whole_run_with_its_last_point(
    store: RunStore,
) -> None:
    add_run(store, "long", range(1, 1001), valid_every=50)
    series = store.recent_series(["long"], points=5)["long"]
    assert series.keys() == {"train_loss", "valid_loss"}
    assert series["train_loss"] == [1.0, 250.0, 500.0, 750.0, 1000.0]
    # valid_loss has 20 points (steps 50..1000): spread over its own span, last kept.
    assert series["valid_loss"] == [5.0, 25.0, 50.0, 75.0, 100.0]
    wide = store.recent_series(["long"], points=24)["long"]["train_loss"]
    assert len(wide) == 24 and wide == sorted(wide) and wide[0] == 1.0 and wide[-1] == 1000.0
    gaps = [b - a for a, b in itertools.pairwise(wide)]
    assert max(gaps) - min(gaps) <= 1  # even spacing, to the step


def test_a_short_or_sparse_series_comes_back_whole_and_in_order(store: RunStore) -> None:
    add_run(store, "short", range(1, 4))
    add_run(store, "sparse", range(100, 1001, 300))  # steps 100, 400, 700, 1000
    series = store.recent_series(["short", "sparse"], names=["train_loss"], points=24)
    assert series == {
        "short": {"train_loss": [1.0, 2.0, 3.0]},
        "sparse": {"train_loss": [100.0, 400.0, 700.0, 1000.0]},
    }


def test_every_asked_run_is_answered_and_only_the_asked_names(store: RunStore) -> None:
    add_run(store, "a", range(1, 11))
    store.create_run(backend="local", base_model="m", config={}, run_id="empty")
    series = store.recent_series(["a", "empty", "nope", "a"], names=("learning_rate",))
    assert series == {"a": {"learning_rate": [1e-4] * 10}, "empty": {}, "nope": {}}
    assert store.recent_series([]) == {}
    assert store.recent_series(["a"], names=()) == {"a": {}}
    assert store.recent_series(["a"], points=1) == {"a": {"train_loss": [10.0]}}


def test_a_value_stored_as_null_comes_back_as_nan(store: RunStore) -> None:
    add_run(store, "a", range(1, 4))
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE metrics SET value = ? WHERE run_id = 'a' AND step = 2", (float("nan"),))
    conn.commit()
    conn.close()
    values = store.recent_series(["a"], names=["train_loss"])["a"]["train_loss"]
    assert values[0] == 1.0 and values[1] != values[1] and values[2] == 3.0


def test_a_nan_loss_written_to_the_log_reaches_the_series_as_nan(store: RunStore) -> None:
    """The log holds a NaN as null (JSON has no NaN); it must not vanish on the way back, or the
    Runs list could never mark the step where a run blew up."""
    run = store.create_run(backend="local", base_model="m", config={}, run_id="blown")
    with EventWriter(run.events_path) as writer:
        writer.metric(1, {"train_loss": 2.0})
        writer.metric(2, {"train_loss": float("nan")})
    assert b'"train_loss":null' in run.events_path.read_bytes()
    store.ingest_events("blown")
    values = store.recent_series(["blown"], names=["train_loss"])["blown"]["train_loss"]
    assert values[0] == 2.0 and math.isnan(values[1])


def test_bad_arguments_are_refused_with_what_was_wrong(store: RunStore) -> None:
    with pytest.raises(ValueError, match="at least 1 point per series, not 0"):
        store.recent_series(["a"], points=0)
    with pytest.raises(TypeError, match="not one string"):
        store.recent_series("abc")


def test_many_runs_are_read_in_one_statement(store: RunStore) -> None:
    for n in range(30):
        add_run(store, f"r{n:02d}", range(1, 101), valid_every=10)
    statements: list[str] = []
    conn = store._connections.conn  # the calling thread's connection, the one the query uses
    conn.set_trace_callback(statements.append)
    try:
        series = store.recent_series([f"r{n:02d}" for n in range(30)], points=8)
    finally:
        conn.set_trace_callback(None)
    assert len(statements) == 1, statements
    assert len(series) == 30
    assert all(len(s["train_loss"]) == 8 and len(s["valid_loss"]) == 8 for s in series.values())
