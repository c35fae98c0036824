"""Where the workbench's stylesheet is, and the terminal sizes it styles differently.

The breakpoints put a class on each screen (Textual's `HORIZONTAL_BREAKPOINTS` and
`VERTICAL_BREAKPOINTS`): `-narrow` below 110 columns, `-short` below 32 rows, so that at 80x24
(many SSH terminals) app.tcss can give the lists the room and fold the side panes away. An App
that shows one section on its own takes all three to look as it does in the workbench.
"""

from __future__ import annotations

from pathlib import Path

APP_CSS = Path(__file__).with_name("app.tcss")
HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]


def breakpoint_classes(width: int, height: int) -> set[str]:
    """The classes Textual's breakpoints give a screen of this size (the last one reached)."""
    classes = set()
    for breakpoints, dimension in ((HORIZONTAL_BREAKPOINTS, width), (VERTICAL_BREAKPOINTS, height)):
        reached = [name for at, name in breakpoints if dimension >= at]
        if reached:
            classes.add(reached[-1])
    return classes
