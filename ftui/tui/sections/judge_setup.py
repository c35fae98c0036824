"""What the Judge form asks for, checked: `check_setup(values)` -> a `JudgeSetup`, or the
problems by field (each says what is wrong and what to do); and what a run of the history fills
in (`run_prefill`). No widgets here: the form reads its fields into a dict and shows the problems
beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ftui.services.inference.spec import parse_spec

if TYPE_CHECKING:
    from ftui.config import Config
    from ftui.services.store import Run

# The form's fields: (name, label, placeholder).
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("a", "Model A (baseline)", "openai:MODEL · openai-compatible:URL#MODEL · local:PATH · run:ID"),
    ("b", "Model B (under test)", "the model you trained, e.g. run:ID"),
    ("eval_set", "Eval set", "chat JSONL: the prompts and their reference answers"),
    ("judge", "Judge", "a model spec; empty: metrics only, no LLM judge"),
    ("temperature", "Temperature", "0 to 2 (both models)"),
    ("max_tokens", "Max tokens", "per answer"),
    ("system", "System prompt", "empty: each example's own; else both models answer with this"),
    ("concurrency", "Concurrency", "calls at once"),
    ("limit", "Limit", "empty: every example"),
    ("budget", "Budget (USD)", "empty: no cap (only OpenAI calls are billed)"),
)
DEFAULTS = {"temperature": "0", "max_tokens": "512", "concurrency": "8"}
JUDGE_MAX_TOKENS = 1024  # room for the judge's short explanation and its verdict


@dataclass(frozen=True)
class JudgeSetup:
    a: str
    b: str
    eval_set: Path
    judge: str | None
    temperature: float
    max_tokens: int
    concurrency: int
    limit: int | None
    budget_usd: float | None
    rubric: str
    system_prompt: str | None = None


def _number(
    problems: dict[str, str],
    name: str,
    text: str,
    kind: type[int] | type[float],
    *,
    low: float,
    high: float | None = None,
    what: str,
) -> float | None:
    text = text.strip()
    try:
        value = kind(text)
    except ValueError:
        problems[name] = f"{text!r} is not a number: give {what}."
        return None
    if value < low or (high is not None and value > high):
        problems[name] = f"{text} is out of range: give {what}."
        return None
    return value


def check_setup(values: dict[str, str], rubric: str) -> tuple[JudgeSetup | None, dict[str, str]]:
    """The setup the form's values describe, or None and what is wrong, field by field."""
    problems: dict[str, str] = {}
    specs: dict[str, str] = {}
    for name, label in (("a", "model A"), ("b", "model B"), ("judge", "the judge")):
        text = values.get(name, "").strip()
        if not text:
            if name != "judge":
                problems[name] = f'Give {label} as a spec, or pick a run in "From the history".'
            continue
        try:
            specs[name] = parse_spec(text).text
        except ValueError as exc:
            problems[name] = str(exc)
    if specs.get("a") and specs.get("a") == specs.get("b"):
        problems["b"] = "Model B is model A: give two different models to compare."
    eval_text = values.get("eval_set", "").strip()
    eval_path = Path(eval_text).expanduser() if eval_text else None
    if eval_path is None:
        problems["eval_set"] = "Give the path of a chat JSONL file (a run's validation data)."
    elif not eval_path.is_file():
        problems["eval_set"] = f"{eval_path} is not a file: give the path of a chat JSONL file."
    temperature = _number(
        problems,
        "temperature",
        values.get("temperature", ""),
        float,
        low=0,
        high=2,
        what="a temperature from 0 to 2",
    )
    max_tokens = _number(
        problems,
        "max_tokens",
        values.get("max_tokens", ""),
        int,
        low=1,
        what="a whole number of tokens, 1 or more",
    )
    concurrency = _number(
        problems,
        "concurrency",
        values.get("concurrency", ""),
        int,
        low=1,
        high=256,
        what="a whole number of calls at once, 1 to 256",
    )
    limit: float | None = None
    if values.get("limit", "").strip():
        limit = _number(
            problems,
            "limit",
            values["limit"],
            int,
            low=1,
            what="a whole number of examples, 1 or more (or nothing for all)",
        )
    budget: float | None = None
    if values.get("budget", "").strip():
        budget = _number(
            problems,
            "budget",
            values["budget"],
            float,
            low=0,
            what="dollars, 0 or more (or nothing for no cap)",
        )
    if specs.get("judge") and not rubric.strip():
        problems["rubric"] = "The rubric is empty: write how the judge should compare answers."
    if problems:
        return None, problems
    assert eval_path is not None and temperature is not None
    assert max_tokens is not None and concurrency is not None
    return (
        JudgeSetup(
            a=specs["a"],
            b=specs["b"],
            eval_set=eval_path,
            judge=specs.get("judge"),
            temperature=float(temperature),
            max_tokens=int(max_tokens),
            concurrency=int(concurrency),
            limit=int(limit) if limit is not None else None,
            budget_usd=budget,
            rubric=rubric,
            system_prompt=values.get("system", "").strip() or None,
        ),
        {},
    )


def base_spec(run: Run, config: Config) -> str:
    """Model A for judging `run`: the model it started from, as a spec."""
    if run.backend == "openai" or run.remote_job_id:
        return f"openai:{run.base_model}"
    from ftui.core.training.model_files import ModelNotFound, resolve_model

    try:
        return f"local:{resolve_model(run.base_model, config.models_dir)}"
    except ModelNotFound:
        return f"local:{run.base_model}"


@dataclass(frozen=True)
class RunPrefill:
    run_id: str
    a: str
    b: str
    eval_set: str  # "" when the run has no validation data
    note: str | None  # what to know (no validation data, not finished...)


def run_prefill(run: Run, config: Config) -> RunPrefill:
    """What "Judge this run" fills in: the run's base as A, the run as B, its validation data."""
    notes: list[str] = []
    record = run.validation_dataset
    eval_set = str(record.path) if record is not None else ""
    if not eval_set:
        notes.append(
            f"Run {run.id} has no validation data: give an eval set (chat JSONL held out from "
            "training)."
        )
    if not run.is_terminal:
        notes.append(f"Run {run.id} is {run.status}: it can be judged once it has made a model.")
    elif run.status != "succeeded":
        notes.append(f"Run {run.id} {run.status}: it may have no model to judge.")
    return RunPrefill(
        run.id, base_spec(run, config), f"run:{run.id}", eval_set, " ".join(notes) or None
    )
