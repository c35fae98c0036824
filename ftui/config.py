"""One typed settings object for the app, built once by the CLI (or a test) and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

APP_NAME = "ftui"


def default_home() -> Path:
    """Where ftui keeps its store, runs and workspaces: $FTUI_HOME, else the platform data dir."""
    env = os.environ.get("FTUI_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


@dataclass(frozen=True)
class Config:
    home: Path = field(default_factory=default_home)
    openai_api_key: str | None = field(default_factory=lambda: os.environ.get("OPENAI_API_KEY"))
    openai_base_url: str | None = field(default_factory=lambda: os.environ.get("OPENAI_BASE_URL"))

    @property
    def store_path(self) -> Path:
        return self.home / "ftui.db"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def workspaces_dir(self) -> Path:
        return self.home / "workspaces"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.runs_dir, self.workspaces_dir, self.models_dir):
            path.mkdir(parents=True, exist_ok=True)
