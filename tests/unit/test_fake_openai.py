"""The test OpenAI server, spoken to by the real `openai` client: what the backend's tests
rely on must behave as OpenAI does."""

from __future__ import annotations

import asyncio
import base64
import time

import openai
import pytest
from openai import AsyncOpenAI

from tests.support.fake_openai import FakeOpenAI, ManualClock


def _client(server: FakeOpenAI, *, key: str | None = None, timeout: float = 5.0) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=server.base_url, api_key=key or server.api_key, max_retries=0, timeout=timeout
    )


def _run(coro):
    return asyncio.run(coro)


async def _upload(client: AsyncOpenAI, content: bytes = b'{"messages": []}\n') -> str:
    file = await client.files.create(file=("train.jsonl", content), purpose="fine-tune")
    return file.id


def test_files_upload_retrieve_and_content(fake_openai) -> None:
    async def go() -> None:
        async with _client(fake_openai) as client:
            content = b'{"messages": [{"role": "user", "content": "hi"}]}\n'
            file = await client.files.create(file=("train.jsonl", content), purpose="fine-tune")
            assert (file.filename, file.bytes, file.purpose) == (
                "train.jsonl",
                len(content),
                "fine-tune",
            )
            assert (await client.files.retrieve(file.id)).id == file.id
            assert (await client.files.content(file.id)).content == content
            with pytest.raises(openai.NotFoundError):
                await client.files.retrieve("file-missing")

    _run(go())
    assert fake_openai.count("POST", r"^/v1/files$") == 1


def test_models_list_the_base_models(fake_openai) -> None:
    async def go() -> list[str]:
        async with _client(fake_openai) as client:
            return [m.id async for m in client.models.list()]

    assert "gpt-4o-mini-2024-07-18" in _run(go())


def test_a_jobs_whole_life_on_the_manual_clock(fake_openai) -> None:
    async def go() -> None:
        async with _client(fake_openai) as client:
            training = await _upload(client)
            validation = await _upload(client, b"{}\n")
            job = await client.fine_tuning.jobs.create(
                model="gpt-4o-mini-2024-07-18",
                training_file=training,
                validation_file=validation,
                suffix="demo",
                seed=5,
                method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
            )
            assert job.status == "validating_files"
            assert fake_openai.jobs[job.id].request["method"]["type"] == "supervised"
            fake_openai.clock.advance(61)
            assert (await client.fine_tuning.jobs.retrieve(job.id)).status == "queued"
            fake_openai.clock.advance(120 + 300)  # halfway through running
            running = await client.fine_tuning.jobs.retrieve(job.id)
            assert running.status == "running" and running.estimated_finish
            fake_openai.clock.advance(400)
            done = await client.fine_tuning.jobs.retrieve(job.id)
            assert done.status == "succeeded" and done.trained_tokens
            assert (
                done.fine_tuned_model
                == f"ft:gpt-4o-mini-2024-07-18:org-test:demo:{job.id.split('-')[-1]}"
            )
            events = [e async for e in client.fine_tuning.jobs.list_events(job.id)]
            assert len(events) == len(fake_openai.jobs[job.id].events)
            assert [e.created_at for e in events] == sorted(
                (e.created_at for e in events), reverse=True
            )
            metrics = [e for e in events if e.type == "metrics"]
            assert len(metrics) == 30
            assert any("valid_loss" in (e.data or {}) for e in metrics)
            checkpoints = (await client.fine_tuning.jobs.checkpoints.list(job.id)).data
            assert [c.step_number for c in checkpoints] == [30, 20, 10]  # the last 3, newest first
            assert checkpoints[0].fine_tuned_model_checkpoint.endswith(":ckpt-step-30")
            raw = (await client.files.content(done.result_files[0])).content
            csv = base64.b64decode(raw).decode()
            assert csv.startswith(
                "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
            )
            assert "\n1,1.666667,0.513333,,\n" in csv
            assert "ft:" in str([m.id async for m in client.models.list()])

    _run(go())


