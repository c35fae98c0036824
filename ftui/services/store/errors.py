"""What the store raises: problems the user can act on, each message saying what to do."""

from __future__ import annotations


class StoreError(Exception):
    """A problem the user can act on; the message says what and what to do."""


class RunNotFound(StoreError, LookupError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run matches {run_id!r} (see `ftui runs list`)")
        self.run_id = run_id


class AmbiguousRunId(StoreError, LookupError):
    def __init__(self, prefix: str, candidates: list[str]) -> None:
        shown = ", ".join(candidates[:5]) + (", ..." if len(candidates) > 5 else "")
        super().__init__(f"{prefix!r} matches several runs ({shown}); type more of the id")
        self.prefix = prefix
        self.candidates = candidates


class DatasetNotFound(StoreError, FileNotFoundError):
    pass


class RunActive(StoreError):
    pass
