"""The Jobs section's runs, of one backend: the newest few, with the keys that act on one.

A `DataTable` is fine here: it never holds more than `JOBS_SHOWN` rows (the full history, however
long, is the Runs section's `RunsTable`). The table is told its runs (`set_runs`) and what their
backend can do (`capabilities`: a key the backend cannot honour is off, in the footer and the
palette alike), and asks for actions with `ActionRequested`; the pane carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.message import Message
from textual.widgets import DataTable

from ftui.services.backends.base import Capabilities
from ftui.services.runs import run_row
from ftui.services.store import Run
from ftui.tui.keymap import command

JOBS_SHOWN = 20
COLUMNS = (
    ("id", "run"),
    ("status", "status"),
    ("base_model", "base model"),
    ("step", "step"),
    ("train_loss", "train loss"),
    ("valid_loss", "valid loss"),
    ("duration", "duration"),
)


def _step(run: Run) -> str:
    if run.last_step is None:
        return "-"
    return f"{run.last_step}/{run.max_steps}" if run.max_steps else str(run.last_step)


# The capability each request needs ("show" needs none).
NEEDS = {"cancel": "cancel", "resume": "resume", "pause": "pause", "again": "run_again"}


class JobsTable(DataTable[str]):
    """One backend's runs, newest first: cancel, pause, resume, or run again with changes."""

    COMMAND_GROUP = "Jobs"
    BINDINGS: ClassVar = [
        command(
            "c", "request('cancel')", "Cancel run", "Stop the run (checkpoint first).", show=True
        ),
        command(
            "r",
            "request('resume')",
            "Resume",
            "Continue a stopped run from its checkpoint, or a paused job.",
            show=True,
        ),
        command(
            "p",
            "request('pause')",
            "Pause",
            "Hold the job (r resumes it); for backends that can pause, such as OpenAI.",
            show=True,
        ),
        command(
            "a",
            "request('again')",
            "Again with changes",
            "Copy the run's settings into the form to launch a new run with changes.",
            show=True,
        ),
    ]

    @dataclass
    class ActionRequested(Message):
        action: str  # cancel | pause | resume | again | show
        run: Run

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.runs: list[Run] = []
        self.capabilities: Capabilities | None = None  # None: every action offered

    def set_capabilities(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "request" and parameters and self.capabilities is not None:
            needed = NEEDS.get(str(parameters[0]))
            if needed is not None and not getattr(self.capabilities, needed):
                return False
        return True

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def set_runs(self, runs: list[Run], now: float | None = None) -> None:
        """Show these runs, keeping the cursor on the same run where it still is."""
        current = self.current_run
        self.runs = runs[:JOBS_SHOWN]
        self.clear()
        for run in self.runs:
            row = run_row(run, now)
            row["step"] = _step(run)
            self.add_row(*(row[key] for key, _ in COLUMNS), key=run.id)
        if current is not None:
            for index, run in enumerate(self.runs):
                if run.id == current.id:
                    self.move_cursor(row=index)
                    break

    @property
    def current_run(self) -> Run | None:
        if not self.runs or not 0 <= self.cursor_row < len(self.runs):
            return None
        return self.runs[self.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_request("show")  # Enter: watch it in the Runs section

    def action_request(self, action: str) -> None:
        if not self.check_action("request", (action,)):
            return
        run = self.current_run
        if run is not None:
            self.post_message(self.ActionRequested(action, run))
