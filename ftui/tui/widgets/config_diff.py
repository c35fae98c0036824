"""Configs of several runs side by side, one key per row, the keys that differ first and marked.

Nested settings (`lora.r`) are flattened to dotted keys. Configs have tens of keys, so a `DataTable`
is the right tool here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import DataTable

from ftui.tui.keymap import command

MISSING = "—"


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def show_value(value: Any) -> str:
    if value is MISSING:
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(show_value(item) for item in value) or "[]"
    return repr(value) if value is not None else "null"


def diff_rows(
    configs: Sequence[Mapping[str, Any]],
) -> list[tuple[str, list[str], bool]]:
    """(key, shown value per config, differs?) for every key; differing keys first, then A-Z."""
    flat = [flatten_config(config) for config in configs]
    keys = sorted({key for config in flat for key in config})
    rows = []
    for key in keys:
        values = [show_value(config.get(key, MISSING)) for config in flat]
        rows.append((key, values, len(set(values)) > 1))
    rows.sort(key=lambda row: (not row[2], row[0]))
    return rows


class ConfigDiff(DataTable[Text]):
    """Rows of config keys, columns of runs; `only_differences` hides the keys all runs share."""

    COMMAND_GROUP = "Config diff"
    DEFAULT_CSS = """
    ConfigDiff { height: auto; max-height: 50%; }
    """
    BINDINGS: ClassVar = [
        command(
            "x",
            "toggle_same",
            "Same keys",
            "Show or hide the config keys that every compared run shares.",
            show=True,
        ),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.only_differences = True
        self._labels: list[str] = []
        self._configs: list[Mapping[str, Any]] = []

    def set_configs(self, labels: Sequence[str], configs: Sequence[Mapping[str, Any]]) -> None:
        self._labels = list(labels)
        self._configs = list(configs)
        self._fill()

    def action_toggle_same(self) -> None:
        self.only_differences = not self.only_differences
        self._fill()

    @property
    def shown_keys(self) -> list[str]:
        return [str(self.get_row_at(i)[0]) for i in range(self.row_count)]

    def _fill(self) -> None:
        self.clear(columns=True)
        self.add_column("key")
        for label in self._labels:
            self.add_column(label)
        rows = diff_rows(self._configs)
        for key, values, differs in rows:
            if self.only_differences and not differs:
                continue
            style = "bold" if differs else "dim"
            marker = "≠ " if differs else "  "
            self.add_row(
                Text(marker + key, style=style), *(Text(value, style=style) for value in values)
            )
        if self.row_count == 0:
            same = "the same" if rows else "empty"
            self.add_row(
                Text(f"configs are {same}", style="dim"), *(Text("") for _ in self._labels)
            )
