"""What every training backend offers: check a run, launch it, act on it, pick it up again later.

A backend turns a job config into a run in the `RunStore` and keeps that run's event log going:
the local backend through a detached training process, a remote one (OpenAI) through a follower
that polls the provider. Everything above this interface (the Jobs section, `ftui train`) speaks
only these methods, and asks `capabilities` before offering an action, so a second backend is a
second module, not a branch in the UI.

Every method is async: a backend's work is file checks, subprocesses or HTTP, and the UI awaits
it from async workers. Blocking work inside a backend goes through `asyncio.to_thread`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar

from ftui.services.store import StoreError

if TYPE_CHECKING:
    from ftui.config import Config
    from ftui.services.store import Run, RunStore


class LaunchError(StoreError):
    """A run that cannot start, or an action a run cannot take; the message says what to fix."""


class NotSupported(LaunchError):
    """The backend cannot do this at all (see its `capabilities`)."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, so the UI offers only the actions that will work."""

    label: str  # how the UI names the backend ("Local (LoRA / QLoRA)", "OpenAI")
    cancel: bool = False  # stop a running run
    resume: bool = False  # continue a stopped run from its last checkpoint, in the same run
    pause: bool = False  # hold a run and continue it later without a checkpoint round trip
    checkpoint_now: bool = False  # ask a running run to save a checkpoint at once
    run_again: bool = False  # start a new run from a run's config with some settings changed
    local_gpu: bool = False  # trains on this machine's GPUs (the UI shows their use)
    memory_estimate: bool = False  # its plan says how much memory a run needs
    cost_estimate: bool = False  # its plan says what a run costs before it is sent
    needs_api_key: bool = False  # does nothing until a key is configured
    survives_exit: bool = True  # a run goes on when ftui closes

    def names(self) -> list[str]:
        """The capabilities that are on, by field name (for `--json` and the help text)."""
        return [f.name for f in fields(self) if f.type == "bool" and getattr(self, f.name)]


class Plan(Protocol):
    """The outcome of a preflight: what blocks the run, what to know, and the plan to confirm."""

    @property
    def ok(self) -> bool: ...

    @property
    def problems(self) -> list[str]: ...

    @property
    def warnings(self) -> list[str]: ...

    def plan_lines(self) -> list[str]: ...


JobConfigT = TypeVar("JobConfigT")
PlanT = TypeVar("PlanT", bound=Plan)


class TrainingBackend(ABC, Generic[JobConfigT, PlanT]):
    """One way of training: its job config type, its plan type, and the actions on its runs.

    Runs are recorded in `store` under `name` (the run's `backend` field), which is how a run is
    routed back to its backend later (`Services.backend_for(run)`).
    """

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, store: RunStore, config: Config) -> None:
        self.store = store
        self.config = config

    @abstractmethod
    async def preflight(self, job: JobConfigT) -> PlanT:
        """Everything that can be known before the run starts; never starts anything."""

    @abstractmethod
    async def launch(
        self, job: JobConfigT, *, checked: PlanT | None = None, run_id: str | None = None
    ) -> Run:
        """Record the run and start it (after a preflight unless a passing one is given)."""

    @abstractmethod
    async def cancel(self, run_id: str, grace_s: float | None = None) -> Run:
        """Stop the run; returns it in its final state."""

    @abstractmethod
    async def resume(self, run_id: str) -> Run:
        """Continue a stopped run (from its last checkpoint, or the provider's paused state)."""

    @abstractmethod
    async def reattach(self) -> list[Run]:
        """Check every run of this backend that is not finished: return those still going, and
        record as failed those whose process or job is gone without a final status."""

    async def pause(self, run_id: str) -> Run:
        raise NotSupported(f"{self.capabilities.label} runs cannot be paused.")

    async def checkpoint_now(self, run_id: str) -> Run:
        raise NotSupported(f"{self.capabilities.label} runs cannot checkpoint on request.")

    def owned_run(self, run_id: str) -> Run:
        """The run, refused with a clear message when another backend owns it."""
        run = self.store.get_run(run_id)
        if run.backend != self.name:
            raise LaunchError(f"Run {run.id} is a {run.backend} run, not a {self.name} one.")
        return run
