"""From a spec to a model: `open_model("run:abc123", config=config, store=store)`.

- `openai:MODEL`: OpenAI's API with the `[openai]` settings (key, base URL, organization,
  project); no key is an error at once, not at the first call.
- `openai-compatible:URL#MODEL`: that server, with the key in FTUI_JUDGE_API_KEY, else "none"
  (servers on your own machine want none, the SDK wants one). The OpenAI key goes only to the
  OpenAI API's own host (or the `[openai] base_url` one): never to a URL a spec merely names.
- `local:PATH[+ADAPTER]`: a `LocalChatModel` (a generation worker process; imported lazily).
- `run:ID` (an id or a unique prefix): the model the run made. An OpenAI run: its fine-tuned
  model (`ft:...`) through `openai:`; a local run: its adapter on its base model through `local:`.
  A run without a model yet is an error that says so.

A run resolves to the spec of what it made (`model.spec`: `openai:ft:...` or
`local:BASE+ADAPTER`, the canonical name a cache can key on) while `model.label` keeps
`run:<id>`, which is what the user picked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ftui.services.inference.base import ChatModel, InferenceError
from ftui.services.inference.spec import ModelSpec, parse_spec

if TYPE_CHECKING:
    from ftui.config import Config
    from ftui.services.store import Run, RunStore

NO_KEY = "none"
SPEC_PREFIXES = ("openai:", "openai-compatible:", "local:", "run:")
COMPATIBLE_KEY_ENV = "FTUI_JUDGE_API_KEY"


def open_model(
    spec: ModelSpec | str,
    *,
    config: Config,
    store: RunStore | None = None,
    environ: Mapping[str, str] | None = None,
    label: str | None = None,
) -> ChatModel:
    """The chat model `spec` names. SpecError (a ValueError) for a spec that names none,
    InferenceError for one that cannot be used (no key, unknown run, a run with no model)."""
    if isinstance(spec, str):
        spec = parse_spec(spec)
    environ = os.environ if environ is None else environ
    if spec.kind == "openai":
        return _openai(spec, config, label)
    if spec.kind == "openai-compatible":
        return _compatible(spec, config, environ, label)
    if spec.kind == "local":
        return _local(spec, label)
    return _run(spec, config, store, label)


def default_judge_spec(config: Config) -> str | None:
    """The judge the `[judge]` settings name: `model` on its `base_url` (an OpenAI-compatible
    server) or on OpenAI's API; None when no judge model is set."""
    model = config.judge.model
    if not model:
        return None
    if model.startswith(SPEC_PREFIXES):
        return model  # a spec already: it says where it runs
    if config.judge.base_url:
        return f"openai-compatible:{config.judge.base_url}#{model}"
    return f"openai:{model}"


def _openai(spec: ModelSpec, config: Config, label: str | None) -> ChatModel:
    from ftui.services.backends.openai_client import DEFAULT_BASE_URL, HOW_TO_SET_KEY
    from ftui.services.inference.openai_compat import OpenAICompatibleModel

    settings = config.openai
    if not settings.api_key:
        raise InferenceError(
            f"{label or spec.text} needs an OpenAI API key and none is configured. "
            + HOW_TO_SET_KEY,
            model=label or spec.text,
        )
    return OpenAICompatibleModel(
        spec,
        base_url=settings.base_url or DEFAULT_BASE_URL,
        api_key=settings.api_key,
        organization=settings.organization,
        project=settings.project,
        label=label,
    )


def _compatible(
    spec: ModelSpec, config: Config, environ: Mapping[str, str], label: str | None
) -> ChatModel:
    from urllib.parse import urlsplit

    from ftui.services.backends.openai_client import DEFAULT_BASE_URL
    from ftui.services.inference.openai_compat import OpenAICompatibleModel

    assert spec.base_url is not None
    key = environ.get(COMPATIBLE_KEY_ENV) or NO_KEY
    openai_hosts = {
        urlsplit(url).netloc for url in (DEFAULT_BASE_URL, config.openai.base_url) if url
    }
    if key == NO_KEY and urlsplit(spec.base_url).netloc in openai_hosts:
        key = config.openai.api_key or environ.get("OPENAI_API_KEY") or NO_KEY
    return OpenAICompatibleModel(spec, base_url=spec.base_url, api_key=key, label=label)


def _local(spec: ModelSpec, label: str | None) -> ChatModel:
    from ftui.services.inference.local import LocalChatModel

    return LocalChatModel(spec, label=label)


def _run(
    spec: ModelSpec,
    config: Config,
    store: RunStore | None,
    label: str | None,
) -> ChatModel:
    from ftui.services.store import StoreError

    if store is None:
        raise InferenceError(
            f"{spec.text} names a run, and no run history was given to look it up in.",
            model=spec.text,
        )
    assert spec.run_id is not None
    try:
        run = store.get_run(spec.run_id)
    except StoreError as exc:
        raise InferenceError(f"{spec.text}: {exc}.", model=spec.text) from None
    label = label or f"run:{run.id}"
    resolved = run_model_spec(run, config)
    if resolved.kind == "openai":
        return _openai(resolved, config, label)
    return _local(resolved, label)


def run_model_spec(run: Run, config: Config) -> ModelSpec:
    """The spec of the model `run` made: `openai:ft:...` or `local:BASE+ADAPTER`.
    InferenceError when it made none (yet), or its files are gone."""
    if run.backend == "openai" or run.remote_job_id:
        model = run.fine_tuned_model or run.output_model
        if not model:
            raise _no_model_yet(run)
        return parse_spec(f"openai:{model}")
    if not run.adapter_path:
        raise _no_model_yet(run)
    adapter = Path(run.adapter_path)
    if not adapter.is_absolute():
        adapter = run.run_dir / adapter
    if not adapter.exists():
        raise InferenceError(
            f"run {run.id}'s adapter {adapter} is missing: its files were moved or deleted. "
            "Pass it as local:BASE+ADAPTER if it lives elsewhere now.",
            model=f"run:{run.id}",
        )
    base = _base_model_dir(run, config)
    return ModelSpec(
        "local", f"local:{base}+{adapter}", path=str(base), adapter=str(adapter), run_id=run.id
    )


def _base_model_dir(run: Run, config: Config) -> Path:
    from ftui.core.training.model_files import ModelNotFound, resolve_model

    try:
        return resolve_model(run.base_model, config.models_dir)
    except ModelNotFound as exc:
        raise InferenceError(
            f"run {run.id}'s base model cannot be found: {exc}", model=f"run:{run.id}"
        ) from None


def _no_model_yet(run: Run) -> InferenceError:
    what = "no model to judge yet"
    if run.status == "failed":
        why = f" ({run.error})" if run.error else ""
        message = f"run {run.id} failed{why}: it made no model to judge."
    elif run.status == "cancelled":
        message = f"run {run.id} was cancelled before it made a model: there is nothing to judge."
    elif run.is_terminal:
        message = f"run {run.id} is {run.status} but recorded no model: {what}."
    else:
        message = (
            f"run {run.id} has not finished: {what} (it is {run.status}; "
            f"`ftui runs watch {run.id}` follows it)."
        )
    return InferenceError(message, model=f"run:{run.id}")
