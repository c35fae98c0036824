"""Which chat template renders a run's training examples, decided before launch, from text.

Training always renders examples with a Jinja chat template, never a hand-written prompt format.
Assistant-only loss needs a template that wraps each assistant turn in
`{% generation %}...{% endgeneration %}` (transformers builds the loss mask from it), and most
published templates lack those markers. In that order:

1. the tokenizer's own template, when it has the markers (or when the loss is on every token);
2. trl's training variant of it, when trl ships one for this exact template (about thirty
   families: Llama 3, Qwen 2.5 / 3, Gemma, Phi-3, DeepSeek, ...; see trl_templates.py): trl's
   `SFTTrainer` swaps it in by itself, and the plan names the file;
3. ftui's own, only for families trl lacks (generic ChatML, Mistral's [INST] format), chosen with
   `chat_template`; each renders exactly what the family's published template renders, plus the
   markers around the reply and its end-of-turn token.

Pure text: the app checks a model before launch by reading its files, and the training process
checks the loaded tokenizer with the same functions.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ftui.core.training.stop_token import stop_token_trained
from ftui.core.training.trl_templates import trl_families, trl_training_template

_GENERATION_TAG = re.compile(r"{%-?\s*generation\s*-?%}")

# Split off a leading system message; families without a system role fold it into the first turn.
_SYSTEM_PREFIX = """\
{%- set ns = namespace(system='') -%}
{%- if messages and messages[0]['role'] == 'system' -%}
{%- set ns.system = messages[0]['content'] -%}
{%- set loop_messages = messages[1:] -%}
{%- else -%}
{%- set loop_messages = messages -%}
{%- endif -%}
"""

_CHATML = """\
{%- for message in messages -%}
{%- if message['role'] == 'assistant' -%}
{{- '<|im_start|>assistant\\n' -}}
{%- generation -%}{{- message['content'] + '<|im_end|>' -}}{%- endgeneration -%}
{{- '\\n' -}}
{%- else -%}
{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}
"""

_MISTRAL = (
    _SYSTEM_PREFIX
    + """\
{{- bos_token -}}
{%- for message in loop_messages -%}
{%- if message['role'] == 'user' -%}
{%- if loop.first and ns.system -%}
{{- '[INST] ' + ns.system + '\\n\\n' + message['content'] + ' [/INST]' -}}
{%- else -%}
{{- '[INST] ' + message['content'] + ' [/INST]' -}}
{%- endif -%}
{%- elif message['role'] == 'assistant' -%}
{%- generation -%}{{- message['content'] + eos_token -}}{%- endgeneration -%}
{%- else -%}
{{- raise_exception('Roles allowed: system, user, assistant; not ' + message['role']) -}}
{%- endif -%}
{%- endfor -%}
"""
)


@dataclass(frozen=True)
class TrainingTemplate:
    name: str
    families: str  # who uses this format, for the picker
    source: str
    required_tokens: tuple[str, ...]  # special tokens the tokenizer must already have
    stop_token: str | None  # the end-of-turn token a generation must stop on (None: eos)


TRAINING_TEMPLATES: dict[str, TrainingTemplate] = {
    t.name: t
    for t in (
        TrainingTemplate(
            "chatml",
            "ChatML models (SmolLM, Yi, OLMo-2 instruct, ...) whose template trl does not ship",
            _CHATML,
            ("<|im_start|>", "<|im_end|>"),
            "<|im_end|>",
        ),
        TrainingTemplate(
            "mistral",
            "Mistral 7B Instruct v0.2, Mixtral 8x7B Instruct (the [INST] format)",
            _MISTRAL,
            (),
            None,
        ),
    )
}
# Families ftui used to write templates for and trl now covers: an old config naming one is told
# what to choose instead.
RETIRED_TEMPLATES = {
    "llama-3": "Llama 3",
    "gemma": "Gemma and Gemma 3",
    "phi-3": "Phi-3 and Phi-3.5",
}

AUTO = "auto"  # the tokenizer's own template, or trl's training variant of it

OWN = "own"  # the tokenizer's template as it is
TRL = "trl"  # trl's training variant, swapped in by SFTTrainer
FTUI = "ftui"  # one of TRAINING_TEMPLATES, set on the tokenizer by ftui


def marks_generation(template: str) -> bool:
    """True when the template wraps assistant turns in {% generation %} (assistant-only loss)."""
    return bool(_GENERATION_TAG.search(template))


def guess_family(special_tokens: Collection[str], model_type: str | None = None) -> str | None:
    """The ftui template whose special tokens this tokenizer has (or whose family the model is)."""
    tokens = set(special_tokens)
    for template in TRAINING_TEMPLATES.values():
        if template.required_tokens and set(template.required_tokens) <= tokens:
            return template.name
    if (model_type or "").lower() in {"mistral", "mixtral"} or "[INST]" in tokens:
        return "mistral"
    return None


@dataclass(frozen=True)
class TemplateChoice:
    """What will render the training examples, or why nothing suitable can."""

    template: str | None  # the Jinja source the examples are rendered with
    name: str  # "auto" or a TRAINING_TEMPLATES key
    problem: str | None = None
    origin: str = OWN  # OWN, TRL or FTUI
    label: str = "the tokenizer's own"  # what the plan calls it
    stop_trained: bool | None = None  # the end-of-turn token is in the loss (None: unknown)

    @property
    def set_on_tokenizer(self) -> bool:
        """ftui sets its own templates; trl swaps its own in; the tokenizer's stays."""
        return self.origin == FTUI

    def describe(self, assistant_only_loss: bool) -> str:
        """The plan's line: which template, and whether the model learns to stop."""
        if not assistant_only_loss:
            return f"{self.label}, loss on every token (the end-of-turn token included)"
        stop = {
            True: "the end-of-turn token is trained, so the model learns to stop",
            False: "the end-of-turn token is NOT in the loss: the model may not learn to stop",
            None: "whether the end-of-turn token is trained is checked when training starts",
        }[self.stop_trained]
        return f"{self.label}, loss on assistant turns only; {stop}"


