"""ftui's training-compatible chat templates, and the checks that decide whether one is needed.

Training always renders examples with a Jinja chat template, never a hand-written prompt format.
The tokenizer's own template is used when it can do the job. Assistant-only loss needs a template
that wraps each assistant turn in `{% generation %}...{% endgeneration %}` (transformers builds the
loss mask from it), and most published templates lack those markers, so ftui ships its own for the
common model families. Each keeps the family's exact special tokens and puts the end-of-turn token
inside the generation block, so the model learns to stop.

Pure text: the app checks a model before launch by reading its files, and the training process
checks the loaded tokenizer with the same functions.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

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

_LLAMA3 = """\
{{- bos_token -}}
{%- for message in messages -%}
{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' -}}
{%- if message['role'] == 'assistant' -%}
{%- generation -%}{{- message['content'] | trim + '<|eot_id|>' -}}{%- endgeneration -%}
{%- else -%}
{{- message['content'] | trim + '<|eot_id|>' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
{%- endif -%}
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
{%- generation -%}{{- ' ' + message['content'] + eos_token -}}{%- endgeneration -%}
{%- else -%}
{{- raise_exception('Roles allowed: system, user, assistant; not ' + message['role']) -}}
{%- endif -%}
{%- endfor -%}
"""
)

_GEMMA = (
    _SYSTEM_PREFIX
    + """\
{{- bos_token -}}
{%- for message in loop_messages -%}
{%- if message['role'] == 'user' -%}
{%- if loop.first and ns.system -%}
{{- '<start_of_turn>user\\n' + ns.system + '\\n\\n' -}}
{{- message['content'] | trim + '<end_of_turn>\\n' -}}
{%- else -%}
{{- '<start_of_turn>user\\n' + message['content'] | trim + '<end_of_turn>\\n' -}}
{%- endif -%}
{%- elif message['role'] == 'assistant' -%}
{{- '<start_of_turn>model\\n' -}}
{%- generation -%}{{- message['content'] | trim + '<end_of_turn>' -}}{%- endgeneration -%}
{{- '\\n' -}}
{%- else -%}
{{- raise_exception('Roles allowed: system, user, assistant; not ' + message['role']) -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}
"""
)

_PHI3 = """\
{%- for message in messages -%}
{%- if message['role'] == 'assistant' -%}
{{- '<|assistant|>\\n' -}}
{%- generation -%}{{- message['content'] + '<|end|>' -}}{%- endgeneration -%}
{{- '\\n' -}}
{%- else -%}
{{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}
"""


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
            "Qwen 1.5/2/2.5/3, Yi, SmolLM, OLMo-2 instruct and other ChatML models",
            _CHATML,
            ("<|im_start|>", "<|im_end|>"),
            "<|im_end|>",
        ),
        TrainingTemplate(
            "llama-3",
            "Llama 3, 3.1, 3.2, 3.3",
            _LLAMA3,
            ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
            "<|eot_id|>",
        ),
        TrainingTemplate("mistral", "Mistral, Mixtral (the [INST] format)", _MISTRAL, (), None),
        TrainingTemplate(
            "gemma",
            "Gemma, Gemma 2, Gemma 3 (text)",
            _GEMMA,
            ("<start_of_turn>", "<end_of_turn>"),
            "<end_of_turn>",
        ),
        TrainingTemplate(
            "phi-3",
            "Phi-3, Phi-3.5",
            _PHI3,
            ("<|user|>", "<|assistant|>", "<|end|>"),
            "<|end|>",
        ),
    )
}

AUTO = "auto"  # the tokenizer's own template


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

    template: str | None  # the Jinja source to train with
    name: str  # "auto" (the tokenizer's own) or a TRAINING_TEMPLATES key
    problem: str | None = None


def choose_template(
    choice: str,
    *,
    own_template: str | None,
    special_tokens: Collection[str],
    assistant_only_loss: bool,
    model_type: str | None = None,
    model_label: str = "this model",
) -> TemplateChoice:
    """Decide which chat template trains this model; `problem` says what to do when none fits."""
    if choice != AUTO:
        template = TRAINING_TEMPLATES.get(choice)
        if template is None:
            names = ", ".join(TRAINING_TEMPLATES)
            return TemplateChoice(
                None, choice, f"Unknown chat template {choice!r}: choose auto or one of {names}."
            )
        missing = [t for t in template.required_tokens if t not in set(special_tokens)]
        if missing:
            return TemplateChoice(
                None,
                choice,
                f"The {choice!r} template needs the special tokens {', '.join(missing)}, which "
                f"the tokenizer of {model_label} does not have: it is not a {template.families} "
                "tokenizer. Pick the template of the model's family, or auto.",
            )
        return TemplateChoice(template.source, choice)

    family = guess_family(special_tokens, model_type)
    offer = (
        f"ftui's training-compatible {family!r} template fits this tokenizer: choose it "
        f"(--chat-template {family})"
        if family
        else "no ftui template matches its special tokens "
        f"({', '.join(TRAINING_TEMPLATES)} are available), so use a model whose tokenizer "
        "has a chat template"
    )
    if not own_template:
        return TemplateChoice(
            None,
            AUTO,
            f"The tokenizer of {model_label} has no chat template, and ftui renders training "
            f"examples only with a real chat template; {offer}.",
        )
    if assistant_only_loss and not marks_generation(own_template):
        return TemplateChoice(
            None,
            AUTO,
            f"The chat template of {model_label} does not mark assistant turns with "
            "{% generation %}, which assistant-only loss needs; "
            f"{offer}, or turn assistant-only loss off (--no-assistant-only-loss).",
        )
    return TemplateChoice(own_template, AUTO)
