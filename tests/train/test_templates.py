"""ftui's training templates mark exactly the assistant turns (stop token included) on a real
tokenizer, and the template choice explains itself when nothing fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ftui.core.training.chat_templates import (
    TRAINING_TEMPLATES,
    choose_template,
    guess_family,
    marks_generation,
)

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello there!"},
    {"role": "user", "content": "Bye"},
    {"role": "assistant", "content": "Bye."},
]

# What the loss sees for CONVERSATION: each reply and the token that ends it.
EXPECTED_TRAINED = {
    "chatml": "Hello there!<|im_end|>Bye.<|im_end|>",
    "llama-3": "Hello there!<|eot_id|>Bye.<|eot_id|>",
    "mistral": " Hello there!<|im_end|> Bye.<|im_end|>",  # the tiny tokenizer's eos is <|im_end|>
    "gemma": "Hello there!<end_of_turn>Bye.<end_of_turn>",
    "phi-3": "Hello there!<|end|>Bye.<|end|>",
}


def family_tokenizer(tiny_model: Path, name: str) -> Any:
    """The tiny tokenizer with the family's special tokens added, wearing ftui's template."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    template = TRAINING_TEMPLATES[name]
    if template.required_tokens:
        tokenizer.add_special_tokens({"additional_special_tokens": list(template.required_tokens)})
    tokenizer.chat_template = template.source
    return tokenizer


@pytest.mark.parametrize("name", sorted(TRAINING_TEMPLATES))
def test_each_template_trains_on_the_replies_and_their_stop_token(
    tiny_model: Path, name: str
) -> None:
    tokenizer = family_tokenizer(tiny_model, name)
    encoded = tokenizer.apply_chat_template(
        CONVERSATION, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    trained = tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])
    assert trained == EXPECTED_TRAINED[name]
    assert 0 < sum(mask) < len(mask)
    stop = TRAINING_TEMPLATES[name].stop_token or tokenizer.eos_token
    assert tokenizer.decode(ids).count(stop) >= 2


@pytest.mark.parametrize("name", ["mistral", "gemma"])
def test_families_without_a_system_role_fold_it_into_the_first_turn(
    tiny_model: Path, name: str
) -> None:
    text = family_tokenizer(tiny_model, name).apply_chat_template(CONVERSATION, tokenize=False)
    assert "Be brief.\n\nHi" in text
    with pytest.raises(Exception, match="Roles allowed"):
        family_tokenizer(tiny_model, name).apply_chat_template(
            [{"role": "tool", "content": "{}"}, {"role": "assistant", "content": "ok"}],
            tokenize=False,
        )


@pytest.mark.parametrize("name", ["chatml", "llama-3", "gemma", "phi-3"])
def test_generation_prompt_opens_an_assistant_turn(tiny_model: Path, name: str) -> None:
    tokenizer = family_tokenizer(tiny_model, name)
    text = tokenizer.apply_chat_template(
        CONVERSATION[:2], tokenize=False, add_generation_prompt=True
    )
    assert text.rstrip().endswith(("assistant", "<|assistant|>", "model", "<|end_header_id|>"))


def test_every_template_marks_generation() -> None:
    assert all(marks_generation(t.source) for t in TRAINING_TEMPLATES.values())
    assert not marks_generation("{% for m in messages %}{{ m['content'] }}{% endfor %}")


def test_family_is_recognised_from_special_tokens() -> None:
    assert guess_family({"<|im_start|>", "<|im_end|>", "<|endoftext|>"}) == "chatml"
    assert guess_family({"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}) == "llama-3"
    assert guess_family({"<start_of_turn>", "<end_of_turn>"}) == "gemma"
    assert guess_family({"<s>", "</s>"}, model_type="mistral") == "mistral"
    assert guess_family({"<s>", "</s>"}, model_type="gpt2") is None


def test_a_template_without_generation_markers_is_refused_for_assistant_only_loss() -> None:
    own = "{% for m in messages %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}"
    tokens = {"<|im_start|>", "<|im_end|>"}
    refused = choose_template(
        "auto", own_template=own, special_tokens=tokens, assistant_only_loss=True
    )
    assert refused.template is None
    assert refused.problem is not None
    assert "{% generation %}" in refused.problem and "--chat-template chatml" in refused.problem
    accepted = choose_template(
        "auto", own_template=own, special_tokens=tokens, assistant_only_loss=False
    )
    assert accepted.template == own and accepted.problem is None
    ours = choose_template(
        "chatml", own_template=own, special_tokens=tokens, assistant_only_loss=True
    )
    assert ours.template == TRAINING_TEMPLATES["chatml"].source


def test_missing_template_and_wrong_family_say_what_to_do() -> None:
    none = choose_template(
        "auto",
        own_template=None,
        special_tokens={"<s>", "</s>"},
        assistant_only_loss=True,
        model_label="org/base-model",
    )
    assert none.problem is not None
    assert "org/base-model has no chat template" in none.problem
    assert "no ftui template matches" in none.problem
    wrong = choose_template(
        "llama-3", own_template=None, special_tokens={"<|im_start|>"}, assistant_only_loss=True
    )
    assert wrong.problem is not None and "<|eot_id|>" in wrong.problem
    unknown = choose_template(
        "vicuna", own_template=None, special_tokens=set(), assistant_only_loss=True
    )
    assert unknown.problem is not None and "Unknown chat template 'vicuna'" in unknown.problem
