"""The prompts of data generation: defaults a user may replace with their own text.

A template is plain text with named placeholders in braces (`{scenario}`, `{n}`, `{question}`,
`{k}`); `{{` and `}}` are literal braces. Each step has the placeholders it fills and the ones
its template must use: a template that leaves out a required one (the model would never see the
scenario) or names one the step does not know (a typo) is a `TemplateError` before any call.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass


class TemplateError(ValueError):
    """A prompt template that cannot be filled: what is wrong and what to do."""


@dataclass(frozen=True)
class Step:
    name: str  # "synth-questions", "synth-answer", "paraphrase"
    placeholders: tuple[str, ...]  # what this step fills in
    required: tuple[str, ...]  # what its template must use
    default: str


SYNTH_QUESTIONS = Step(
    "synth-questions",
    placeholders=("scenario", "n"),
    required=("scenario", "n"),
    default=(
        "You write realistic questions that users ask an assistant.\n\n"
        "Scenario: {scenario}\n\n"
        "Write {n} different questions a user in this scenario might ask. Vary their wording, "
        "length and detail; each must stand on its own. Reply with a numbered list, one "
        "question per item, and nothing else."
    ),
)
SYNTH_ANSWER = Step(
    "synth-answer",
    placeholders=("question", "scenario"),
    required=("question",),
    default="{question}",
)
PARAPHRASE = Step(
    "paraphrase",
    placeholders=("question", "k"),
    required=("question", "k"),
    default=(
        "Rewrite the following user message in {k} different ways. Keep its meaning, its "
        "facts and its language; change the wording and the sentence structure.\n\n"
        "Message:\n{question}\n\n"
        "Reply with a numbered list of the {k} rewrites, one per item, and nothing else."
    ),
)
STEPS = {step.name: step for step in (SYNTH_QUESTIONS, SYNTH_ANSWER, PARAPHRASE)}

# Asked once more, as a follow-up turn, when a reply held nothing that could be read.
LIST_NUDGE = (
    "I could not find the list in your reply. Reply with only the items, as a numbered list, "
    "one per line, and nothing else."
)
ANSWER_NUDGE = "Your reply was empty. Please answer the message above."


@dataclass(frozen=True)
class Prompt:
    """A step's template as it will be used: the default or the user's own text."""

    step: Step
    text: str
    name: str  # the step's name for a default, "custom" for the user's text

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def render(self, **values: object) -> str:
        return self.text.format_map({name: values[name] for name in self.step.placeholders})


def placeholders_in(text: str) -> list[str]:
    """The named placeholders of a template, in order; TemplateError for broken braces."""
    try:
        parsed = [
            (field, spec, conversion)
            for _, field, spec, conversion in string.Formatter().parse(text)
            if field is not None
        ]
    except ValueError as exc:
        raise TemplateError(
            f"{exc}; write a literal brace as {{{{ or }}}} and a placeholder as {{name}}"
        ) from None
    for field, spec, conversion in parsed:
        if not field.isidentifier():
            raise TemplateError(
                f"{{{field}}} is not a placeholder name; use one of the names in braces "
                "like {question}, or write a literal brace as {{ or }}"
            )
        if spec or conversion:
            # `{question:d}` passes a check of names and fails at the first call: refuse it now.
            written = (
                field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            )
            raise TemplateError(
                f"{{{written}}} has a format or conversion; a placeholder is its name alone, "
                f"{{{field}}}"
            )
    return [field for field, _, _ in parsed]


def prompt_for(step: Step, text: str | None = None, *, where: str = "the prompt") -> Prompt:
    """The step's prompt from the user's `text` (checked), or its default when None."""
    if text is None:
        return Prompt(step, step.default, step.name)
    if not text.strip():
        raise TemplateError(f"{where} is empty; write the prompt of the {step.name} step in it")
    try:
        used = placeholders_in(text)
    except TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    known = ", ".join("{" + name + "}" for name in step.placeholders)
    unknown = [name for name in dict.fromkeys(used) if name not in step.placeholders]
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        raise TemplateError(
            f"{where} uses {names}, which the {step.name} step does not fill; it knows {known}"
        )
    missing = [name for name in step.required if name not in used]
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        raise TemplateError(f"{where} leaves out {names}: the {step.name} step needs it")
    return Prompt(step, text, "custom")
