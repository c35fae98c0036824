"""Run statuses: the ones ftui writes, and which of them end a run.

Backends report statuses ftui does not know (OpenAI has undocumented ones, a paused job among
them): a status is a plain string everywhere, and only these are given meaning.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    CREATED = "created"
    QUEUED = "queued"
    VALIDATING = "validating_files"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
# Statuses before the work starts, and those of a run under way (see the reducer's ordering rule).
BEFORE_START = frozenset({RunStatus.CREATED, RunStatus.QUEUED, RunStatus.VALIDATING})
STARTED = frozenset({RunStatus.RUNNING, RunStatus.PAUSED})


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES
