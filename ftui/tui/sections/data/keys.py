"""The Data section's keys, one command set per part.

Each set is declared on its own class in one line of inheritance, because both lists of the
keys read the class hierarchy: the footer merges the sets base class first (search, editing,
files, cost, then the section's own), the help screen and the palette list them subclass first.
The classes hold nothing else; the behaviour is in the parts and the section routes to it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.containers import Container

from ftui.tui.keymap import command


class SearchKeys(Container):
    BINDINGS: ClassVar = [
        command(
            "slash",
            "search",
            "Search",
            "Search: words, /regex/, role:user, code:FINDING, tokens>N, origin:KIND.",
            show=True,
        ),
        command("n", "next_match(1)", "Next match", "Go to the next search match."),
        command("N", "next_match(-1)", "Previous match", "Go to the previous search match."),
        command(
            "f", "toggle_filter", "Only matches", "Show only the examples that match the search."
        ),
        command("escape", "clear_search", "Clear search", "Forget the search and its filter."),
    ]


class EditingKeys(SearchKeys):
    BINDINGS: ClassVar = [
        command("u,ctrl+z", "undo", "Undo", "Undo the last edit.", show=True),
        command("U,ctrl+y", "redo", "Redo", "Redo the last undone edit."),
        command(
            "i", "insert_example", "New example", "Insert an empty example after the current one."
        ),
        command(
            "y", "duplicate_example", "Duplicate", "Insert a copy of the current example after it."
        ),
        command(
            "D",
            "delete_examples",
            "Delete",
            "Delete the marked examples, or the current one (undo brings them back).",
            show=True,
        ),
        command("K", "move_example(-1)", "Move up", "Move the current example up one place."),
        command("J", "move_example(1)", "Move down", "Move the current example down one place."),
    ]


class FileKeys(EditingKeys):
    BINDINGS: ClassVar = [
        command(
            "ctrl+s",
            "save",
            "Save",
            "Write the edits to the file (atomically, in its own format).",
            show=True,
        ),
        command("x", "export", "Export marked", "Write the marked examples to a new file."),
        command("o", "open", "Open", "Open another dataset file."),
        command(
            "I",
            "import_data",
            "Import",
            "Import a CSV, JSON or chat log as a new dataset (with a live preview).",
        ),
    ]


class CostKeys(FileKeys):
    BINDINGS: ClassVar = [
        command(
            "dollar_sign",
            "show_cost",
            "Cost",
            "Training cost of this dataset and the day fine-tuning pays for itself.",
            key_display="$",
        ),
    ]
