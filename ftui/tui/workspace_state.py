"""What the workbench remembers between launches: the last dataset it had open."""

from __future__ import annotations

import json
from pathlib import Path

from ftui.config import Config
from ftui.core.dataset.atomic import atomic_write_text

STATE_FILE = "workbench.json"


def _state_path(config: Config) -> Path:
    return config.home / STATE_FILE


def last_dataset(config: Config) -> Path | None:
    """The dataset open when ftui last ran (None if none, or if the file is unreadable)."""
    try:
        data = json.loads(_state_path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = data.get("last_dataset") if isinstance(data, dict) else None
    return Path(path) if isinstance(path, str) and path else None


def remember_dataset(config: Config, path: Path) -> None:
    """Best effort: a read-only home must not stop anyone from working."""
    try:
        config.home.mkdir(parents=True, exist_ok=True)
        atomic_write_text(_state_path(config), json.dumps({"last_dataset": str(path)}) + "\n")
    except OSError:
        pass
