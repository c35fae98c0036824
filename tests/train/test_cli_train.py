"""`ftui model tiny|list` and `ftui train local|again` from the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_helpers import ChatData, make_rows, write_jsonl

from ftui.cli import cli
from ftui.config import Config
from ftui.services.store import RunStore

FAST = ["--max-steps", "4", "--device", "cpu", "--no-gradient-checkpointing"]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_model_tiny_builds_a_trainable_model_from_a_dataset(
    tmp_path: Path, app_config: Config
) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", make_rows(20))
    target = app_config.models_dir / "demo-tiny"
    code, output = invoke(
        "model", "tiny", str(target), "--texts", str(data), "--pretrain-steps", "30"
    )
    assert code == 0, output
    assert f"Built a tiny model in {target}" in output
    pretrained = re.search(r"loss (\d+\.\d+) -> (\d+\.\d+)", output)
    assert pretrained is not None, output
    first, last = map(float, pretrained.groups())
    assert last < first - 1  # the words of the texts are learned
    config = json.loads((target / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]) == (
        64,
        2,
        4,
    )
    assert "{%- generation -%}" in (target / "chat_template.jinja").read_text()

    code, output = invoke("model", "tiny", str(target))
    assert code == 1 and "already exists" in output and "--force" in output

    code, output = invoke("model", "list", "--json")
    assert code == 0
    listed = json.loads(output)
    assert [(m["name"], m["source"], m["model_type"]) for m in listed[:1]] == [
        ("demo-tiny", "models", "llama")
    ]


def test_train_local_dry_run_shows_the_plan_and_starts_nothing(
    tiny_model: Path, chat_data: ChatData, store: RunStore
) -> None:
    code, output = invoke(
        "train", "local", str(chat_data.train), "--model", str(tiny_model), "--dry-run",
        "--lora-r", "4", "--target-modules", "q_proj, v_proj", "--quant", "4bit", *FAST,
    )  # fmt: skip
    assert code == 0, output
    assert "r=4 alpha=32" in output and "targets=q_proj,v_proj" in output
    assert "quantization 4bit" in output and "Memory     ~" in output
    assert "4-bit NF4 on a CPU" in output
    assert store.list_runs() == []


def test_train_local_refuses_bad_input_without_starting(
    chat_data: ChatData, tiny_model: Path, store: RunStore, tmp_path: Path
) -> None:
    code, output = invoke(
        "train", "local", str(chat_data.train), "--model", str(tmp_path / "nope"), "--yes", *FAST
    )
    assert code == 2  # not the data: a model that is not there
    assert "does not exist" in output and "Nothing started" in output
    code, output = invoke("train", "local", str(chat_data.train), "--model", str(tiny_model), *FAST)
    assert code == 2 and "add --yes" in output  # a usage error: no terminal to ask on
    code, output = invoke(
        "train", "local", str(chat_data.train), "--model", str(tiny_model), "--lora-alpha", "0"
    )
    assert code == 2 and "lora_alpha must be a whole number" in output
    broken = tmp_path / "broken.jsonl"
    broken.write_text(chat_data.train.read_text().replace("}", "", 1))
    code, output = invoke("train", "local", str(broken), "--model", str(tiny_model), "--yes")
    assert code == 1 and "broken.jsonl, line 1" in output  # errors in the data itself
    assert store.list_runs() == []


@pytest.mark.slow
def test_train_local_wait_json_and_again_with_changes(
    tiny_model: Path, chat_data: ChatData, store: RunStore
) -> None:
    code, output = invoke(
        "train", "local", str(chat_data.train), "--model", str(tiny_model), "--lr", "5e-3",
        "--yes", "--wait", "--json", *FAST,
    )  # fmt: skip
    assert code == 0, output
    run = json.loads(output[output.index("{") :])
    assert run["status"] == "succeeded" and run["backend"] == "local"
    assert run["config"]["max_steps"] == 4 and run["adapter_path"].endswith("adapter")
    assert run["final_metrics"]["train_loss"] > 0

    code, output = invoke("train", "again", run["id"], "--set", "lora_rank=2", "--yes")
    assert code == 2 and "unknown setting(s) lora_rank" in output
    code, output = invoke(
        "train", "again", run["id"], "--set", "lora_r=2", "--set", "max_steps=2", "--yes",
        "--wait", "--json",
    )  # fmt: skip
    assert code == 0, output
    again = json.loads(output[output.index("{") :])
    assert again["id"] != run["id"] and again["status"] == "succeeded"
    assert again["config"]["lora_r"] == 2 and again["config"]["learning_rate"] == 5e-3
    assert [r.id for r in store.list_runs()] == [again["id"], run["id"]]
