"""What a model is, as the user types it: one line, four forms.

    openai:MODEL                    OpenAI's API: a base model or an `ft:` model
    openai-compatible:URL#MODEL     a server with /v1/chat/completions (vLLM, Ollama, llama.cpp)
    local:PATH[+ADAPTER]            a transformers folder, with a peft adapter on top
    run:ID                          a run from the history (an id or a unique prefix of one)

`parse_spec` is pure and cheap (no network, no file system): the CLI and the pane check a spec
as it is typed. A bad one is a `SpecError` (a ValueError) saying what is wrong and the four forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

SpecKind = Literal["openai", "openai-compatible", "local", "run"]
KINDS: tuple[SpecKind, ...] = ("openai", "openai-compatible", "local", "run")
FORMS = (
    "openai:MODEL, openai-compatible:URL#MODEL (e.g. openai-compatible:http://127.0.0.1:8000/v1"
    "#my-model), local:PATH[+ADAPTER] or run:ID"
)


class SpecError(ValueError):
    """A model spec ftui cannot read; the message says what is wrong and the four forms."""

    def __init__(self, text: str, problem: str) -> None:
        end = "" if problem.endswith((".", "?", "!")) else "."  # a question keeps its own mark
        super().__init__(f"Model spec {text!r}: {problem}{end} Write it as {FORMS}.")
        self.text = text
        self.problem = problem


@dataclass(frozen=True)
class ModelSpec:
    kind: SpecKind
    text: str  # as the user wrote it (stripped)
    model: str | None = None  # openai, openai-compatible
    base_url: str | None = None  # openai-compatible, normalised (ends in /v1 when no path given)
    path: str | None = None  # local
    adapter: str | None = None  # local, optional
    run_id: str | None = None  # run: an id or a unique prefix


def parse_spec(text: str) -> ModelSpec:
    """The spec `text` names; SpecError (a ValueError) when it names none."""
    stripped = text.strip()
    if not stripped:
        raise SpecError(text, "it is empty")
    kind_text, colon, rest = stripped.partition(":")
    kind = kind_text.strip().lower()
    if not colon or kind not in KINDS:
        raise SpecError(stripped, _unknown_kind(stripped, kind if colon else None))
    rest = rest.strip()
    if kind == "openai":
        return _openai(stripped, rest)
    if kind == "openai-compatible":
        return _compatible(stripped, rest)
    if kind == "local":
        return _local(stripped, rest)
    return _run(stripped, rest)


def _unknown_kind(text: str, kind: str | None) -> str:
    if kind is None or kind == "ft":
        # A bare model name ("gpt-4o-mini") or an OpenAI fine-tuned one ("ft:gpt-4o-mini:...").
        return f"it has no kind; did you mean openai:{text}?"
    if kind in ("http", "https"):
        return f"a URL needs its model after '#': did you mean openai-compatible:{text}#MODEL?"
    return f"unknown kind {kind!r} (the kinds are {', '.join(KINDS)})"


def _openai(text: str, model: str) -> ModelSpec:
    if not model:
        raise SpecError(text, "the model name after 'openai:' is missing")
    if any(c.isspace() for c in model):
        raise SpecError(text, f"the model name {model!r} has a space in it")
    return ModelSpec("openai", text, model=model)


def _compatible(text: str, rest: str) -> ModelSpec:
    url, hash_mark, model = rest.partition("#")
    url, model = url.strip(), model.strip()
    if not url:
        raise SpecError(text, "the server's URL after 'openai-compatible:' is missing")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SpecError(text, f"{url!r} is not an http:// or https:// URL with a host")
    if not hash_mark or not model:
        raise SpecError(
            text, "the model name is missing: put it after '#' (the server's /v1/models lists them)"
        )
    base_url = url.rstrip("/")
    if parts.path in ("", "/"):
        # Every such server answers under /v1; a bare host:port would get 404 for every call.
        base_url += "/v1"
    return ModelSpec("openai-compatible", text, model=model, base_url=base_url)


def _local(text: str, rest: str) -> ModelSpec:
    path, plus, adapter = rest.partition("+")
    path, adapter = path.strip(), adapter.strip()
    if not path:
        raise SpecError(text, "the model folder after 'local:' is missing")
    if plus and not adapter:
        raise SpecError(text, "the adapter folder after '+' is missing (or drop the '+')")
    return ModelSpec("local", text, path=path, adapter=adapter or None)


def _run(text: str, run_id: str) -> ModelSpec:
    if not run_id:
        raise SpecError(text, "the run id after 'run:' is missing (see `ftui runs list`)")
    if any(c.isspace() or c in "/\\" for c in run_id):
        raise SpecError(text, f"{run_id!r} is not a run id (see `ftui runs list`)")
    return ModelSpec("run", text, run_id=run_id)


def spec_text(spec: ModelSpec) -> str:
    """The canonical text of a spec: what another `parse_spec` reads back as the same model."""
    if spec.kind == "openai":
        return f"openai:{spec.model}"
    if spec.kind == "openai-compatible":
        return f"openai-compatible:{spec.base_url}#{spec.model}"
    if spec.kind == "local":
        return f"local:{spec.path}" + (f"+{spec.adapter}" if spec.adapter else "")
    return f"run:{spec.run_id}"
