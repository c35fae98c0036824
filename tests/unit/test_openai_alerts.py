"""Alerts from the OpenAI follower, on the test server: a job whose metrics overfit, a follower
started again on a log that already holds its alerts, a running job that goes quiet."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ftui.services.backends.openai_follower import STALL_AFTER_S, Follower
from tests.support import fake_openai_jobs
from tests.support.fake_openai import FakeOpenAI, ManualClock
from tests.unit.openai_support import (
    ClockSleep,
    backend_for,
    follow_to_end,
    job,
    log_records,
    write_chat,
)


def alerts_of(run: Any) -> list[dict[str, Any]]:
    return [record for record in log_records(run) if record["type"] == "alert"]


def overfitting_valid_loss(step: int) -> float:
    """Close to the train loss until step 10, then climbing while the train loss keeps falling."""
    at_ten = fake_openai_jobs.train_loss(10) * 1.1
    if step <= 10:
        return round(fake_openai_jobs.train_loss(step) * 1.1, 6)
    return round(at_ten * (1 + 0.06 * (step - 10) / 5), 6)


@pytest.fixture
def overfitting_job(monkeypatch: pytest.MonkeyPatch) -> None:
    # The server scripts every job's curves from this function: its validation loss overfits.
    monkeypatch.setattr(fake_openai_jobs, "valid_loss", overfitting_valid_loss)


def launch(server: Any, tmp_path: Path, *, validation: bool = True) -> tuple[Any, Any]:
    backend = backend_for(server, tmp_path / "home")
    data = write_chat(tmp_path / "train.jsonl", 20)
    valid = write_chat(tmp_path / "valid.jsonl", 5) if validation else None
    run = asyncio.run(backend.launch(job(data, validation_file=valid)))
    return backend, run


def follower(backend: Any, run: Any, server: Any, **options: Any) -> Follower:
    from ftui.services.backends.openai_client import RetryPolicy

    return Follower(
        backend.client(),
        run.run_dir,
        run.remote_job_id,
        secret=server.api_key,
        sleep=ClockSleep(server),
        policy=RetryPolicy(attempts=3, base_s=0.01, max_s=0.05),
        clock=server.clock.now,
        **options,
    )


def test_a_healthy_job_gets_no_alert(fake_openai, tmp_path) -> None:
    backend, run = launch(fake_openai, tmp_path)
    assert follow_to_end(backend, run, fake_openai) == "succeeded"
    assert alerts_of(run) == []


def test_a_job_whose_validation_loss_climbs_gets_one_overfitting_alert(
    fake_openai, overfitting_job, tmp_path
) -> None:
    backend, run = launch(fake_openai, tmp_path)
    assert follow_to_end(backend, run, fake_openai) == "succeeded"
    alerts = alerts_of(run)
    overfit = [a for a in alerts if a["kind"] == "overfitting"]
    assert len(overfit) == 1
    assert overfit[0]["steps"] == [10, 15, 20, 25]
    assert "valid_loss rose 3 evaluations in a row" in overfit[0]["message"]
    assert overfit[0]["advice"]
    assert sorted({a["kind"] for a in alerts}) == ["eval_gap", "overfitting"]
    assert len(alerts) == 2
    records = log_records(run)
    assert records[-1]["type"] == "status"  # the final status stays the log's last word
    at = records.index(overfit[0])
    assert records[at - 1]["type"] == "metric" and records[at - 1]["step"] == 25
    indexed = [e for e in backend.store.export_run(run.id)["events"] if e["type"] == "alert"]
    assert [e["kind"] for e in indexed] == [a["kind"] for a in alerts]


def test_a_follower_started_again_raises_nothing_twice(
    fake_openai, overfitting_job, tmp_path
) -> None:
    backend, run = launch(fake_openai, tmp_path)

    async def until_overfitting() -> None:
        first = follower(backend, run, fake_openai)
        try:
            while not any(a["kind"] == "overfitting" for a in alerts_of(run)):
                await first.sync()
                await first.sleep(30)
        finally:
            first.close()
            await first.client.close()

    asyncio.run(until_overfitting())
    before = alerts_of(run)
    assert follow_to_end(backend, run, fake_openai) == "succeeded"
    assert alerts_of(run) == before  # the valid loss kept climbing: the same episode

    async def once_more() -> None:  # a third follower on the finished log
        again = follower(backend, run, fake_openai)
        try:
            again.read_log()
        finally:
            again.close()
            await again.client.close()

    asyncio.run(once_more())
    assert alerts_of(run) == before


def test_a_running_job_that_goes_quiet_is_stalled_once_per_quiet_spell(tmp_path) -> None:
    # Two steps an hour apart: half an hour of silence is a stall, each step ends one.
    with FakeOpenAI(clock=ManualClock(), running_s=2 * 3600, total_steps=2, epochs=1) as server:
        backend, run = launch(server, tmp_path, validation=False)

        async def go() -> str:
            watcher = follower(backend, run, server)
            try:
                return await watcher.run()
            finally:
                watcher.close()
                await watcher.client.close()

        assert asyncio.run(go()) == "succeeded"
    records = log_records(run)
    stalled = [r for r in records if r["type"] == "alert"]
    assert [a["kind"] for a in stalled] == ["stalled", "stalled"]
    assert all("no progress for 30 min" in a["message"] for a in stalled)
    assert stalled[1]["steps"] == [1] and "since step 1" in stalled[1]["message"]
    assert stalled[0]["advice"] and "remote job" in stalled[0]["advice"]
    first, second = (records.index(a) for a in stalled)
    between = [r["type"] for r in records[first + 1 : second]]
    assert "metric" in between  # the step that ended the first quiet spell
    assert second - first > 1 and records[-1]["type"] == "status"
    assert STALL_AFTER_S == 1800


async def test_a_follower_whose_run_was_deleted_stops(fake_openai: Any, tmp_path: Path) -> None:
    """A follower must never outlive what it follows: `ftui runs rm`, or a deleted home."""
    import shutil

    from tests.unit.openai_support import backend_for, follower_for, job, write_chat

    backend = backend_for(fake_openai, tmp_path / "home")
    run = await backend.launch(job(write_chat(tmp_path / "t.jsonl", 12)))
    follower = follower_for(backend, run, fake_openai)
    shutil.rmtree(run.run_dir)
    assert await follower.run() == "run_deleted"
