"""The question asked on open when an earlier session left unsaved edits in its journal."""

from __future__ import annotations

from pathlib import Path

from ftui.core.editing.journal import JournalInfo
from ftui.tui.screens.confirm import Choice, ConfirmScreen


def restore_screen(dataset: Path, info: JournalInfo) -> ConfirmScreen:
    """Dismisses with "restore", "discard" or None (decide later: the journal stays on disk)."""
    if info.compatible:
        body = (
            f"{dataset.name}: {info.describe()}.\n\n"
            "Restore puts them back (still unsaved: ctrl+s writes them). Set aside keeps the "
            f"journal as a backup in {info.path.parent} and opens the file as it is on disk."
        )
        choices = [
            Choice("r", "restore", "Restore", "primary"),
            Choice("d", "discard", "Set aside"),
            Choice("escape", "later", "Decide later"),
        ]
    else:
        body = (
            f"{dataset.name}: {info.describe()}.\n\n"
            f"The journal is kept in {info.path.parent}; set it aside to stop being asked."
        )
        choices = [
            Choice("d", "discard", "Set aside", "primary"),
            Choice("escape", "later", "Later"),
        ]
    return ConfirmScreen("Unsaved edits found", body, choices)
