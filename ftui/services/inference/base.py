"""The chat-model interface: one async `complete()` for OpenAI, OpenAI-compatible servers and
local models alike, so the judge (and data generation) never knows which it talks to.

Every call sends one conversation and gets one answer (`n=1`: some servers refuse more), with
the sampling settings always explicit (a server's own defaults differ: vLLM applies the model's
generation_config). Token counts are optional: not every server reports usage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ftui.services.inference.spec import ModelSpec


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0
    max_tokens: int = 512
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.temperature <= 2:
            raise ValueError(f"temperature must be between 0 and 2, not {self.temperature}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {self.max_tokens}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be above 0 and at most 1, not {self.top_p}")


@dataclass(frozen=True)
class Completion:
    text: str
    model: str  # the model that answered, as the server names it
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None  # "stop", "length"... as the server says; None if unsaid


class ChatModel(Protocol):
    spec: ModelSpec
    label: str  # what the user recognises: the spec as typed ("run:abc123", "openai:gpt-4o")

    async def complete(
        self, messages: Sequence[Mapping[str, str]], sampling: Sampling
    ) -> Completion: ...

    async def list_models(self) -> list[str]: ...

    async def aclose(self) -> None: ...


class InferenceError(Exception):
    """A model could not answer: the message says which model, what happened, what to do.

    `status` is the HTTP status when a server answered; `retryable` says whether the same call
    may work later (the service was down or busy through every retry) rather than never."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.model = model
        self.status = status
        self.retryable = retryable
