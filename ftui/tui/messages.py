"""Messages that cross screens or sections. Messages one widget sends to its parent live in it.

Each message is a small dataclass named as a fact (`DatasetStateChanged`) or a request
(`OpenDataset`). Add new ones at the end of this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ftui.services.store import Run


@dataclass
class OpenDataset(Message):
    """Request: open this dataset in the Data section and show it."""

    path: Path


@dataclass
class ShowSection(Message):
    """Request: switch the workbench to a section ("data", "jobs", "runs", "judge")."""

    section: str


@dataclass
class DatasetStateChanged(Message):
    """Fact: what the header shows about the open dataset changed (name, size, dirty state...)."""

    path: Path | None
    examples: int
    dirty: bool
    indexing: bool
    unsaved_edits: int = 0
    format: str | None = None


@dataclass
class RunLaunched(Message):
    """Fact: a run was started, by any backend (it is in the store: the Runs section lists it)."""

    run: Run


@dataclass
class JudgeRun(Message):
    """Request: open the Judge section on this run: its base model as A, the run as B
    (`run:ID`, or `model_b`: one of its checkpoints), its validation data as the eval set."""

    run_id: str
    model_b: str | None = None
