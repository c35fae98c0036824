"""The follower of one OpenAI fine-tuning job: a small detached process writing the run's log.

    python -m ftui.services.backends.openai_follower RUN_DIR JOB_ID   (settings as JSON on stdin)

It is started at launch (and again by any ftui that finds a non-final OpenAI run without one, see
`ensure_follower`), in its own session like a local training process, so a closed terminal or a
dropped SSH connection leaves it polling. The key reaches it only through its stdin pipe: never
the disk, its environment (the launcher drops OPENAI_* anyway) or its command line.

Each poll retrieves the job and reads its events, which OpenAI lists newest first: the newest page,
then older pages only until the last event id already in the run's own `events.jsonl` — so a
follower killed at any moment and started again writes every event exactly once. Checkpoints are
deduplicated by their id the same way. Everything the log gains goes through an alert detector
(seeded with the whole log on start, so nothing is raised twice) and the alerts it raises are
appended: overfitting, eval_gap, nan_loss, diverging from the job's metrics, and stalled when a
running job reports nothing for `STALL_AFTER_S`. At the end it reads the checkpoints and the
result file's per-step CSV (steps the events missed), and writes the final status last: a follower
killed before that is simply started again. Network trouble is retried and logged, never a failed
run; a refused key ends the follower (the run stays followable once the key is fixed).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random as random_module
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ftui.config import OpenAISettings
from ftui.core.runs.alerts import STALL_ADVICE_REMOTE, AlertDetector, AlertRules
from ftui.core.runs.events import EventWriter, is_terminal, parse_event
from ftui.core.runs.kinds import (
    CheckpointEvent,
    LogEvent,
    MetricEvent,
    RemoteJobEvent,
    RunEvent,
)
from ftui.core.runs.state import RunState
from ftui.services import launcher
from ftui.services.backends.openai_client import (
    KeyRefused,
    OpenAIProblem,
    Refused,
    RetryPolicy,
    Unreachable,
    call,
)
from ftui.services.eventlog import EventTailer
from ftui.services.runs import events_path

if TYPE_CHECKING:
    from openai import AsyncOpenAI

PROCESS_FILE = "follower.json"
LOG_FILE = "follower.log"
LOCK_FILE = "follower.lock"
POLL_SCALE_ENV = "FTUI_OPENAI_POLL_SCALE"
EVENTS_PAGE = 50
CHECKPOINTS_EVERY_POLLS = 10  # while running; and always once at the end
# A follower that just started (and perhaps ended at once on a refused key) is not restarted for
# this long, so a page that checks liveness every 2 s does not spawn one per check.
RESTART_INTERVAL_S = 30.0
# Each call's own retries; beyond them the poll loop backs off (next_poll_delay) and tries again.
FOLLOW_POLICY = RetryPolicy(attempts=3, base_s=1.0, max_s=20.0)
# A running job that reports nothing for this long is stalled (OpenAI's steps can be slow).
STALL_AFTER_S = 1800.0

Sleep = Callable[[float], Awaitable[None]]


def _dump(obj: Any) -> dict[str, Any]:
    """An SDK object as the plain dict OpenAI sent (statuses the SDK's types lack included)."""
    if isinstance(obj, Mapping):
        return dict(obj)
    dumped: dict[str, Any] = obj.model_dump()
    return dumped


class Follower:
    """Brings a run's log up to date with its remote job, once (`sync`) or to the end (`run`)."""

    def __init__(
        self,
        client: AsyncOpenAI,
        run_dir: Path,
        job_id: str,
        *,
        secret: str | None = None,
        policy: RetryPolicy = FOLLOW_POLICY,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
        rules: AlertRules | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.run_dir = Path(run_dir)
        self.job_id = job_id
        self.secret = secret
        self.policy = policy
        self.sleep = sleep
        self.random = random
        path = events_path(self.run_dir)
        self.writer = EventWriter(path)
        self._tailer = EventTailer(path)
        self.state = RunState()
        self.last_event_id: str | None = None
        self.checkpoint_ids: set[str] = set()
        self.metric_steps: set[int] = set()
        # Job snapshots in the log (RemoteJobEvent), all and our own: one that someone else wrote
        # during a poll (a pause or resume) is newer than the job this poll retrieved.
        self.job_snapshots = 0
        self.own_job_snapshots = 0
        self.polls = 0
        self.outage_logged = False
        self.clock = clock
        self.alerts = AlertDetector(rules or AlertRules(stall_after_s=STALL_AFTER_S))

    def close(self) -> None:
        self.writer.close()
        self._tailer.close()

    # -- the run's own log: where the cursor comes from --------------------------------------

    def read_log(self) -> None:
        """Fold what the log gained (our lines and anyone else's) into the cursor, the state
        and the alert detector, and append the alerts it newly raises. What is read in one call
        is fed to the detector at once: on the first call, the whole log, so alerts a previous
        follower wrote are not raised again."""
        while True:
            gained: list[RunEvent] = []
            while records := self._tailer.read_available():
                events = [parse_event(record) for record in records]
                self._fold(events)
                gained.extend(events)
            seen = self.alerts.activity
            alerts = self.alerts.feed(gained) if gained else []
            if self.alerts.activity != seen:
                # Quiet is timed on our own clock from when we read the job's last activity:
                # the service's timestamps may be skewed from ours.
                self.alerts.mark_activity(self.clock())
            if not alerts:
                return
            for alert in alerts:
                self.writer.write(alert)  # read back (and seen by the detector) next round

    def _fold(self, events: list[RunEvent]) -> None:
        from ftui.core.runs.openai import last_openai_event_id

        self.state = self.state.apply_all(events)
        last = last_openai_event_id(events)
        if last is not None:
            self.last_event_id = last
        for event in events:
            if isinstance(event, CheckpointEvent):
                checkpoint_id = event.extra.get("openai_checkpoint_id")
                if checkpoint_id:
                    self.checkpoint_ids.add(str(checkpoint_id))
            elif isinstance(event, MetricEvent):
                self.metric_steps.add(event.step)
            elif isinstance(event, RemoteJobEvent):
                self.job_snapshots += 1

    def check_stalled(self, job: Mapping[str, Any]) -> None:
        """A `stalled` alert when the job runs but has reported nothing for the rules' time."""
        running = job.get("status") == "running"
        alert = self.alerts.check_stalled(self.clock(), running, advice=STALL_ADVICE_REMOTE)
        if alert is not None:
            self.write([alert])

    def write(self, events: Sequence[RunEvent]) -> None:
        for event in events:
            self.writer.write(event)
            if isinstance(event, RemoteJobEvent):
                self.own_job_snapshots += 1
        self.read_log()

    def _foreign_snapshots(self) -> int:
        return self.job_snapshots - self.own_job_snapshots

    # -- one poll ----------------------------------------------------------------------------

    async def _call(self, operation: Callable[[], Awaitable[Any]], what: str) -> Any:
        return await call(
            operation,
            what=what,
            policy=self.policy,
            secret=self.secret,
            sleep=self.sleep,
            random=self.random,
        )

    async def new_events(self) -> list[Mapping[str, Any]]:
        """The job's events newer than the log's last one, oldest first."""
        from ftui.core.runs.openai import unseen_events

        batches: list[list[Mapping[str, Any]]] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": EVENTS_PAGE}
            if after is not None:
                kwargs["after"] = after
            page = await self._call(
                functools.partial(self.client.fine_tuning.jobs.list_events, self.job_id, **kwargs),
                "read the job's events",
            )
            data = [_dump(item) for item in page.data]
            fresh, reached = unseen_events(data, self.last_event_id)
            batches.append(list(fresh))
            if reached or not data or not page.has_more:
                break
            after = str(data[-1]["id"])
        ordered: list[Mapping[str, Any]] = []
        for batch in reversed(batches):  # later pages are older
            ordered.extend(batch)
        return ordered

    async def write_checkpoints(self) -> None:
        from ftui.core.runs.openai import checkpoint_to_run_events

        page = await self._call(
            lambda: self.client.fine_tuning.jobs.checkpoints.list(self.job_id, limit=EVENTS_PAGE),
            "read the job's checkpoints",
        )
        items = sorted((_dump(item) for item in page.data), key=lambda c: c.get("step_number", 0))
        for item in items:
            if str(item.get("id")) not in self.checkpoint_ids:
                self.write(checkpoint_to_run_events(item))

    async def write_result_metrics(self, job: Mapping[str, Any]) -> None:
        """The result file's per-step metrics, for the steps the events did not report."""
        from ftui.core.runs.openai import result_csv_to_metric_events

        for file_id in job.get("result_files") or ():
            response = await self._call(
                functools.partial(self.client.files.content, file_id), "read the result file"
            )
            content = response.content if hasattr(response, "content") else response
            metrics = result_csv_to_metric_events(content)
            self.write([m for m in metrics if m.step not in self.metric_steps])

    async def sync(self) -> dict[str, Any]:
        """One poll: the job, its new events, and at the end the rest; returns the job."""
        from ftui.core.runs.openai import job_event_to_run_events, job_to_run_events, recorded_job

        self.read_log()
        self.polls += 1
        foreign_before = self._foreign_snapshots()
        job = _dump(
            await self._call(
                lambda: self.client.fine_tuning.jobs.retrieve(self.job_id), "read the job"
            )
        )
        for event in await self.new_events():
            self.write(job_event_to_run_events(event))
        self.read_log()
        # An action (pause, resume) that wrote what the job said while this poll waited for it
        # made this snapshot older than the log: writing it would undo the action's status until
        # the next poll, which retrieves a fresh one.
        stale = self._foreign_snapshots() != foreign_before
        changes = job_to_run_events(job, recorded_job(self.job_id, self.state), now=self.clock())
        final = is_terminal(str(job.get("status")))
        if not final:
            if not stale:
                self.write(changes)
            self.check_stalled(job)
            if job.get("status") == "running" and self.polls % CHECKPOINTS_EVERY_POLLS == 0:
                await self.write_checkpoints()
            return job
        await self.write_checkpoints()
        if job.get("status") == "succeeded":
            await self.write_result_metrics(job)
        self.write(changes)  # the final status last: everything before it is in the log
        return job

    # -- to the end --------------------------------------------------------------------------

    def log(self, message: str, level: str = "info") -> None:
        self.write([LogEvent(ts=self.clock(), message=message, level=level)])

    async def run(self) -> str:
        """Poll until the job ends; returns its final status, or "key_refused" / "refused"
        when it had to stop (the run stays followable), or "run_deleted" when its run directory
        is gone."""
        from ftui.core.runs.polling import next_poll_delay

        errors = 0
        status: str | None = None
        while True:
            if not self.run_dir.is_dir():
                # The run was deleted (`ftui runs rm`, or its home): nothing is left to write to,
                # and a follower must never outlive what it follows.
                return "run_deleted"
            try:
                job = await self.sync()
            except Unreachable as problem:
                errors += 1
                if not self.outage_logged:
                    self.log(f"{problem} Still following; will keep trying.", "warning")
                    self.outage_logged = True
                # A 429's Retry-After, when the last answer gave one, beats our own backoff.
                wait = next_poll_delay(
                    status, errors, random=self.random, retry_after=problem.retry_after_s
                )
                await self.sleep(wait)
                continue
            except KeyRefused as problem:
                self.log(f"Stopped following: {problem}", "error")
                return "key_refused"
            except Refused as problem:
                self.log(f"Stopped following: {problem}", "error")
                return "refused"
            if self.outage_logged:
                self.log("OpenAI is reachable again; caught up.")
                self.outage_logged = False
            errors = 0
            status = str(job.get("status"))
            if is_terminal(status):
                return status
            await self.sleep(next_poll_delay(status, 0, random=self.random))


# -- the process: started detached, restarted when missing ----------------------------------


def follower_command(run_dir: Path, job_id: str) -> list[str]:
    return [sys.executable, "-m", "ftui.services.backends.openai_follower", str(run_dir), job_id]


def is_following(run_dir: Path) -> bool:
    return launcher.is_running(run_dir, PROCESS_FILE)


def start_follower(run_dir: Path, job_id: str, settings: OpenAISettings) -> launcher.ProcessRecord:
    """Start the run's follower detached; the settings (the key among them) go down its stdin."""
    payload = orjson.dumps(
        {
            "api_key": settings.api_key,
            "base_url": settings.base_url,
            "organization": settings.organization,
            "project": settings.project,
        }
    )
    return launcher.launch(
        run_dir,
        argv=follower_command(run_dir, job_id),
        stdin_data=payload,
        process_file=PROCESS_FILE,
        log_file=LOG_FILE,
    )


def ensure_follower(
    run_dir: Path, job_id: str | None, settings: OpenAISettings | None, *, now: float | None = None
) -> str:
    """Start a follower for a non-final run that has none. Returns what it found or did:
    "following", "started", "recently-started", "no-job" or "no-key"."""
    if is_following(run_dir):
        return "following"
    if not job_id:
        return "no-job"
    if settings is None or not settings.api_key:
        return "no-key"
    record = launcher.read_process(run_dir, PROCESS_FILE)
    now = time.time() if now is None else now
    if record is not None and now - record.launched_at < RESTART_INTERVAL_S:
        return "recently-started"
    start_follower(run_dir, job_id, settings)
    return "started"


@contextlib.contextmanager
def _single_follower(run_dir: Path) -> Any:
    """Hold the run's follower lock; yields False if another follower holds it."""
    import fcntl

    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _scaled_sleep() -> Sleep:
    """asyncio.sleep, with every wait multiplied by $FTUI_OPENAI_POLL_SCALE (default 1): a test
    server that runs an hour-long job in seconds is followed at the same pace."""
    try:
        scale = float(os.environ.get(POLL_SCALE_ENV, "1"))
    except ValueError:
        scale = 1.0

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds * scale)

    return sleep


async def follow(run_dir: Path, job_id: str, settings: OpenAISettings) -> str:
    from ftui.services.backends.openai_client import build_client

    client = build_client(settings)
    follower = Follower(client, run_dir, job_id, secret=settings.api_key, sleep=_scaled_sleep())
    try:
        return await follower.run()
    finally:
        follower.close()
        await client.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m ftui.services.backends.openai_follower RUN_DIR JOB_ID")
        return 2
    run_dir, job_id = Path(args[0]), args[1]
    try:
        raw = orjson.loads(sys.stdin.buffer.read() or b"{}")
    except orjson.JSONDecodeError:
        raw = {}
    settings = OpenAISettings(**{k: raw.get(k) for k in OpenAISettings.__dataclass_fields__})
    del raw
    with _single_follower(run_dir) as alone:
        if not alone:
            print(f"another follower already follows {job_id}")
            return 0
        try:
            status = asyncio.run(follow(run_dir, job_id, settings))
        except OpenAIProblem as problem:
            print(f"stopped: {problem}")
            return 1
        except KeyboardInterrupt:
            return 130
    print(f"job {job_id} ended {status}" if is_terminal(status) else f"stopped: {status}")
    return 0 if is_terminal(status) else 1


if __name__ == "__main__":
    sys.exit(main())