def choose_template(
    choice: str,
    *,
    own_template: str | None,
    special_tokens: Collection[str],
    assistant_only_loss: bool,
    model_type: str | None = None,
    model_label: str = "this model",
    bos_token: str = "",
    eos_token: str = "",
    trl_folder: Path | None = None,
) -> TemplateChoice:
    """Decide which chat template trains this model; `problem` says what to do when none fits.

    `trl_folder` is trl's chat_templates folder (default: the installed trl's)."""
    chosen = _choose(
        choice,
        own_template=own_template,
        special_tokens=special_tokens,
        assistant_only_loss=assistant_only_loss,
        model_type=model_type,
        model_label=model_label,
        trl_folder=trl_folder,
    )
    if chosen.template is None or not assistant_only_loss:
        return chosen
    trained = stop_token_trained(
        chosen.template, special_tokens=special_tokens, bos_token=bos_token, eos_token=eos_token
    )
    return dataclasses.replace(chosen, stop_trained=trained)


def _choose(
    choice: str,
    *,
    own_template: str | None,
    special_tokens: Collection[str],
    assistant_only_loss: bool,
    model_type: str | None,
    model_label: str,
    trl_folder: Path | None,
) -> TemplateChoice:
    if choice != AUTO:
        return _ftui_template(choice, special_tokens, model_label)

    family = guess_family(special_tokens, model_type)
    offer = (
        f"ftui's training-compatible {family!r} template fits this tokenizer: choose it "
        f"(--chat-template {family})"
        if family
        else "neither trl nor ftui has a training template for it "
        f"(trl covers {', '.join(trl_families(trl_folder)) or 'nothing: trl is not installed'}; "
        f"ftui adds {', '.join(TRAINING_TEMPLATES)})"
    )
    if not own_template:
        return TemplateChoice(
            None,
            AUTO,
            f"The tokenizer of {model_label} has no chat template, and ftui renders training "
            f"examples only with a real chat template; {offer}.",
        )
    if not assistant_only_loss or marks_generation(own_template):
        label = "the tokenizer's own" + (
            " (with generation markers)" if marks_generation(own_template) else ""
        )
        return TemplateChoice(own_template, AUTO, label=label)
    trl_template = trl_training_template(own_template, trl_folder)
    if trl_template is not None:
        return TemplateChoice(trl_template.source, AUTO, origin=TRL, label=trl_template.label)
    return TemplateChoice(
        None,
        AUTO,
        f"The chat template of {model_label} does not mark assistant turns with "
        "{% generation %}, which assistant-only loss needs, and it is not one of the published "
        f"templates trl has a training variant of; {offer}, or turn assistant-only loss off "
        "(--no-assistant-only-loss).",
    )


def _ftui_template(
    choice: str, special_tokens: Collection[str], model_label: str
) -> TemplateChoice:
    template = TRAINING_TEMPLATES.get(choice)
    if template is None:
        names = ", ".join(TRAINING_TEMPLATES)
        retired = RETIRED_TEMPLATES.get(choice)
        why = (
            f"ftui no longer writes a {choice!r} template: trl ships the training template of "
            f"{retired}, used by itself with auto. Choose auto"
            if retired
            else f"Unknown chat template {choice!r}: choose auto or one of {names}"
        )
        return TemplateChoice(None, choice, f"{why}.")
    missing = [t for t in template.required_tokens if t not in set(special_tokens)]
    if missing:
        return TemplateChoice(
            None,
            choice,
            f"The {choice!r} template needs the special tokens {', '.join(missing)}, which "
            f"the tokenizer of {model_label} does not have: it is not a {template.families} "
            "tokenizer. Pick the template of the model's family, or auto.",
        )
    return TemplateChoice(template.source, choice, origin=FTUI, label=f"ftui's {choice!r}")