def test_events_page_newest_first_with_after_and_limit(fake_openai) -> None:
    async def go() -> None:
        async with _client(fake_openai) as client:
            job = await client.fine_tuning.jobs.create(
                model="gpt-4o-mini-2024-07-18", training_file=await _upload(client)
            )
            fake_openai.clock.advance(3600)
            await client.fine_tuning.jobs.retrieve(job.id)
            every = [e["id"] for e in reversed(fake_openai.jobs[job.id].events)]
            first = await client.fine_tuning.jobs.list_events(job.id)
            assert [e.id for e in first.data] == every[:20] and first.has_more
            second = await client.fine_tuning.jobs.list_events(job.id, after=every[19], limit=7)
            assert [e.id for e in second.data] == every[20:27]
            walked = [e.id async for e in client.fine_tuning.jobs.list_events(job.id, limit=9)]
            assert walked == every
            last = await client.fine_tuning.jobs.list_events(job.id, after=every[-2], limit=5)
            assert [e.id for e in last.data] == every[-1:] and not last.has_more

    _run(go())


def test_jobs_list_pages_newest_first(fake_openai) -> None:
    async def go() -> None:
        async with _client(fake_openai) as client:
            training = await _upload(client)
            made = []
            for _ in range(5):
                made.append(
                    (
                        await client.fine_tuning.jobs.create(
                            model="gpt-4o-mini-2024-07-18", training_file=training
                        )
                    ).id
                )
                fake_openai.clock.advance(1)
            page = await client.fine_tuning.jobs.list(limit=2)
            assert [j.id for j in page.data] == made[::-1][:2] and page.has_more
            assert [j.id async for j in client.fine_tuning.jobs.list(limit=2)] == made[::-1]

    _run(go())


def test_pause_halts_progress_resume_goes_on_in_the_status_it_had(fake_openai) -> None:
    async def go() -> None:
        async with _client(fake_openai) as client:
            job = await client.fine_tuning.jobs.create(
                model="gpt-4o-mini-2024-07-18", training_file=await _upload(client)
            )
            fake_openai.clock.advance(90)  # queued
            paused = await client.fine_tuning.jobs.pause(job.id)
            assert paused.status == "paused"  # a status the SDK's types do not list
            fake_openai.clock.advance(3600)
            assert (await client.fine_tuning.jobs.retrieve(job.id)).status == "paused"
            assert (await client.fine_tuning.jobs.resume(job.id)).status == "queued"
            fake_openai.clock.advance(200)
            assert (await client.fine_tuning.jobs.retrieve(job.id)).status == "running"
            steps = fake_openai.jobs[job.id].steps_done
            await client.fine_tuning.jobs.pause(job.id)
            fake_openai.clock.advance(3600)
            await client.fine_tuning.jobs.retrieve(job.id)
            assert fake_openai.jobs[job.id].steps_done == steps
            assert (await client.fine_tuning.jobs.resume(job.id)).status == "running"
            with pytest.raises(openai.BadRequestError):
                await client.fine_tuning.jobs.resume(job.id)
            assert (await client.fine_tuning.jobs.cancel(job.id)).status == "cancelled"
            with pytest.raises(openai.BadRequestError):
                await client.fine_tuning.jobs.cancel(job.id)

    _run(go())


def test_a_job_told_to_fail_fails_with_code_message_and_param(fake_openai) -> None:
    fake_openai.fail_next_job(code="invalid_training_file", message="line 3 has no assistant")

    async def go() -> None:
        async with _client(fake_openai) as client:
            job = await client.fine_tuning.jobs.create(
                model="gpt-4o-mini-2024-07-18", training_file=await _upload(client)
            )
            fake_openai.clock.advance(3600)
            failed = await client.fine_tuning.jobs.retrieve(job.id)
            assert failed.status == "failed"
            assert (failed.error.code, failed.error.message) == (
                "invalid_training_file",
                "line 3 has no assistant",
            )
            assert not failed.fine_tuned_model and not failed.result_files

    _run(go())


def test_bad_requests_are_refused_as_openai_refuses_them(fake_openai) -> None:
    async def go() -> None:
        async with _client(fake_openai) as client:
            with pytest.raises(openai.BadRequestError, match="training_file"):
                await client.fine_tuning.jobs.create(
                    model="gpt-4o-mini-2024-07-18", training_file="file-nope"
                )
            with pytest.raises(openai.BadRequestError, match="suffix"):
                await client.fine_tuning.jobs.create(
                    model="gpt-4o-mini-2024-07-18",
                    training_file=await _upload(client),
                    suffix="s" * 65,
                )
            with pytest.raises(openai.NotFoundError):
                await client.fine_tuning.jobs.retrieve("ftjob-nope")

    _run(go())


