"""The OpenAI backend end to end against the test server, spoken to by the real `openai` client:
the gate, uploads, a job's whole life in the run's log, faults, actions, imports."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ftui.services.backends.base import LaunchError
from tests.unit.openai_support import (
    backend_for,
    follow_to_end,
    follower_for,
    job,
    log_records,
    openai_event_ids,
    write_chat,
    write_dpo,
)


def _posts(server, path: str) -> int:
    return sum(1 for c in server.calls if c.method == "POST" and c.path == path)


def test_the_gate_refuses_a_file_with_errors_and_uploads_nothing(fake_openai, tmp_path) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    bad = write_chat(tmp_path / "bad.jsonl", 20, broken_line=7)
    plan = asyncio.run(backend.preflight(job(bad)))
    assert not plan.ok
    assert any(f.line == 7 and f.severity == "error" for f in plan.findings)
    assert "line 7" in " ".join(plan.problems)
    with pytest.raises(LaunchError):
        asyncio.run(backend.launch(job(bad)))
    assert _posts(fake_openai, "/v1/files") == 0
    assert backend.store.list_runs() == []


def test_fewer_than_ten_examples_are_refused_and_warnings_are_listed(fake_openai, tmp_path):
    backend = backend_for(fake_openai, tmp_path / "home")
    plan = asyncio.run(backend.preflight(job(write_chat(tmp_path / "few.jsonl", 5))))
    assert not plan.ok and "10" in " ".join(plan.problems)
    plan = asyncio.run(backend.preflight(job(write_chat(tmp_path / "some.jsonl", 12))))
    assert plan.ok
    assert plan.warnings  # under 50 examples: OpenAI's advice, to confirm
    assert plan.cost_usd is not None and plan.cost_usd > 0
    assert plan.billed_tokens and plan.epochs
    assert any(line.startswith("Cost") and "$" in line for line in plan.plan_lines())


def test_no_key_is_a_problem_that_says_how_to_set_one(fake_openai, tmp_path) -> None:
    from ftui.config import Config
    from ftui.services.root import Services

    backend = Services(Config(home=tmp_path / "home")).openai
    plan = asyncio.run(backend.preflight(job(write_chat(tmp_path / "d.jsonl", 12))))
    assert not plan.ok and "OPENAI_API_KEY" in " ".join(plan.problems)


def test_a_jobs_whole_life_lands_in_the_runs_log(fake_openai, tmp_path) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    data = write_chat(tmp_path / "train.jsonl", 30)
    valid = write_chat(tmp_path / "valid.jsonl", 5)
    spec = job(data, validation_file=valid, n_epochs=2, suffix="demo", seed=7)
    run = asyncio.run(backend.launch(spec))
    assert run.backend == "openai" and run.remote_job_id
    assert run.cost_usd is not None
    body = fake_openai.jobs[run.remote_job_id].request  # the create request as sent
    assert "hyperparameters" not in body
    assert body["method"]["type"] == "supervised"
    assert body["method"]["supervised"]["hyperparameters"]["n_epochs"] == 2
    assert body["metadata"]["ftui_run"] == run.id

    assert follow_to_end(backend, run, fake_openai) == "succeeded"
    run = backend.store.get_run(run.id)
    assert run.status == "succeeded"
    assert run.fine_tuned_model and run.fine_tuned_model.startswith("ft:")
    assert run.trained_tokens
    assert "train_loss" in run.final_metrics
    assert backend.store.metrics(run.id)["train_loss"]
    checkpoints = [r for r in log_records(run) if r["type"] == "checkpoint"]
    assert checkpoints and all(r.get("openai_checkpoint_id") for r in checkpoints)
    ids = openai_event_ids(run)
    assert len(ids) == len(set(ids)) == len(fake_openai.jobs[run.remote_job_id].events)
    # The final status is the log's last word.
    assert log_records(run)[-1]["type"] == "status"
    # Every status is stamped, the ones the backend writes at launch included.
    assert all(r["ts"] for r in log_records(run) if r["type"] == "status")


def test_the_same_bytes_are_uploaded_once(fake_openai, tmp_path) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    data = write_chat(tmp_path / "train.jsonl", 12)
    first = asyncio.run(backend.launch(job(data)))
    second = asyncio.run(backend.launch(job(data, suffix="again")))
    assert _posts(fake_openai, "/v1/files") == 1
    assert first.remote_job_id != second.remote_job_id
    assert any("reused" in r.get("message", "") for r in log_records(second))


def test_a_remote_failure_shows_openais_code_and_message(fake_openai, tmp_path) -> None:
    fake_openai.fail_next_job(code="invalid_training_file", message="line 3 has no assistant")
    backend = backend_for(fake_openai, tmp_path / "home")
    run = asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))
    assert follow_to_end(backend, run, fake_openai) == "failed"
    run = backend.store.get_run(run.id)
    assert run.status == "failed"
    assert "invalid_training_file" in (run.error or "")
    assert "line 3 has no assistant" in (run.error or "")


def test_faults_along_the_way_lose_nothing(fake_openai, tmp_path) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    run = asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))
    fake_openai.faults.add(r"/events", "429", times=2, retry_after=1)
    fake_openai.faults.add(r"/fine_tuning/jobs/[^/]+$", "500", times=2)
    fake_openai.faults.add(r"/events", "drop", times=1)
    assert follow_to_end(backend, run, fake_openai) == "succeeded"
    ids = openai_event_ids(backend.store.get_run(run.id))
    assert len(ids) == len(set(ids)) == len(fake_openai.jobs[run.remote_job_id].events)


def test_an_outage_is_logged_and_never_fails_the_run(fake_openai, tmp_path) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    run = asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))
    fake_openai.faults.add(r"/fine_tuning/jobs/", "503", times=12)
    assert follow_to_end(backend, run, fake_openai) == "succeeded"
    records = log_records(backend.store.get_run(run.id))
    messages = [r.get("message", "") for r in records if r["type"] == "log"]
    assert any("keep trying" in m for m in messages)
    assert any("reachable again" in m for m in messages)
    assert not any(r["type"] == "status" and r["status"] == "failed" for r in records)


def test_a_follower_stopped_mid_job_and_started_again_repeats_and_loses_nothing(
    fake_openai, tmp_path
) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    run = asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))

    async def a_few_polls() -> None:
        follower = follower_for(backend, run, fake_openai)
        try:
            for _ in range(6):
                await follower.sync()
                await follower.sleep(60)
        finally:
            follower.close()
            await follower.client.close()

    asyncio.run(a_few_polls())
    halfway = openai_event_ids(run)
    assert halfway  # it had written some
    assert follow_to_end(backend, run, fake_openai) == "succeeded"
    ids = openai_event_ids(run)
    assert ids[: len(halfway)] == halfway
    assert len(ids) == len(set(ids)) == len(fake_openai.jobs[run.remote_job_id].events)


def test_pause_is_an_unknown_status_that_never_ends_the_follow_then_resume_and_cancel(
    fake_openai, tmp_path
) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    run = asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))

    async def polls(count: int, until: str | None = None, wait: float = 600) -> str:
        follower = follower_for(backend, run, fake_openai)
        try:
            status = ""
            for _ in range(count):
                status = str((await follower.sync())["status"])
                if status == until:
                    break
                await follower.sleep(wait)
            return status
        finally:
            follower.close()
            await follower.client.close()

    assert asyncio.run(polls(100, until="running", wait=30)) == "running"
    paused = asyncio.run(backend.pause(run.id))
    assert paused.status == "paused" and not paused.is_terminal
    assert asyncio.run(polls(6)) == "paused"  # an hour paused: still followed
    resumed = asyncio.run(backend.resume(run.id))
    assert not resumed.is_terminal and resumed.status != "paused"
    cancelled = asyncio.run(backend.cancel(run.id))
    assert cancelled.status == "cancelled"
    with pytest.raises(LaunchError, match="already cancelled"):
        asyncio.run(backend.cancel(run.id))


def test_dpo_goes_under_method_with_beta(fake_openai, tmp_path) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    data = write_dpo(tmp_path / "pairs.jsonl", 12)
    run = asyncio.run(backend.launch(job(data, method="dpo", beta=0.2)))
    body = fake_openai.jobs[run.remote_job_id].request
    assert body["method"]["type"] == "dpo"
    assert body["method"]["dpo"]["hyperparameters"]["beta"] == 0.2


def test_chat_data_is_refused_for_dpo(fake_openai, tmp_path) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    plan = asyncio.run(
        backend.preflight(job(write_chat(tmp_path / "t.jsonl", 12), method="dpo", beta=0.1))
    )
    assert not plan.ok and "dpo format" in " ".join(plan.problems)


def test_import_backfills_every_event_of_a_finished_job(fake_openai, tmp_path: Path) -> None:
    backend = backend_for(fake_openai, tmp_path / "home")
    run = asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))
    job_id = run.remote_job_id
    fake_openai.clock.advance(3 * 3600)  # the job ends with no follower watching
    backend.store.delete_run(run.id, force=True)
    imported = asyncio.run(backend.import_job(job_id))
    assert imported.id != run.id and imported.remote_job_id == job_id
    assert imported.status == "succeeded"
    ids = openai_event_ids(imported)
    assert len(ids) == len(set(ids)) == len(fake_openai.jobs[job_id].events)
    assert asyncio.run(backend.import_job(job_id)).id == imported.id  # once
    listed = asyncio.run(backend.list_jobs())
    assert any(j["id"] == job_id and j["ftui_run_id"] == imported.id for j in listed)


def test_a_429_that_outlasts_the_retries_sets_the_next_poll_to_its_retry_after(
    fake_openai, tmp_path
) -> None:
    # The call's own retries give up (3 tries here); the poll loop then waits what the server
    # asked (capped), not its own shorter backoff.
    from ftui.core.runs.polling import RETRY_AFTER_CAP_S

    backend = backend_for(fake_openai, tmp_path / "home")
    run = asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))
    fake_openai.faults.add(r"/fine_tuning/jobs/[^/]+$", "429", times=3, retry_after=7200)
    sleeps: list[float] = []

    async def go() -> str:
        follower = follower_for(backend, run, fake_openai)
        clock_sleep = follower.sleep

        async def recording_sleep(seconds: float) -> None:
            sleeps.append(seconds)
            await clock_sleep(seconds)

        follower.sleep = recording_sleep
        try:
            return await follower.run()
        finally:
            follower.close()
            await follower.client.close()

    assert asyncio.run(go()) == "succeeded"
    assert sleeps.count(RETRY_AFTER_CAP_S) == 1


def test_a_launch_the_key_refuses_is_failed_with_no_cost(fake_openai, tmp_path) -> None:
    from ftui.config import Config, OpenAISettings
    from ftui.services.backends.openai_client import KeyRefused
    from ftui.services.root import Services

    settings = OpenAISettings(api_key="sk-wrong-key-0000", base_url=fake_openai.base_url)
    backend = Services(Config(home=tmp_path / "home", openai=settings)).openai
    backend.start_followers = False
    with pytest.raises(KeyRefused):
        asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))
    (run,) = backend.store.list_runs()
    assert run.status == "failed" and "Nothing was started" in (run.error or "")
    assert run.cost_usd is None  # nothing was spent


def test_a_poll_that_retrieved_the_job_before_a_pause_does_not_undo_it(
    fake_openai, tmp_path
) -> None:
    """The follower retrieves the job (running), then waits on its events; meanwhile a pause
    writes what the job now says. The poll's older snapshot must not write `running` back."""
    backend = backend_for(fake_openai, tmp_path / "home")
    run = asyncio.run(backend.launch(job(write_chat(tmp_path / "t.jsonl", 12))))

    async def race() -> str:
        follower = follower_for(backend, run, fake_openai)
        try:
            for _ in range(100):
                if (await follower.sync())["status"] == "running":
                    break
                await follower.sleep(30)
            # The next poll has new events to write, and its events call is slow: the pause
            # lands between its two calls.
            fake_openai.clock.advance(120)
            fake_openai.faults.add(r"/events", "slow", seconds=1.0, method="GET")
            poll = asyncio.create_task(follower.sync())
            await asyncio.sleep(0.3)
            paused = await backend.pause(run.id)
            assert paused.status == "paused"
            assert (await poll)["status"] == "running"  # retrieved before the pause
            backend.store.ingest_events(run.id)  # what the run's log now says
            return backend.store.get_run(run.id).status
        finally:
            follower.close()
            await follower.client.close()

    assert asyncio.run(race()) == "paused"
