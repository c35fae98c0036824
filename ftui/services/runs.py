"""Run directories and run ids: where a run's files live and how they are named.

A run owns `runs/<run-id>/`: `config.json` (the training config exactly as given), `events.jsonl`
(the event log, see `ftui.core.runs.events`), and whatever the backend adds (`logs/`,
`checkpoints/`, `adapter/`). The id is 8 random hex characters, so a short unique prefix is
enough to name it on the command line; the store keeps creation times for ordering.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ftui.core.dataset.atomic import atomic_write_bytes
from ftui.core.runs.events import CONFIG_FILE, EVENTS_FILE
from ftui.core.runs.progress import format_duration

if TYPE_CHECKING:
    from ftui.services.store import Run

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOGS_DIR = "logs"
CHECKPOINTS_DIR = "checkpoints"


class InvalidRunId(ValueError):
    pass


def new_run_id() -> str:
    return secrets.token_hex(4)


def check_run_id(run_id: str) -> str:
    """A run id becomes a directory name: letters, digits, `.`, `_`, `-`; at most 64 characters."""
    if not RUN_ID_PATTERN.match(run_id) or run_id in (".", ".."):
        raise InvalidRunId(
            f"invalid run id {run_id!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return run_id


def run_dir(runs_dir: Path, run_id: str) -> Path:
    return runs_dir / check_run_id(run_id)


def events_path(directory: Path) -> Path:
    return directory / EVENTS_FILE


def config_path(directory: Path) -> Path:
    return directory / CONFIG_FILE


def dump_json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, dump_json(data))


def create_run_dir(runs_dir: Path, run_id: str, config: dict[str, Any]) -> Path:
    """Make `runs/<id>/` with its `config.json`; refuses to reuse an existing directory."""
    directory = run_dir(runs_dir, run_id)
    runs_dir.mkdir(parents=True, exist_ok=True)
    directory.mkdir()
    try:
        atomic_write_json(config_path(directory), config)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return directory


def remove_run_dir(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


# -- how a run reads in a table (shared by `ftui runs` and the Runs pane) ----------------------


def format_cost(cost_usd: float | None) -> str:
    if cost_usd is None:
        return "-"
    return f"${cost_usd:,.2f}" if cost_usd >= 0.01 or cost_usd == 0 else "<$0.01"


def checkpoint_removed(record: dict[str, Any], run_dir: Path | None) -> bool:
    """A local checkpoint event whose folder the trainer has since deleted (it keeps only the
    newest `save_total_limit`); an OpenAI checkpoint (a model id) is never on disk."""
    if run_dir is None or record.get("type") != "checkpoint" or record.get("model_id"):
        return False
    if not record.get("path"):
        return False
    path = Path(str(record["path"]))
    return not (path if path.is_absolute() else run_dir / path).exists()


def format_metric(value: float | None) -> str:
    """Four decimals for losses and the like; a learning rate of 2e-05 in its own notation
    rather than 0.0000, and a throughput of 16,390 as a count rather than 1.639e+04."""
    if value is None:
        return "-"
    if value != 0 and abs(value) < 0.001:
        return f"{value:.2e}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4f}"


def format_count(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def run_epochs(run: Run) -> float | None:
    """Configured epochs, else how far the run got."""
    return run.epochs if run.epochs is not None else run.last_epoch


def run_row(run: Run, now: float | None = None) -> dict[str, str]:
    """A run as the strings of one table row: the same columns in the CLI and the UI."""
    dataset = run.dataset
    return {
        "id": run.id,
        "status": run.status + (" (archived)" if run.archived else ""),
        "backend": run.backend,
        "base_model": run.base_model,
        "dataset": dataset.name if dataset is not None else "-",
        "examples": format_count(dataset.examples if dataset is not None else None),
        "epochs": format_count(run_epochs(run)),
        "train_loss": format_metric(run.final_metrics.get("train_loss")),
        "valid_loss": format_metric(run.final_metrics.get("valid_loss")),
        "duration": format_duration(run.duration(now)),
        "cost": format_cost(run.cost_usd),
    }


ROW_HEADERS = {
    "id": "ID",
    "status": "STATUS",
    "backend": "BACKEND",
    "base_model": "BASE MODEL",
    "dataset": "DATASET",
    "examples": "EXAMPLES",
    "epochs": "EPOCHS",
    "train_loss": "TRAIN LOSS",
    "valid_loss": "VALID LOSS",
    "duration": "DURATION",
    "cost": "COST",
}
NUMERIC_COLUMNS = frozenset({"examples", "epochs", "train_loss", "valid_loss", "duration", "cost"})
