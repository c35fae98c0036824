"""`ftui cost` on real datasets: the training tokens are `ftui validate`'s to the token, the mean
request is the cookbook's count of what precedes the last reply, [prices] in the settings file
changes the figures and is named, and every bad input is exit 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tiktoken

from ftui.config import SettingsError, load_config
from ftui.config_file import key_line
from ftui.core.pricing.price_book import PriceOverride
from ftui.core.pricing.tokens import BUNDLED_TIKTOKEN_DIR


def run_ftui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftui", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def cost_json(*args: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    done = run_ftui("cost", *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def oracle_request(path: Path) -> tuple[float, float]:
    """Mean prompt and reply tokens, counted here by the cookbook's formula with tiktoken."""
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(BUNDLED_TIKTOKEN_DIR))
    enc = tiktoken.get_encoding("o200k_base")
    prompts, replies = [], []
    for line in path.read_text().splitlines():
        messages = json.loads(line)["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        prompts.append(
            3
            + sum(
                3 + len(enc.encode(m["role"])) + len(enc.encode(m["content"]))
                for m in messages[:last]
            )
        )
        replies.append(len(enc.encode(messages[last]["content"])))
    return sum(prompts) / len(prompts), sum(replies) / len(replies)


@pytest.mark.parametrize(
    "name",
    [
        "openai-chat/fluid_train.jsonl",
        "openai-chat/toy_chat_fine_tuning.jsonl",
        "sharegpt/glaive_toolcall_en_demo.json",
    ],
)
def test_training_tokens_are_those_ftui_validate_bills(shared_datasets: Path, name: str) -> None:
    path = shared_datasets / name
    validated = json.loads(run_ftui("validate", str(path), "--json").stdout)["billing"]
    cost = cost_json(str(path))
    assert cost["training_tokens"] == validated["billed_tokens"]
    assert cost["epochs"] == validated["epochs"] and cost["epochs_auto"] is True
    assert cost["training_cost_usd"] == pytest.approx(validated["billed_tokens"] * 3.0 / 1e6)


def test_the_mean_request_and_the_monthly_figures(shared_datasets: Path) -> None:
    path = shared_datasets / "openai-chat" / "fluid_train.jsonl"
    prompt, reply = oracle_request(path)
    cost = cost_json(str(path), "--daily-requests", "2000", "--prompt-tokens-saved", "100")
    base, tuned = cost["base"], cost["fine_tuned"]
    assert base["prompt_tokens"] == pytest.approx(prompt, abs=0.01)
    assert base["output_tokens"] == pytest.approx(reply, abs=0.01)
    assert tuned["prompt_tokens"] == pytest.approx(prompt - 100, abs=0.01)
    assert base["monthly_cost_usd"] == pytest.approx(
        30 * 2000 * (prompt * 0.15 + reply * 0.60) / 1e6, rel=1e-4
    )
    assert tuned["monthly_cost_usd"] == pytest.approx(
        30 * 2000 * ((prompt - 100) * 0.30 + reply * 1.20) / 1e6, rel=1e-4
    )
    # The same model at fine-tuned rates: 100 of 178 prompt tokens saved is still not enough.
    assert cost["daily_saving_usd"] < 0 and cost["break_even_day"] is None
    assert "never pays back" in cost["verdict"]


