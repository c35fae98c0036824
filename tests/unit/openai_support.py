"""What the OpenAI backend's tests share: data files, a backend on the test server, a follower
driven by the server's clock instead of real time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from ftui.config import Config, OpenAISettings
from ftui.services.backends.openai import OpenAIBackend
from ftui.services.backends.openai_follower import Follower
from ftui.services.root import Services
from ftui.services.store import Run


def write_chat(path: Path, count: int, *, broken_line: int | None = None) -> Path:
    lines = []
    for i in range(count):
        record: dict[str, Any] = {
            "messages": [
                {"role": "system", "content": "You answer in one short sentence."},
                {"role": "user", "content": f"What is {i} plus {i}?"},
                {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."},
            ]
        }
        if broken_line is not None and i + 1 == broken_line:
            record = {"messages": [{"role": "user", "content": "no answer here"}]}
        lines.append(orjson.dumps(record))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def write_dpo(path: Path, count: int) -> Path:
    lines = [
        orjson.dumps(
            {
                "input": {"messages": [{"role": "user", "content": f"Say {i} politely."}]},
                "preferred_output": [{"role": "assistant", "content": f"{i}, if you please."}],
                "non_preferred_output": [{"role": "assistant", "content": f"{i}."}],
            }
        )
        for i in range(count)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def settings_for(server: Any) -> OpenAISettings:
    return OpenAISettings(api_key=server.api_key, base_url=server.base_url)


def config_for(server: Any, home: Path) -> Config:
    return Config(home=home, openai=settings_for(server))


def backend_for(server: Any, home: Path, *, followers: bool = False) -> OpenAIBackend:
    backend = Services(config_for(server, home)).openai
    backend.start_followers = followers
    return backend


def job(dataset: Path, **changes: Any) -> Any:
    from ftui.core.training.openai_job import OpenAIJobConfig

    fields: dict[str, Any] = {
        "dataset": dataset,
        "model": "gpt-4o-mini-2024-07-18",
        "validation_file": None,
        "method": "supervised",
        "beta": None,
        "n_epochs": "auto",
        "batch_size": "auto",
        "learning_rate_multiplier": "auto",
        "suffix": None,
        "seed": None,
        "metadata": {},
    }
    fields.update(changes)
    return OpenAIJobConfig(**fields)


class ClockSleep:
    """A follower's sleep that moves the server's manual clock instead of waiting."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.slept = 0.0

    async def __call__(self, seconds: float) -> None:
        self.slept += seconds
        self.server.clock.advance(seconds)
        await asyncio.sleep(0)


def follower_for(backend: OpenAIBackend, run: Run, server: Any) -> Follower:
    from ftui.services.backends.openai_client import RetryPolicy

    assert run.remote_job_id
    return Follower(
        backend.client(),
        run.run_dir,
        run.remote_job_id,
        secret=server.api_key,
        sleep=ClockSleep(server),
        policy=RetryPolicy(attempts=3, base_s=0.01, max_s=0.05),
    )


def follow_to_end(backend: OpenAIBackend, run: Run, server: Any) -> str:
    async def go() -> str:
        follower = follower_for(backend, run, server)
        try:
            return await follower.run()
        finally:
            follower.close()
            await follower.client.close()

    status = asyncio.run(go())
    backend.store.ingest_events(run.id)
    return status


def log_records(run: Run) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in run.events_path.read_bytes().splitlines() if line]


def openai_event_ids(run: Run) -> list[str]:
    return [record["openai_event_id"] for record in log_records(run) if "openai_event_id" in record]
