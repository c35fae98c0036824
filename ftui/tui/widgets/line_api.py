"""Helpers for the Line API widgets (the example list, the conversation).

Textual's `virtual_size` is a reactive that lays the whole screen out again when it changes,
which costs tens of milliseconds on a screen this busy: too much for every cursor move. These
widgets always show their vertical scrollbar (`overflow-y: scroll`), so a new virtual height can
never change their layout; only the scrollbar and the scroll limits need updating.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget


def set_virtual_height(view: ScrollView, height: int) -> None:
    """Change `view`'s virtual height without a screen layout (needs `overflow-y: scroll`)."""
    size = Size(0, height)
    if size == view.virtual_size:
        return
    if not view.is_mounted or view.styles.overflow_y != "scroll":
        view.virtual_size = size  # before the first layout, or a view that may lose its bar
        return
    view.set_reactive(Widget.virtual_size, size)
    view._scroll_update(size)
    view.refresh()
