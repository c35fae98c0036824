"""Chat templates for training: trl's where trl has one (the plan predicts trl's own choice and its
stop-token check), ftui's own only for families trl lacks, each rendering exactly what the family's
published template renders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ftui.core.training.chat_templates import (
    FTUI,
    TRAINING_TEMPLATES,
    TRL,
    choose_template,
    guess_family,
    marks_generation,
)
from ftui.core.training.stop_token import stop_token_trained
from ftui.core.training.trl_templates import trl_families, trl_templates_dir, trl_training_template

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
    "mistral": "Hello there!<|im_end|>Bye.<|im_end|>",  # the tiny tokenizer's eos is <|im_end|>
}

# The families' published layouts, written out: the reference ftui's templates must reproduce.
# ChatML as SmolLM2 / Yi / OLMo-2 instruct tokenizers render it; Mistral 7B Instruct v0.2 and
# Mixtral 8x7B Instruct v0.1 (strictly alternating user / assistant, no system role; v0.1 of
# Mistral 7B Instruct differs only by a space after each eos).
PUBLISHED = {
    "chatml": (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    ),
    "mistral": (
        "{{ bos_token }}{% for message in messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate "
        "user/assistant/user/assistant/...') }}"
        "{% endif %}{% if message['role'] == 'user' %}"
        "{{ '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
        "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
        "{% endif %}{% endfor %}"
    ),
}
# Special tokens that appear in trl's templates, to give the tiny tokenizer a family's tokens.
FAMILY_TOKENS = re.compile(r"<[|\uff5c][^<>\s'\"]{1,40}?[|\uff5c]>|<(?:start|end)_of_turn>")


def family_tokenizer(tiny_model: Path, name: str) -> Any:
    """The tiny tokenizer with the family's special tokens added, wearing ftui's template."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    template = TRAINING_TEMPLATES[name]
    if template.required_tokens:
        tokenizer.add_special_tokens({"additional_special_tokens": list(template.required_tokens)})
    tokenizer.chat_template = template.source
    return tokenizer


def tokenizer_tokens(tokenizer: Any) -> set[str]:
    return set(tokenizer.all_special_tokens) | {str(t) for t in tokenizer.get_added_vocab()}


@pytest.mark.parametrize("name", sorted(TRAINING_TEMPLATES))
def test_ftui_templates_render_what_the_family_template_renders(
    tiny_model: Path, name: str
) -> None:
    tokenizer = family_tokenizer(tiny_model, name)
    chats = [CONVERSATION[1:], CONVERSATION[1:3], CONVERSATION[1:2]]
    if name == "chatml":  # ChatML has a system role; Mistral's published template refuses one
        chats.append(CONVERSATION)
    for chat in chats:
        for prompt in (False, True):
            ours = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=prompt)
            theirs = tokenizer.apply_chat_template(
                chat, tokenize=False, add_generation_prompt=prompt, chat_template=PUBLISHED[name]
            )
            assert ours == theirs, (chat, prompt)


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


@pytest.mark.parametrize("name", ["mistral"])
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


def test_every_template_marks_generation() -> None:
    assert all(marks_generation(t.source) for t in TRAINING_TEMPLATES.values())
    assert not marks_generation("{% for m in messages %}{{ m['content'] }}{% endfor %}")


