"""Where the workbench's stylesheet is, for an App that shows one section on its own."""

from __future__ import annotations

from pathlib import Path

APP_CSS = Path(__file__).with_name("app.tcss")
