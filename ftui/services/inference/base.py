"""PLACEHOLDER until the `inference` branch lands: the chat-model interface."""

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


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


class ChatModel(Protocol):
    spec: ModelSpec
    label: str

    async def complete(
        self, messages: Sequence[Mapping[str, str]], sampling: Sampling
    ) -> Completion: ...

    async def list_models(self) -> list[str]: ...

    async def aclose(self) -> None: ...


class InferenceError(Exception):
    """A model could not answer: the message says which model, what happened, what to do."""

    def __init__(
        self, message: str, *, model: str | None = None, status: int | None = None,
        retryable: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.model = model
        self.status = status
        self.retryable = retryable
