"""The workbench's sections, and the slots that load the heavier ones on first visit."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.containers import Container
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ftui.config import Config

# (key, id, title), in the order of the header.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("1", "data", "Data"),
    ("2", "jobs", "Jobs"),
    ("3", "runs", "Runs"),
    ("4", "judge", "Judge"),
)

SECTION_MODULES: dict[str, tuple[str, ...]] = {
    "runs": ("ftui.services.store", "ftui.tui.sections.runs"),
    "jobs": ("ftui.services.store", "ftui.tui.sections.jobs"),
    "judge": ("ftui.services.store", "ftui.tui.sections.judge"),
}

# Sections announced in the header but not built yet: id -> what the placeholder says.
LATER: dict[str, str] = {}


@dataclass
class SectionModulesLoaded(Message):
    """A section's modules are imported (error is None) or cannot be (error says why)."""

    section: str
    error: str | None


@dataclass
class BackendsDetected(Message):
    summary: str


def import_section_modules(section: str) -> str | None:
    """Import what a section needs (slow: SQLite layer, forms); None on success, else why not."""
    if section in LATER:
        return LATER[section]
    for name in SECTION_MODULES.get(section, ()):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                return f"The {section} section is not available: this build has no {name}."
            return (
                f"The {section} section is not available: it needs the {exc.name} package, "
                "which is not installed."
            )
        except Exception as exc:
            return f"The {section} section is not available: {name} failed to load ({exc})."
    return None


def detect_backends(config: Config) -> str:
    """What the header says about training backends, without importing any of them."""
    if importlib.util.find_spec("torch") is None:
        local = "local: no torch (pip install 'ftui-workbench[train]')"
    else:
        local = "local: " + ("GPU" if shutil.which("nvidia-smi") else "CPU")
    remote = "OpenAI: key set" if config.openai.api_key else "OpenAI: no key"
    return f"{local} · {remote}"


class SectionSlot(Container):
    """Where a section's pane is mounted once its modules are loaded."""

    state: Literal["empty", "loading", "ready", "unavailable"]

    def __init__(self, section: str, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="section-slot")
        self.section = section
        self.title = title
        self.state = "empty"

    def compose(self) -> ComposeResult:
        yield Static(f"Loading the {self.title} section…", classes="section-placeholder")

    def show_pane(self, pane: Widget) -> None:
        self.state = "ready"
        self.query(".section-placeholder").remove()
        self.mount(pane)
        self.call_after_refresh(self.focus_content)

    def show_unavailable(self, reason: str) -> None:
        self.state = "unavailable"
        self.query_one(".section-placeholder", Static).update(reason)

    def focus_content(self) -> None:
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return
