"""Will the model learn to stop? Whether a training template puts the end-of-turn token in the loss.

A template can mark assistant turns with `{% generation %}` and still leave the token that ends a
turn outside the marked span (it is then attributed to the next message), so the loss never
teaches the model to stop and it rambles at inference, while the training loss looks healthy.
trl checks this when training starts (`is_chat_template_stop_token_trained`); this module gives the
same answer before launch, from text: it renders a user / assistant / user exchange with the
markers turned into sentinels and looks at how the assistant's marked span ends, as trl looks at
the last masked token.

Rendering needs jinja2, which comes with transformers; without it the answer is None (unknown).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

_OPEN, _CLOSE = "\x02", "\x03"
_GENERATION = re.compile(r"{%(-?)\s*generation\s*(-?)%}")
_END_GENERATION = re.compile(r"{%(-?)\s*endgeneration\s*(-?)%}")
PROBE = (
    {"role": "user", "content": "dummy"},
    {"role": "assistant", "content": "dummy"},
    {"role": "user", "content": "dummy"},
)


def _raise(message: str) -> None:
    raise ValueError(message)


def _with_sentinels(template: str) -> str:
    """The template with its generation markers printing sentinels (whitespace control kept)."""
    template = _GENERATION.sub(lambda m: "{{" + m[1] + f" '{_OPEN}' " + m[2] + "}}", template)
    return _END_GENERATION.sub(lambda m: "{{" + m[1] + f" '{_CLOSE}' " + m[2] + "}}", template)


def render_marked(template: str, *, bos_token: str = "", eos_token: str = "") -> str | None:
    """The probe exchange rendered with the marked spans between sentinels; None when it cannot
    be rendered here (no jinja2, or a template that needs more than the probe gives it)."""
    try:
        from jinja2.exceptions import TemplateError
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        return None
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: "01 Jan 2026"
    context: dict[str, Any] = {
        "messages": [dict(m) for m in PROBE],
        "bos_token": bos_token,
        "eos_token": eos_token,
        "add_generation_prompt": False,
    }
    try:
        return env.from_string(_with_sentinels(template)).render(**context)
    except (TemplateError, ValueError, TypeError, AttributeError, KeyError):
        return None


def stop_token_trained(
    template: str, *, special_tokens: Collection[str], bos_token: str = "", eos_token: str = ""
) -> bool | None:
    """True when the assistant's marked span ends, whitespace aside, on one of the tokenizer's
    special (added) tokens; False when it ends on content or nothing is marked; None: unknown."""
    rendered = render_marked(template, bos_token=bos_token, eos_token=eos_token)
    if rendered is None:
        return None
    spans = re.findall(f"{_OPEN}(.*?){_CLOSE}", rendered, flags=re.DOTALL)
    marked = "".join(spans).rstrip()
    if not marked:
        return False
    return any(token and marked.endswith(token) for token in special_tokens)
