"""PLACEHOLDER until the `inference` branch lands: the ModelSpec of the shared interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ModelSpec:
    kind: Literal["openai", "openai-compatible", "local", "run"]
    text: str
    model: str | None = None
    base_url: str | None = None
    path: str | None = None
    adapter: str | None = None
    run_id: str | None = None


def parse_spec(text: str) -> ModelSpec:
    kind, _, rest = text.partition(":")
    if kind == "local" and rest:
        path, _, adapter = rest.partition("+")
        return ModelSpec("local", text, path=path, adapter=adapter or None)
    if kind == "openai" and rest:
        return ModelSpec("openai", text, model=rest)
    if kind == "openai-compatible" and "#" in rest:
        url, _, model = rest.partition("#")
        return ModelSpec("openai-compatible", text, model=model, base_url=url)
    if kind == "run" and rest:
        return ModelSpec("run", text, run_id=rest)
    raise ValueError(
        f"{text!r} is not a model spec; use openai:MODEL, openai-compatible:URL#MODEL, "
        "local:PATH[+ADAPTER] or run:ID"
    )
