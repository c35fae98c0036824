"""The polling schedule and the budget it documents."""

from __future__ import annotations

import itertools
import math

import pytest

from ftui.core.runs import polling
from ftui.core.runs.polling import expected_calls, next_poll_delay


def _fixed(value: float):
    return lambda: value


def test_running_is_polled_faster_than_waiting_and_paused_slowest() -> None:
    running = next_poll_delay("running", 0, random=_fixed(0.9))
    queued = next_poll_delay("queued", 0, random=_fixed(0.9))
    validating = next_poll_delay("validating_files", 0, random=_fixed(0.9))
    paused = next_poll_delay("paused", 0, random=_fixed(0.9))
    assert running < queued == validating < paused
    assert next_poll_delay("a_status_never_seen", 0, random=_fixed(0.0)) == queued
    assert next_poll_delay(None, 0, random=_fixed(0.0)) == queued


def test_errors_back_off_exponentially_with_jitter_and_a_cap() -> None:
    low = [next_poll_delay("running", n, random=_fixed(0.0)) for n in range(1, 12)]
    high = [next_poll_delay("running", n, random=_fixed(0.999999)) for n in range(1, 12)]
    assert low[:4] == [2.5, 5.0, 10.0, 20.0]
    assert all(b <= a * 2 + 1e-9 for a, b in itertools.pairwise(low))
    assert max(high) <= polling.ERROR_CAP_S and max(high) > polling.ERROR_CAP_S * 0.99
    assert all(lo < hi for lo, hi in zip(low, high, strict=True))  # the jitter moves it
    assert next_poll_delay("running", 10_000, random=_fixed(0.5)) <= polling.ERROR_CAP_S


def test_retry_after_overrides_the_schedule_within_a_cap() -> None:
    assert next_poll_delay("running", 3, random=_fixed(0.5), retry_after=7.0) == 7.0
    assert next_poll_delay("running", 0, random=_fixed(0.5), retry_after=0.25) == 0.25
    assert next_poll_delay("queued", 1, random=_fixed(0.5), retry_after=10**6) == (
        polling.RETRY_AFTER_CAP_S
    )
    for junk in (-1.0, math.nan, math.inf):
        assert next_poll_delay("running", 0, random=_fixed(0.5), retry_after=junk) == (
            polling.RUNNING_DELAY_S
        )


def test_the_documented_budget_of_a_one_hour_job() -> None:
    assert expected_calls(12 * 60, 60 * 60) == 280
    assert expected_calls(0, 60 * 60) == 256
    assert "280 API calls" in (polling.__doc__ or "")


def _replay(queued_s: float, running_s: float) -> int:
    """The follower's loop, step by step, independently of expected_calls."""
    t, polls, calls = 0.0, 0, 0
    end = queued_s + running_s
    while True:
        polls += 1
        calls += 2
        if t >= end:
            return calls + 2
        status = "queued" if t < queued_s else "running"
        calls += status == "running" and polls % 10 == 0
        t += next_poll_delay(status, 0, random=_fixed(0.0))


@pytest.mark.parametrize(("queued", "running"), [(0, 0), (60, 30), (600, 3600), (7200, 300)])
def test_expected_calls_grows_with_the_job_and_matches_the_loop(queued, running) -> None:
    assert expected_calls(queued, running) == _replay(queued, running)
    assert expected_calls(queued, running + 3600) > expected_calls(queued, running)
    assert expected_calls(queued, running, result_files=0) == expected_calls(queued, running) - 1
