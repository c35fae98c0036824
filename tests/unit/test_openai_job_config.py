"""The OpenAI job config: every usage error as a sentence, the create request, the saved form."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftui.core.training.openai_job import OpenAIJobConfig, parse_hyperparameter


def _job(**changes) -> OpenAIJobConfig:
    fields = {"dataset": Path("/data/train.jsonl"), "model": "gpt-4o-mini-2024-07-18"}
    fields.update(changes)
    return OpenAIJobConfig(**fields)


def test_a_plain_job_has_no_problems_and_sends_only_what_was_chosen() -> None:
    job = _job()
    assert job.problems() == []
    params = job.create_params("file-train", None)
    assert params == {
        "model": "gpt-4o-mini-2024-07-18",
        "training_file": "file-train",
        "method": {"type": "supervised", "supervised": {"hyperparameters": {}}},
    }


def test_hyperparameters_go_under_method_never_top_level() -> None:
    job = _job(
        validation_file=Path("/data/valid.jsonl"),
        n_epochs=3,
        batch_size=8,
        learning_rate_multiplier=0.5,
        suffix="demo",
        seed=7,
        metadata={"team": "nlp"},
    )
    params = job.create_params("file-t", "file-v")
    assert "hyperparameters" not in params
    assert params["method"]["supervised"]["hyperparameters"] == {
        "n_epochs": 3,
        "batch_size": 8,
        "learning_rate_multiplier": 0.5,
    }
    assert params["validation_file"] == "file-v"
    assert (params["suffix"], params["seed"], params["metadata"]) == ("demo", 7, {"team": "nlp"})


def test_dpo_carries_beta_and_auto_beta_is_left_to_openai() -> None:
    dpo = _job(method="dpo", beta=0.1, n_epochs=2).create_params("f", None)["method"]
    assert dpo == {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.1}}}
    auto = _job(method="dpo", beta="auto").create_params("f", None)["method"]
    assert auto["dpo"]["hyperparameters"] == {}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"suffix": "x" * 65}, "65 characters"),
        ({"n_epochs": 0}, "epochs must be auto or a whole number from 1 to 50"),
        ({"n_epochs": 2.5}, "epochs"),
        ({"n_epochs": True}, "epochs"),
        ({"batch_size": 1000}, "batch size"),
        ({"learning_rate_multiplier": 0}, "learning rate multiplier"),
        ({"learning_rate_multiplier": float("nan")}, "learning rate multiplier"),
        ({"beta": 0.2}, "beta is for the dpo method only"),
        ({"method": "dpo", "beta": -1.0}, "beta must be auto or a number above 0"),
        ({"method": "reinforcement"}, "method must be supervised or dpo"),
        ({"model": ""}, "Choose a base model"),
        ({"seed": -3}, "seed"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "17 pairs"),
        ({"metadata": {"k" * 65: "v"}}, "65 characters"),
        ({"metadata": {"k": "v" * 513}}, "513 characters"),
        ({"validation_file": Path("/data/train.jsonl")}, "validation file is the training file"),
    ],
)
def test_each_usage_error_is_one_clear_sentence(changes, words) -> None:
    problems = _job(**changes).problems()
    assert len(problems) == 1, problems
    assert words in problems[0]
    assert problems[0].endswith(".")


def test_every_problem_is_listed_at_once() -> None:
    job = _job(suffix="s" * 70, n_epochs=99, beta=0.3, seed="x")
    assert len(job.problems()) == 4


def test_the_limits_themselves_are_accepted() -> None:
    job = _job(
        suffix="s" * 64,
        n_epochs=50,
        batch_size=256,
        metadata={f"{i:02d}".rjust(64, "k"): "v" * 512 for i in range(16)},
    )
    assert len(job.metadata) == 16
    assert job.problems() == []


def test_a_validation_file_that_is_the_training_file_by_another_path(tmp_path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("{}\n")
    (tmp_path / "sub").mkdir()
    job = _job(dataset=data, validation_file=tmp_path / "sub" / ".." / "train.jsonl")
    assert any("validation file is the training file" in p for p in job.problems())


def test_the_saved_config_round_trips() -> None:
    job = _job(
        validation_file=Path("/data/v.jsonl"),
        method="dpo",
        beta="auto",
        n_epochs=4,
        learning_rate_multiplier=0.25,
        suffix="s",
        seed=3,
        metadata={"a": "b"},
    )
    saved = job.to_json_dict()
    import json

    assert OpenAIJobConfig.from_json_dict(json.loads(json.dumps(saved))) == job
    assert OpenAIJobConfig.from_json_dict({**saved, "from_a_newer_ftui": 1}) == job
    with pytest.raises(ValueError):
        OpenAIJobConfig.from_json_dict({"model": "m"})


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("auto", "n_epochs", "auto"),
        (" AUTO ", "beta", "auto"),
        ("3", "n_epochs", 3),
        ("16", "batch_size", 16),
        ("0.5", "learning_rate_multiplier", 0.5),
        ("2", "learning_rate_multiplier", 2.0),
        ("0.1", "beta", 0.1),
    ],
)
def test_parse_hyperparameter(text, kind, value) -> None:
    parsed = parse_hyperparameter(text, kind)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("three", "n_epochs"),
        ("2.5", "n_epochs"),
        ("", "batch_size"),
        ("fast", "beta"),
        ("inf", "learning_rate_multiplier"),
        ("1", "temperature"),
    ],
)
def test_parse_hyperparameter_refuses_junk_with_a_sentence(text, kind) -> None:
    with pytest.raises(ValueError) as caught:
        parse_hyperparameter(text, kind)
    assert repr(text) in str(caught.value) or kind in str(caught.value)


def test_metadata_pairs_from_the_command_line_or_the_form() -> None:
    from ftui.core.training.openai_job import parse_metadata

    assert parse_metadata(["team=nlp", " ticket = FT-42 ", "", "note=a=b"]) == {
        "team": "nlp",
        "ticket": "FT-42",
        "note": "a=b",
    }
    for bad, says in (
        (["oops"], "key=value, not 'oops'"),
        (["=value"], "key=value, not '=value'"),
        (["a=1", "a=2"], "the key 'a' is given twice"),
    ):
        with pytest.raises(ValueError, match=says):
            parse_metadata(bad)