def test_a_dearer_compare_model_breaks_even_and_the_human_table_says_so(
    shared_datasets: Path,
) -> None:
    path = shared_datasets / "openai-chat" / "fluid_train.jsonl"
    cost = cost_json(
        str(path), "--compare-model", "gpt-4o", "--prompt-tokens-saved", "100", "--epochs", "2"
    )
    assert cost["base"]["model"] == "gpt-4o-2024-08-06" and cost["epochs"] == 2
    assert cost["epochs_auto"] is False
    days = cost["training_cost_usd"] / cost["daily_saving_usd"]
    assert cost["break_even_day"] == max(1, -int(-days // 1))
    human = run_ftui("cost", str(path), "--compare-model", "gpt-4o", "--prompt-tokens-saved", "100")
    assert human.returncode == 0
    assert "gpt-4o (compared)" in human.stdout and "Break-even   day " in human.stdout
    assert "OpenAI's published prices of 2025-06-01" in human.stdout


def test_prices_from_the_settings_file_change_the_figures_and_are_named(
    shared_datasets: Path, tmp_path: Path
) -> None:
    settings = tmp_path / "config.toml"
    settings.write_text(
        "[prices]\nas_of = 2025-10-01\n\n[prices.gpt-4o-mini]\ntraining = 1.5\nft_output = 0.9\n"
    )
    path = str(shared_datasets / "openai-chat" / "fluid_train.jsonl")
    cost = cost_json(path, env={"FTUI_CONFIG": str(settings)})
    assert cost["training_usd_per_1m"] == 1.5
    assert (
        cost["fine_tuned"]["output_usd_per_1m"] == 0.9
        and cost["fine_tuned"]["input_usd_per_1m"] == 0.3
    )
    assert cost["prices"]["overrides"] == {"gpt-4o-mini-2024-07-18": ["training", "ft_output"]}
    assert cost["prices"]["overrides_as_of"] == "2025-10-01"

    settings.write_text('[prices."gpt-4o-mini"]\ntraining = 1.5\nft_output = "cheap"\n')
    done = run_ftui("cost", path, env={"FTUI_CONFIG": str(settings)})
    assert done.returncode == 2
    assert f"{settings}, line 3: prices.gpt-4o-mini.ft_output must be a number" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "no such file"),
        (["{fluid}", "--model", "gpt-5"], "known: gpt-4.1-2025-04-14"),
        (["{fluid}", "--model", "o4-mini"], "no per-token training price"),
        (["{fluid}", "--prompt-tokens-saved", "5000"], "cannot exceed the prompt itself"),
        (["{fluid}", "--compare-model", "llama-3"], "no inference price for 'llama-3'"),
        (["{bad}"], "none of its 29 records is a conversation ftui can count"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(
    shared_datasets: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    paths = {
        "missing": str(tmp_path / "absent.jsonl"),
        "fluid": str(shared_datasets / "openai-chat" / "fluid_train.jsonl"),
        "bad": str(shared_datasets / "bad" / "known_bad_cases.jsonl"),
    }
    done = run_ftui("cost", *[a.format(**paths) for a in args])
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


# -- the [prices] section of the settings file ---------------------------------------------------


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(environ={}, path=path), path


def test_prices_tables_by_snapshot_or_alias_and_the_date(tmp_path: Path) -> None:
    config, _ = load(
        tmp_path,
        '[prices]\nas_of = "2025-09-01"\n"gpt-4o" = { training = 20 }\n\n'
        '[prices."gpt-4.1"]\ninput = 1.5\n',
    )
    assert config.prices.as_of == "2025-09-01"
    assert config.prices.models == {
        "gpt-4o-2024-08-06": PriceOverride(training=20.0),
        "gpt-4.1-2025-04-14": PriceOverride(input=1.5),
    }
    assert config.sources["prices.models"] == "file"
    from_env = load_config(environ={"FTUI_PRICES_AS_OF": "2025-11-30"}, path=tmp_path / "none.toml")
    assert from_env.prices.as_of == "2025-11-30" and from_env.prices.models == {}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '[prices."gpt-4o-mini"]\ntraining = -1\n',
            2,
            "prices.gpt-4o-mini.training cannot be negative",
        ),
        (
            "[prices]\n\n[prices.gpt-4o-mini]\ninput = 1\ninptu = 2\n",
            5,
            "unknown key 'inptu' in [prices.gpt-4o-mini]",
        ),
        ('\n[prices."gpt-4o-mnii"]\ntraining = 1\n', 2, "[prices] has no model 'gpt-4o-mnii'"),
        ('[prices]\nas_of = "last week"\n', 2, "prices.as_of must be a date written YYYY-MM-DD"),
        ("[prices]\ngpt-4o-mini = 3.0\n", 2, "unknown key 'gpt-4o-mini' in [prices]"),
        (
            '[prices]\n"gpt-4o" = { training = true }\n',
            2,
            "prices.gpt-4o.training must be a number",
        ),
        (
            '[prices.gpt-4o-mini]\ninput = 1\n[prices."gpt-4o-mini-2024-07-18"]\ninput = 2\n',
            3,
            "set twice",
        ),
    ],
)
def test_a_bad_price_names_the_file_line_and_key(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load(tmp_path, text)
    assert str(raised.value).startswith(f"{tmp_path / 'config.toml'}, line {line}: ")
    assert message in str(raised.value)


def test_key_line_finds_keys_of_a_quoted_sub_table() -> None:
    text = '[prices]\nas_of = "2025-01-01"\n[prices."gpt-4.1"]\ninput = 1\noutput = 2\n'
    assert key_line(text, ("prices", "gpt-4.1"), "output") == 5
    assert key_line(text, "prices", "as_of") == 2
    assert key_line(text, "prices", "output") is None


def test_config_show_lists_each_overridden_price(tmp_path: Path) -> None:
    settings = tmp_path / "config.toml"
    settings.write_text('[prices."gpt-4o-mini"]\ntraining = 1.5\n')
    done = run_ftui("config", "show", "--json", env={"FTUI_CONFIG": str(settings)})
    rows = {row["key"]: row for row in json.loads(done.stdout)["settings"]}
    assert rows["prices.gpt-4o-mini-2024-07-18.training"]["value"] == 1.5
    assert rows["prices.gpt-4o-mini-2024-07-18.training"]["source"] == "file"
    assert rows["prices.as_of"]["value"] is None
