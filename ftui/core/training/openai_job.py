"""STAND-IN (not committed): the OpenAI job config, until openai-core lands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class OpenAIJobConfig:
    dataset: Path
    model: str = ""
    validation_file: Path | None = None
    method: str = "supervised"
    beta: Any = None
    n_epochs: Any = "auto"
    batch_size: Any = "auto"
    learning_rate_multiplier: Any = "auto"
    suffix: str | None = None
    seed: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        return ["suffix too long"] if self.suffix and len(self.suffix) > 64 else []

    def create_params(
        self, training_file_id: str, validation_file_id: str | None
    ) -> dict[str, Any]:
        hp = {
            k: v
            for k, v in (
                ("n_epochs", self.n_epochs),
                ("batch_size", self.batch_size),
                ("learning_rate_multiplier", self.learning_rate_multiplier),
            )
            if v != "auto"
        }
        if self.method == "dpo" and self.beta not in (None, "auto"):
            hp["beta"] = self.beta
        params: dict[str, Any] = {
            "model": self.model,
            "training_file": training_file_id,
            "method": {"type": self.method, self.method: {"hyperparameters": hp}},
        }
        if validation_file_id:
            params["validation_file"] = validation_file_id
        if self.suffix:
            params["suffix"] = self.suffix
        if self.seed is not None:
            params["seed"] = self.seed
        if self.metadata:
            params["metadata"] = dict(self.metadata)
        return params

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dataset"] = str(self.dataset)
        data["validation_file"] = str(self.validation_file) if self.validation_file else None
        data["metadata"] = dict(self.metadata)
        return data


def parse_hyperparameter(text: str, kind: str) -> Any:
    if text == "auto":
        return "auto"
    try:
        return int(text) if kind in ("n_epochs", "batch_size") else float(text)
    except ValueError:
        raise ValueError(f"{kind} must be auto or a number, not {text!r}") from None
