"""An OpenAI fine-tuning job as ftui asks for it: what the form and `ftui train openai` collect.

`OpenAIJobConfig` is built from whatever the user typed and never refuses to exist: `problems()`
lists what OpenAI would refuse, each as a sentence saying what to do, so the form can show them
all at once. `create_params` gives the keyword arguments of `client.fine_tuning.jobs.create`,
with the hyperparameters under `method` (the top-level `hyperparameters` is deprecated).

A hyperparameter left "auto" is left out of the request: OpenAI then picks it, exactly as when
"auto" is sent, and the request stays the smallest that says what the user chose.

The default base model lives in `core.pricing` (which `core.training` may not import): whoever
builds the config fills it in; an empty model is a problem here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Auto = Literal["auto"]
METHODS = ("supervised", "dpo")
SUFFIX_MAX = 64
METADATA_MAX_PAIRS = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512
# OpenAI's accepted ranges for the hyperparameters (inclusive unless said).
EPOCHS_RANGE = (1, 50)
BATCH_SIZE_RANGE = (1, 256)
LR_MULTIPLIER_MAX = 10.0  # and above 0
BETA_MAX = 2.0  # and above 0
SEED_MAX = 2**31 - 1

HYPERPARAMETER_KINDS = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta")
_INTEGER_KINDS = frozenset({"n_epochs", "batch_size"})


@dataclass(frozen=True)
class OpenAIJobConfig:
    dataset: Path
    model: str = ""
    validation_file: Path | None = None
    method: str = "supervised"  # "supervised" | "dpo"
    beta: float | Auto | None = None  # dpo only
    n_epochs: int | Auto = "auto"
    batch_size: int | Auto = "auto"
    learning_rate_multiplier: float | Auto = "auto"
    suffix: str | None = None
    seed: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    # -- what OpenAI would refuse ------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every usage error, each a sentence saying what to do; empty when the job can go."""
        out: list[str] = []
        if not str(self.dataset).strip() or str(self.dataset) == ".":
            out.append("Choose a training file.")
        if not self.model.strip():
            out.append("Choose a base model to fine-tune.")
        if self.method not in METHODS:
            out.append(f"The method must be supervised or dpo, not {self.method!r}.")
        out += _integer_problem("epochs", self.n_epochs, *EPOCHS_RANGE)
        out += _integer_problem("batch size", self.batch_size, *BATCH_SIZE_RANGE)
        out += _positive_problem(
            "learning rate multiplier", self.learning_rate_multiplier, LR_MULTIPLIER_MAX
        )
        if self.beta is not None:
            if self.method != "dpo":
                out.append("beta is for the dpo method only: remove it, or choose method dpo.")
            else:
                out += _positive_problem("beta", self.beta, BETA_MAX)
        if self.suffix is not None and len(self.suffix) > SUFFIX_MAX:
            out.append(
                f"The suffix is {len(self.suffix)} characters long; OpenAI takes at most "
                f"{SUFFIX_MAX}: shorten it."
            )
        if self.seed is not None and (not _is_int(self.seed) or not 0 <= self.seed <= SEED_MAX):
            out.append(f"The seed must be a whole number from 0 to {SEED_MAX}, not {self.seed!r}.")
        out += _metadata_problems(self.metadata)
        if self.validation_file is not None and _same_file(self.validation_file, self.dataset):
            out.append(
                "The validation file is the training file: choose a different file, or none."
            )
        return out

    # -- the request -------------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, Any]:
        """The chosen hyperparameters of `method`, "auto" ones left out."""
        chosen: dict[str, Any] = {
            name: value
            for name, value in (
                ("n_epochs", self.n_epochs),
                ("batch_size", self.batch_size),
                ("learning_rate_multiplier", self.learning_rate_multiplier),
            )
            if value != "auto"
        }
        if self.method == "dpo" and self.beta not in (None, "auto"):
            chosen["beta"] = self.beta
        return chosen

    def create_params(
        self, training_file_id: str, validation_file_id: str | None
    ) -> dict[str, Any]:
        """The keyword arguments of `client.fine_tuning.jobs.create` for the uploaded files."""
        params: dict[str, Any] = {
            "model": self.model,
            "training_file": training_file_id,
            "method": {
                "type": self.method,
                self.method: {"hyperparameters": self.hyperparameters()},
            },
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

    # -- the run's saved config --------------------------------------------------------------

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "dataset": str(self.dataset),
            "model": self.model,
            "validation_file": str(self.validation_file) if self.validation_file else None,
            "method": self.method,
            "beta": self.beta,
            "n_epochs": self.n_epochs,
            "batch_size": self.batch_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
            "suffix": self.suffix,
            "seed": self.seed,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> OpenAIJobConfig:
        """The config `to_json_dict` saved; unknown keys (a newer ftui's) are ignored."""
        if not isinstance(data.get("dataset"), str):
            raise ValueError("a saved OpenAI job config names no dataset")
        validation = data.get("validation_file")
        metadata = data.get("metadata")
        return cls(
            dataset=Path(data["dataset"]),
            model=str(data.get("model") or ""),
            validation_file=Path(validation) if isinstance(validation, str) else None,
            method=str(data.get("method") or "supervised"),
            beta=data.get("beta"),
            n_epochs=data.get("n_epochs", "auto"),
            batch_size=data.get("batch_size", "auto"),
            learning_rate_multiplier=data.get("learning_rate_multiplier", "auto"),
            suffix=data.get("suffix"),
            seed=data.get("seed"),
            metadata={str(k): str(v) for k, v in metadata.items()}
            if isinstance(metadata, Mapping)
            else {},
        )


def parse_metadata(pairs: Iterable[str]) -> dict[str, str]:
    """`key=value` pairs (from `--metadata`, or the form's comma-separated field) as a dict,
    spaces around keys and values dropped and blank pairs skipped. ValueError names a pair
    without `=` or a key, and a key given twice; the limits are `problems()`'s to check."""
    metadata: dict[str, str] = {}
    for pair in pairs:
        if not pair.strip():
            continue
        key, equals, value = pair.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ValueError(f"write each pair as key=value, not {pair.strip()!r}")
        if key in metadata:
            raise ValueError(f"the key {key!r} is given twice")
        metadata[key] = value.strip()
    return metadata


def parse_hyperparameter(text: str, kind: str) -> int | float | Auto:
    """A hyperparameter as typed in the CLI or the form: "auto", "3", "0.5". A ValueError with
    a sentence to show for anything else (the range is `problems()`'s to check)."""
    if kind not in HYPERPARAMETER_KINDS:
        raise ValueError(f"unknown hyperparameter {kind!r}; expected one of {HYPERPARAMETER_KINDS}")
    value = text.strip()
    if value.lower() == "auto":
        return "auto"
    label = kind.replace("_", " ")
    if kind in _INTEGER_KINDS:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{label} must be auto or a whole number, not {text!r}.") from None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{label} must be auto or a number, not {text!r}.") from None
    if not math.isfinite(number):
        raise ValueError(f"{label} must be auto or a finite number, not {text!r}.")
    return number


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer_problem(label: str, value: Any, low: int, high: int) -> list[str]:
    if value == "auto":
        return []
    if not _is_int(value) or not low <= value <= high:
        return [f"The {label} must be auto or a whole number from {low} to {high}, not {value!r}."]
    return []


def _positive_problem(label: str, value: Any, high: float) -> list[str]:
    if value == "auto":
        return []
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or not 0 < number <= high:
        return [
            f"The {label} must be auto or a number above 0 and at most {high:g}, not {value!r}."
        ]
    return []


def _metadata_problems(metadata: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    if len(metadata) > METADATA_MAX_PAIRS:
        out.append(
            f"The metadata has {len(metadata)} pairs; OpenAI takes at most "
            f"{METADATA_MAX_PAIRS}: drop some."
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            out.append(f"A metadata key must be non-empty text, not {key!r}.")
        elif len(key) > METADATA_KEY_MAX:
            out.append(
                f"The metadata key {key[:20]!r}... is {len(key)} characters; at most "
                f"{METADATA_KEY_MAX}: shorten it."
            )
        if not isinstance(value, str):
            out.append(f"The metadata value of {key!r} must be text, not {value!r}.")
        elif len(value) > METADATA_VALUE_MAX:
            out.append(
                f"The metadata value of {key!r} is {len(value)} characters; at most "
                f"{METADATA_VALUE_MAX}: shorten it."
            )
    return out


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (pure where it can be: equal paths; else resolved)."""
    if Path(a) == Path(b):
        return True
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return False
