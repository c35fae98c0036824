"""Several processes on one store: no "database is locked", no lost or doubled events, and a writer
killed in the middle of a transaction leaves a readable, writable store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ftui.core.runs.events import EventWriter
from ftui.services.store import RunStore

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ftui.services.store import RunStore

    db, runs, run_id, name, go = sys.argv[1:6]
    store = RunStore(Path(db), Path(runs))
    store.list_runs()  # open (and migrate) before the start line
    while not Path(go).exists():
        time.sleep(0.005)
    for i in range(1000):
        if i % 2:
            store.add_judge_result(name, "a", "b", example_key=str(i))
        else:
            store.append_event(run_id, {"ts": i, "type": "log", "level": "info",
                                        "message": f"{name} {i}"})
    print("done")
    """
)


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_write_1000_times_each_without_locking_errors(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    run = store.create_run(backend="local", base_model="m", config={})
    go = tmp_path / "go"
    writers = [
        spawn(WRITER, str(store.path), str(store.runs_dir), run.id, name, str(go))
        for name in ("alpha", "beta")
    ]
    time.sleep(0.3)  # both processes are waiting at the start line
    go.touch()
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert "locked" not in err and out.strip() == "done"
    # Both appended to the same log and both indexed it: every event exactly once.
    store.ingest_events(run.id)
    logs = store.events(run.id, types=["log"])
    assert len(logs) == 1000
    assert len({event["message"] for event in logs}) == 1000
    assert len(store.list_judge_results(session="alpha")) == 500
    assert len(store.list_judge_results(session="beta")) == 500
    store.close()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ftui.services.store import RunStore

    store = RunStore(Path(sys.argv[1]), Path(sys.argv[2]))
    with store._write() as db:
        for i in range(5000):
            db.conn.execute(
                "INSERT INTO judge_results (session, model_a, model_b, created_at)"
                " VALUES ('killed', 'a', 'b', 0)"
            )
        print("in transaction", flush=True)
        time.sleep(60)
    """
)


def test_writer_killed_mid_transaction_leaves_a_usable_store(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    kept = store.create_run(backend="local", base_model="m", config={})
    holder = spawn(HOLDER, str(store.path), str(store.runs_dir))
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "in transaction"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    # Nothing of the killed transaction is visible, the store is intact and takes writes at once.
    assert store.list_judge_results(session="killed") == []
    assert store._db().conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    started = time.monotonic()
    store.add_judge_result("after", "a", "b")
    assert time.monotonic() - started < 5
    assert [run.id for run in store.list_runs()] == [kept.id]
    store.close()


INGESTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ftui.services.store import ingest as store_module
    from ftui.services.store import RunStore

    store_module.INGEST_CHUNK_BYTES = 16 * 1024  # many small transactions to be killed in
    store = RunStore(Path(sys.argv[1]), Path(sys.argv[2]))
    store.list_runs()
    print("ingesting", flush=True)
    store.ingest_events(sys.argv[3])
    print("finished", flush=True)
    """
)


def test_ingest_killed_half_way_resumes_exactly(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "ftui.db", tmp_path / "runs")
    run = store.create_run(backend="local", base_model="m", config={})
    steps = 40_000
    with EventWriter(run.events_path) as writer:
        for step in range(steps):
            writer.write({"ts": step, "type": "metric", "step": step, "values": {"loss": step}})
    initial = store.get_run(run.id).events_offset
    ingester = spawn(INGESTER, str(store.path), str(store.runs_dir), run.id)
    assert ingester.stdout is not None
    assert ingester.stdout.readline().strip() == "ingesting"
    deadline = time.monotonic() + 30
    while store.get_run(run.id).events_offset == initial and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until some chunks are committed, then kill in the middle
    ingester.send_signal(signal.SIGKILL)
    assert ingester.wait(timeout=10) == -signal.SIGKILL, "the ingest ended before the kill"
    partial = store.get_run(run.id).events_offset
    assert initial < partial < run.events_path.stat().st_size, "killed too late to test anything"
    store.ingest_events(run.id)
    series = store.metrics(run.id)["loss"]
    assert len(series) == steps
    assert series[-1] == (steps - 1, float(steps - 1))
    assert store.get_run(run.id).events_offset == run.events_path.stat().st_size
    store.close()
