"""What the training process learns from preference data: the preferred answers only."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ftui.train.data import TrainingDataError, load_conversations
from tests.conftest import SHARED_DATASETS

KTO = SHARED_DATASETS / "sharegpt" / "kto_en_demo.json"


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def test_kto_examples_labelled_undesirable_are_never_trained_on(tmp_path: Path) -> None:
    turn = [{"from": "human", "value": "Hi"}]
    good = {"messages": [*turn, {"from": "gpt", "value": "Hello! How can I help?"}], "label": True}
    bad = {"messages": [*turn, {"from": "gpt", "value": "Go away."}], "label": False}
    path = _write(tmp_path / "kto.jsonl", [good, bad, good])

    rows = load_conversations(path)

    assert len(rows) == 2
    assert all(row["messages"][-1]["content"] == "Hello! How can I help?" for row in rows)
    assert sum(rows.left_out.values()) == 1


def test_a_file_of_only_undesirable_examples_is_refused_with_the_reason(tmp_path: Path) -> None:
    bad = {"messages": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "No."}]}
    path = _write(tmp_path / "kto.jsonl", [{**bad, "label": False}] * 3)

    with pytest.raises(TrainingDataError, match="all 3 are labelled undesirable"):
        load_conversations(path)


@pytest.mark.skipif(not KTO.exists(), reason="shared datasets not beside the checkout")
def test_the_real_kto_demo_trains_on_its_desirable_answers_only() -> None:
    records = orjson.loads(KTO.read_bytes())
    desirable = sum(1 for r in records if r.get("label") is True)

    rows = load_conversations(KTO)

    assert len(rows) == desirable
    assert sum(rows.left_out.values()) == len(records) - desirable
