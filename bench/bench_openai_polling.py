"""The API calls an OpenAI fine-tuning job costs ftui's follower, against the test server.

    python bench/bench_openai_polling.py [--queued-min 10] [--running-min 60] [--faults]

A job is launched through the real backend (validation, upload, create) on the test server with a
manual clock, then followed to the end by the real follower, whose every wait moves that clock
instead of sleeping: an hour-long job is followed in about a second. Prints the calls by endpoint
and by the job's phase, the polls, the simulated time slept, and the budget the core's polling
schedule documents (`expected_calls`). `--faults` adds 429s (with Retry-After), 500s and dropped
connections along the way and shows what they cost.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _endpoint(method: str, path: str) -> str:
    path = re.sub(r"ftjob-[A-Za-z0-9_-]+", "{job}", path)
    path = re.sub(r"file-[A-Za-z0-9_-]+", "{file}", path)
    return f"{method} {path.split('?')[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validating-min", type=float, default=2.0)
    parser.add_argument("--queued-min", type=float, default=10.0)
    parser.add_argument("--running-min", type=float, default=60.0)
    parser.add_argument("--faults", action="store_true")
    args = parser.parse_args()

    from ftui.core.runs.polling import expected_calls
    from tests.support.fake_openai import FakeOpenAI, ManualClock
    from tests.unit.openai_support import backend_for, follower_for, job, write_chat

    work = Path(tempfile.mkdtemp(prefix="ftui-bench-openai-"))
    data = write_chat(work / "train.jsonl", 100)
    clock = ManualClock()
    with FakeOpenAI(
        clock=clock,
        validating_s=args.validating_min * 60,
        queued_s=args.queued_min * 60,
        running_s=args.running_min * 60,
    ) as server:
        backend = backend_for(server, work / "home")
        run = asyncio.run(backend.launch(job(data, n_epochs=3)))
        launch_calls = len(server.calls)
        if args.faults:
            server.faults.add(r"/events", "429", times=3, retry_after=2)
            server.faults.add(r"/fine_tuning/jobs/[^/]+$", "500", times=3)
            server.faults.add(r"/events", "drop", times=2)

        phases: Counter[str] = Counter()

        async def follow() -> tuple[str, int, float]:
            follower = follower_for(backend, run, server)
            from ftui.core.runs.events import is_terminal
            from ftui.core.runs.polling import next_poll_delay

            status = "validating_files"
            try:
                while True:
                    before = len(server.calls)
                    try:
                        job_now = await follower.sync()
                    except Exception:
                        await follower.sleep(next_poll_delay(status, 1, random=follower.random))
                        continue
                    status = str(job_now["status"])
                    phases[status] += len(server.calls) - before
                    if is_terminal(status):
                        return status, follower.polls, follower.sleep.slept  # type: ignore[attr-defined]
                    await follower.sleep(next_poll_delay(status, 0, random=follower.random))
            finally:
                follower.close()
                await follower.client.close()

        started = time.perf_counter()
        final, polls, slept = asyncio.run(follow())
        elapsed = time.perf_counter() - started
        follow_calls = server.calls[launch_calls:]
        by_endpoint = Counter(_endpoint(c.method, c.path) for c in follow_calls)

    budget = expected_calls(args.queued_min * 60 + args.validating_min * 60, args.running_min * 60)
    print(
        f"job: {args.validating_min:g} min validating, {args.queued_min:g} min queued, "
        f"{args.running_min:g} min running -> {final}"
        + (" (with 429s, 500s and dropped connections)" if args.faults else "")
    )
    print(f"launch: {launch_calls} calls (upload, create)")
    print(f"follow: {len(follow_calls)} calls in {polls} polls over {slept / 60:.1f} simulated min")
    for phase, count in phases.most_common():
        print(f"  while {phase:<18} {count:>5}")
    for endpoint, count in by_endpoint.most_common():
        print(f"  {endpoint:<44} {count:>5}")
    print(f"documented budget (core.runs.polling.expected_calls): {budget}")
    print(f"followed in {elapsed:.2f} s of real time")


if __name__ == "__main__":
    main()
