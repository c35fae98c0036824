"""STAND-IN (not committed): the polling schedule, until openai-core lands."""

from __future__ import annotations

from collections.abc import Callable


def next_poll_delay(
    remote_status: str | None, consecutive_errors: int, *, random: Callable[[], float]
) -> float:
    if consecutive_errors:
        return min(300.0, 5.0 * 2 ** (consecutive_errors - 1)) * (0.5 + 0.5 * random())
    if remote_status == "running":
        return 30.0
    return 60.0


def expected_calls(queued_s: float, running_s: float) -> int:
    return int(2 * (queued_s / 60 + running_s / 30)) + 6