def test_family_is_recognised_from_special_tokens() -> None:
    assert guess_family({"<|im_start|>", "<|im_end|>", "<|endoftext|>"}) == "chatml"
    assert guess_family({"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}) is None
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
    assert "not one of the published templates trl has a training variant of" in refused.problem
    accepted = choose_template(
        "auto", own_template=own, special_tokens=tokens, assistant_only_loss=False
    )
    assert accepted.template == own and accepted.problem is None
    ours = choose_template(
        "chatml", own_template=own, special_tokens=tokens, assistant_only_loss=True
    )
    assert ours.template == TRAINING_TEMPLATES["chatml"].source
    assert ours.origin == FTUI and ours.set_on_tokenizer and ours.stop_trained is True


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
    assert "neither trl nor ftui has a training template" in none.problem
    assert "llama3" in none.problem and "chatml" in none.problem
    wrong = choose_template(
        "chatml", own_template=None, special_tokens={"<s>"}, assistant_only_loss=True
    )
    assert wrong.problem is not None and "<|im_end|>" in wrong.problem
    retired = choose_template(
        "llama-3", own_template=None, special_tokens=set(), assistant_only_loss=True
    )
    assert retired.problem is not None and "trl ships the training template" in retired.problem
    unknown = choose_template(
        "vicuna", own_template=None, special_tokens=set(), assistant_only_loss=True
    )
    assert unknown.problem is not None and "Unknown chat template 'vicuna'" in unknown.problem


def trl_pairs() -> list[tuple[Path, Path]]:
    folder = trl_templates_dir()
    assert folder is not None, "the training stack includes trl"
    pairs = [(folder / f"{t.name.removesuffix('_training.jinja')}.jinja", t)
             for t in sorted(folder.glob("*_training.jinja"))]  # fmt: skip
    assert len(pairs) >= 25
    return pairs


def test_the_plan_predicts_the_template_trl_swaps_in(tiny_model: Path) -> None:
    """For every published template trl knows, ftui (reading files, no trl import) names the same
    training template that trl's own function returns."""
    from transformers import AutoTokenizer
    from trl.chat_template_utils import get_training_chat_template

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    for original, training in trl_pairs():
        tokenizer.chat_template = original.read_text(encoding="utf-8")
        predicted = trl_training_template(tokenizer.chat_template)
        assert predicted is not None and predicted.path == training
        assert predicted.source == get_training_chat_template(tokenizer), original.name
    assert trl_training_template(TRAINING_TEMPLATES["chatml"].source) is None
    assert "llama3" in trl_families() and "qwen2_5" in trl_families()


def test_the_stop_token_prediction_agrees_with_trls_check(tiny_model: Path) -> None:
    """ftui's text-only check says what trl's token-level check says, on each of trl's training
    templates, ftui's own, and a template that leaves the end-of-turn token out."""
    from transformers import AutoTokenizer
    from trl.chat_template_utils import is_chat_template_stop_token_trained

    leaky = TRAINING_TEMPLATES["chatml"].source.replace(
        "{%- generation -%}{{- message['content'] + '<|im_end|>' -}}{%- endgeneration -%}",
        "{%- generation -%}{{- message['content'] -}}{%- endgeneration -%}{{- '<|im_end|>' -}}",
    )
    templates = [t.read_text(encoding="utf-8") for _, t in trl_pairs()]
    templates += [t.source for t in TRAINING_TEMPLATES.values()] + [leaky]
    agreed = 0
    for source in templates:
        tokenizer = AutoTokenizer.from_pretrained(tiny_model)
        tokenizer.add_special_tokens(
            {"additional_special_tokens": sorted(set(FAMILY_TOKENS.findall(source)))}
        )
        ours = stop_token_trained(
            source,
            special_tokens=tokenizer_tokens(tokenizer),
            bos_token=tokenizer.bos_token,
            eos_token=tokenizer.eos_token,
        )
        if ours is None:  # a vision template that wants typed content: unknown, not wrong
            continue
        assert ours == is_chat_template_stop_token_trained(tokenizer, chat_template=source)
        agreed += 1
    assert agreed >= len(templates) - 3
    assert stop_token_trained(leaky, special_tokens={"<|im_end|>"}) is False


def test_a_published_template_trl_knows_is_trained_with_trls_variant() -> None:
    folder = trl_templates_dir()
    assert folder is not None
    published = (folder / "qwen2_5.jinja").read_text(encoding="utf-8")
    chosen = choose_template(
        "auto",
        own_template=published,
        special_tokens={"<|im_start|>", "<|im_end|>", "<|endoftext|>"},
        assistant_only_loss=True,
    )
    assert chosen.problem is None and chosen.origin == TRL and not chosen.set_on_tokenizer
    assert chosen.label == "trl's qwen2_5_training.jinja"
    assert chosen.template == (folder / "qwen2_5_training.jinja").read_text(encoding="utf-8")
    assert chosen.stop_trained is True
    assert "the model learns to stop" in chosen.describe(True)
    whole = choose_template(
        "auto", own_template=published, special_tokens=set(), assistant_only_loss=False
    )
    assert whole.template == published and "loss on every token" in whole.describe(False)
