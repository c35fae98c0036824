"""Token counts (offline tiktoken, cookbook formula), model table and cost rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftui.core.pricing.costs import billed_tokens, default_epochs, estimate_cost_usd
from ftui.core.pricing.models import LocalModelError, local_model_limit, openai_model_info
from ftui.core.pricing.tokens import (
    BUNDLED_TIKTOKEN_DIR,
    TokenizerError,
    count_example_tokens,
    encoding_for_model,
    get_encoding,
)


def test_bundled_encodings_load_with_no_cache_dir_set_and_no_network(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    env["DATA_GYM_CACHE_DIR"] = str(tmp_path)  # nothing there: only the bundle can serve it
    env["HTTPS_PROXY"] = env["HTTP_PROXY"] = "http://127.0.0.1:9"  # any download would fail
    code = (
        "from ftui.core.pricing.tokens import get_encoding; import os;"
        "print(len(get_encoding('cl100k_base').encode('hello world')),"
        " len(get_encoding('o200k_base').encode('hello world')), os.environ['TIKTOKEN_CACHE_DIR'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["2", "2", str(BUNDLED_TIKTOKEN_DIR)]


def test_unknown_encoding_is_a_clear_error() -> None:
    with pytest.raises(TokenizerError, match="cl100k_base, o200k_base"):
        get_encoding("no_such_base")


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4.1-nano-2025-04-14", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", "o200k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
    ],
)
def test_encoding_for_model(model: str, encoding: str) -> None:
    assert encoding_for_model(model) == encoding


def test_cookbook_formula_counts_roles_names_and_tool_calls() -> None:
    enc = get_encoding("cl100k_base")

    def n(text: str) -> int:
        return len(enc.encode_ordinary(text))

    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi there", "name": "bob"},
        {"role": "assistant", "content": "Hello.", "weight": 1},
    ]
    expected = 3 + sum(3 + n(m["role"]) + n(m["content"]) for m in messages) + n("bob") + 1
    total, assistant = count_example_tokens(messages, enc)
    assert total == expected
    assert assistant == n("Hello.")
    calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    with_call = [{"role": "assistant", "content": None, "tool_calls": calls}]
    total, assistant = count_example_tokens(with_call, enc)
    serialised = json.dumps(calls, separators=(",", ":"))
    assert total == 3 + 3 + n("assistant") + n(serialised)
    assert assistant == n(serialised)
    untrained = [{"role": "assistant", "content": "x", "weight": 0}]
    assert count_example_tokens(untrained, enc)[1] == 0


@pytest.mark.parametrize(
    ("n", "epochs"),
    [
        (1, 25),
        (4, 25),
        (5, 20),
        (10, 10),
        (33, 3),
        (50, 3),
        (8_333, 3),
        (8_334, 2),
        (17_193, 1),
        (1_000_000, 1),
        (0, 3),
    ],
)
def test_default_epochs_follow_the_cookbook(n: int, epochs: int) -> None:
    assert default_epochs(n) == epochs


def test_billing_clamps_to_the_limit_and_prices_by_the_dated_table() -> None:
    assert billed_tokens([10, 100, 5_000], 1_000, 2) == (10 + 100 + 1_000) * 2
    assert billed_tokens([10, 20], None, 3) == 90
    assert estimate_cost_usd(1_000_000, "gpt-4o-mini-2024-07-18") == pytest.approx(3.0)
    assert estimate_cost_usd(1_000_000, "ft:gpt-4o-2024-08-06:org::x") == pytest.approx(25.0)
    assert estimate_cost_usd(1_000_000, "o4-mini") is None  # billed per hour, not per token
    assert estimate_cost_usd(1_000, "my-own-model") is None
    info = openai_model_info("gpt-3.5-turbo")
    assert info is not None and info.training_context == 16_385


def test_local_model_limit_reads_config_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 4096}))
    assert local_model_limit(tmp_path) == 4096
    nested = tmp_path / "vlm"
    nested.mkdir()
    (nested / "config.json").write_text(json.dumps({"text_config": {"n_positions": 2048}}))
    assert local_model_limit(nested) == 2048
    with pytest.raises(LocalModelError, match=r"no config\.json"):
        local_model_limit(tmp_path / "missing")


def _tiny_local_model(folder: Path) -> Path:
    """A local 'model' directory: a byte-level BPE tokenizer with a chat template + config.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "</s>"])
    tokenizer.train_from_iterator(["hello world, how are you today?"] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>")
    fast.chat_template = (
        "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
    )
    fast.save_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 64}))
    return folder


def test_a_local_model_counts_with_its_own_tokenizer_template_and_limit(tmp_path: Path) -> None:
    from ftui.core.pricing.tokens import LocalTokenCounter
    from ftui.core.validation.validate import ValidationOptions, validate_file

    model = _tiny_local_model(tmp_path / "tiny-model")
    counter = LocalTokenCounter(model)
    messages = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "world"}]
    rendered = "<s>user: hello</s><s>assistant: world</s>"
    total, assistant = counter.count_example(messages)
    assert total == len(counter.tokenizer.encode(rendered, add_special_tokens=False))
    assert assistant == len(counter.tokenizer.encode("world", add_special_tokens=False))
    rows = [
        {
            "messages": [
                {"role": "user", "content": "hello " * n},
                {"role": "assistant", "content": "world"},
            ]
        }
        for n in (1, 40)
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = validate_file(data, ValidationOptions(model=str(model)))
    assert report.billing.token_limit == 64 and report.billing.estimated_cost_usd is None
    assert report.tokens.encoding == "tiny-model tokenizer"
    over = [f for f in report.findings if f.code == "over_token_limit"]
    assert [f.line for f in over] == [2]
    with pytest.raises(TokenizerError, match="no tokenizer"):
        LocalTokenCounter(tmp_path)