def test_a_wrong_key_is_a_401_with_openais_error_body_and_no_key_in_it(fake_openai) -> None:
    async def go() -> None:
        async with _client(fake_openai, key="sk-wrong-0123456789") as client:
            with pytest.raises(openai.AuthenticationError) as caught:
                await client.models.list()
            assert caught.value.code == "invalid_api_key"
            assert caught.value.body["message"]
            assert "sk-wrong" not in str(caught.value.body)

    _run(go())
    assert fake_openai.calls[-1].headers["authorization"] == "Bearer sk-wrong-0123456789"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("500", openai.InternalServerError),
        ("502", openai.InternalServerError),
        ("503", openai.InternalServerError),
        ("401", openai.AuthenticationError),
        ("403", openai.PermissionDeniedError),
        ("drop", openai.APIConnectionError),
    ],
)
def test_faults_fail_the_matching_requests_as_many_times_as_asked(fake_openai, kind, error) -> None:
    fake_openai.faults.add(r"/v1/models$", kind, times=2)

    async def go() -> None:
        async with _client(fake_openai) as client:
            await client.files.list()  # another path: untouched
            for _ in range(2):
                with pytest.raises(error):
                    await client.models.list()
            await client.models.list()

    _run(go())
    assert fake_openai.faults.pending() == 0


def test_429_sends_retry_after_and_retry_after_ms_that_the_sdk_honours(fake_openai) -> None:
    fake_openai.faults.add(r"/v1/models", "429", retry_after=2)
    fake_openai.faults.add(r"/v1/models", "429", retry_after_ms=300)

    async def go() -> None:
        async with _client(fake_openai) as client:
            with pytest.raises(openai.RateLimitError) as caught:
                await client.models.list()
            assert caught.value.response.headers["retry-after"] == "2"
            with pytest.raises(openai.RateLimitError) as caught:
                await client.models.list()
            assert caught.value.response.headers["retry-after-ms"] == "300"
        async with AsyncOpenAI(
            base_url=fake_openai.base_url, api_key=fake_openai.api_key, max_retries=1
        ) as retrying:
            fake_openai.faults.add(r"/v1/models", "429", retry_after_ms=300)
            started = time.monotonic()
            await retrying.models.list()
            assert time.monotonic() - started >= 0.29

    _run(go())


def test_a_slow_answer_times_the_client_out(fake_openai) -> None:
    fake_openai.faults.add(r"/v1/models", "slow", seconds=1.0)

    async def go() -> None:
        async with _client(fake_openai, timeout=0.3) as client:
            with pytest.raises(openai.APITimeoutError):
                await client.models.list()
            await client.models.list()

    _run(go())


def test_many_concurrent_calls_are_all_answered(fake_openai) -> None:
    async def go() -> int:
        async with _client(fake_openai) as client:
            pages = await asyncio.gather(*(client.models.list() for _ in range(64)))
            return len(pages)

    assert _run(go()) == 64
    assert fake_openai.count("GET", r"/v1/models") == 64


def test_speed_scales_real_time() -> None:
    with FakeOpenAI(speed=1000.0, validating_s=60, queued_s=60, running_s=60) as server:

        async def go() -> str:
            async with _client(server) as client:
                job = await client.fine_tuning.jobs.create(
                    model="gpt-4o-mini-2024-07-18", training_file=await _upload(client)
                )
                await asyncio.sleep(0.3)  # 300 s of the job's time
                return (await client.fine_tuning.jobs.retrieve(job.id)).status

        assert _run(go()) == "succeeded"


def test_plain_result_files_and_the_manual_clock_are_options() -> None:
    clock = ManualClock()
    with FakeOpenAI(
        clock=clock, base64_results=False, validating_s=0, queued_s=0, running_s=10
    ) as server:

        async def go() -> bytes:
            async with _client(server) as client:
                job = await client.fine_tuning.jobs.create(
                    model="gpt-4o-mini-2024-07-18", training_file=await _upload(client)
                )
                clock.advance(10)
                done = await client.fine_tuning.jobs.retrieve(job.id)
                return (await client.files.content(done.result_files[0])).content

        assert _run(go()).startswith(b"step,train_loss,")
