"""How often a remote fine-tuning job is polled, and what that costs in API calls.

A follower polls every RUNNING_DELAY_S while the job runs (metrics arrive every step), every
WAITING_DELAY_S while the files are validated or the job is queued (nothing happens but a status
change), every PAUSED_DELAY_S while it is paused, and WAITING_DELAY_S for a status it does not
know. Healthy polls have no jitter, so the budget below is exact. After errors it backs off:
ERROR_BASE_S × 2^(errors - 1), capped at ERROR_CAP_S, times a jitter factor in [0.5, 1), unless
the server said how long to wait (Retry-After), which wins, capped at RETRY_AFTER_CAP_S.

Each poll costs 2 calls: the job, and the newest page of its events (another page only when
more than a page of events arrived since the last poll). While running, every
CHECKPOINTS_EVERY_POLLS-th poll also reads the checkpoints; at the end the follower reads the
checkpoints once more and each result file once.

The budget of a one-hour job (`expected_calls`): a job that waits 12 minutes (validation and
queue) and then runs 60 minutes is polled 12 times while waiting and 120 times while running,
plus the final poll: 133 polls, 266 calls, 12 checkpoint reads while running, then 1 checkpoint
read and 1 result file: **280 API calls**, about 3.9 a minute. A job that runs 60 minutes with
no wait costs 256.
"""

from __future__ import annotations

import math
from collections.abc import Callable

RUNNING_DELAY_S = 30.0
WAITING_DELAY_S = 60.0
PAUSED_DELAY_S = 120.0
ERROR_BASE_S = 5.0
ERROR_CAP_S = 300.0
RETRY_AFTER_CAP_S = 600.0
CALLS_PER_POLL = 2  # the job and its newest page of events
CHECKPOINTS_EVERY_POLLS = 10  # while running

_WAITING = frozenset({"validating_files", "queued", "created"})


def healthy_delay(remote_status: str | None) -> float:
    """The wait after a poll that worked, by the job's status (verbatim, possibly unknown)."""
    if remote_status == "running":
        return RUNNING_DELAY_S
    if remote_status == "paused":
        return PAUSED_DELAY_S
    return WAITING_DELAY_S  # waiting, or a status this ftui does not know


def next_poll_delay(
    remote_status: str | None,
    consecutive_errors: int,
    *,
    random: Callable[[], float],
    retry_after: float | None = None,
) -> float:
    """Seconds until the next poll. `random` gives a float in [0, 1) (jitter on errors only);
    `retry_after` is what the server asked for, which overrides the backoff."""
    if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
        return min(float(retry_after), RETRY_AFTER_CAP_S)
    if consecutive_errors <= 0:
        return healthy_delay(remote_status)
    exponent = min(consecutive_errors - 1, 30)  # 2**30 × 5 s is far past the cap already
    backoff = min(ERROR_CAP_S, ERROR_BASE_S * 2.0**exponent)
    jitter = 0.5 + 0.5 * min(max(random(), 0.0), 1.0)
    return backoff * jitter


def expected_calls(queued_s: float, running_s: float, *, result_files: int = 1) -> int:
    """The API calls a follower makes for a job that waits `queued_s` (validating and queued)
    then runs `running_s` and succeeds, from its first poll at launch to the end, with no
    errors and at most a page of new events per poll. It replays the follower's own loop."""
    queued_s, running_s = max(0.0, queued_s), max(0.0, running_s)
    t, polls, calls = 0.0, 0, 0
    while True:
        polls += 1
        calls += CALLS_PER_POLL
        if t >= queued_s + running_s:  # the poll that sees the end
            return calls + 1 + result_files  # the checkpoints once more, each result file
        status = "queued" if t < queued_s else "running"
        if status == "running" and polls % CHECKPOINTS_EVERY_POLLS == 0:
            calls += 1
        t += healthy_delay(status)
