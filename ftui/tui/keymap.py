"""Commands are declared once, as key bindings, and everything else is generated from them.

A binding made with `command()` carries its key, its footer label (`description`, shown when
`show=True`) and its longer help text (`tooltip`). The footer reads the same bindings; the help
screen and the command palette read them through `collect_commands`, so none of the three can drift
from what the keys actually do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.actions import ActionError
from textual.actions import parse as parse_action
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.markup import escape
from textual.screen import Screen
from textual.widget import Widget

# Cursor movement: listed in the help screen, left out of the palette (nobody searches for "down").
NAVIGATION = Binding.Group("Navigation")


def command(
    keys: str,
    action: str,
    label: str,
    help: str,
    *,
    show: bool = False,
    key_display: str | None = None,
    priority: bool = False,
) -> Binding:
    """A key binding that is also a palette command and a help-screen entry."""
    return Binding(
        keys, action, label, show=show, key_display=key_display, priority=priority, tooltip=help
    )


def nav(keys: str, action: str, label: str, *, key_display: str | None = None) -> Binding:
    """A movement key: in the help screen, not in the footer or the palette."""
    return Binding(keys, action, label, show=False, key_display=key_display, group=NAVIGATION)


@dataclass(frozen=True)
class CommandEntry:
    """One action of one node, with every key bound to it."""

    owner: str
    node: DOMNode
    action: str
    label: str
    help: str
    keys: tuple[str, ...]
    navigation: bool
    enabled: bool


def owner_name(node: DOMNode) -> str:
    """The heading a node's commands are listed under (`COMMAND_GROUP`, else the class name)."""
    return str(getattr(node, "COMMAND_GROUP", None) or type(node).__name__)


def _declared_bindings(node: DOMNode) -> Iterator[Binding]:
    # Only our own declarations: Textual's built-in scrolling and editing keys stay out of the
    # palette, and a subclass may re-declare a key without it being listed twice.
    seen: set[tuple[str, str]] = set()
    for cls in type(node).__mro__:
        if not cls.__module__.startswith("ftui.") or "BINDINGS" not in cls.__dict__:
            continue
        for binding in Binding.make_bindings(cls.__dict__["BINDINGS"]):
            if (binding.key, binding.action) not in seen:
                seen.add((binding.key, binding.action))
                yield binding


def _displayed_nodes(screen: Screen[object]) -> Iterator[DOMNode]:
    yield screen.app
    yield screen

    def walk(widget: Widget) -> Iterator[Widget]:
        for child in widget.children:
            if isinstance(child, Widget) and child.display:
                yield child
                yield from walk(child)

    yield from walk(screen)


def _key_displays(app: App[object], bindings: list[Binding]) -> tuple[str, ...]:
    """How each key of an action is written; a `key_display` names only the first key."""
    shown: list[str] = []
    for number, binding in enumerate(bindings):
        plain = binding if number == 0 else dataclasses.replace(binding, key_display=None)
        display = app.get_key_display(plain)
        if display not in shown:
            shown.append(display)
    return tuple(shown)


def _action_state(node: DOMNode, action: str) -> bool | None:
    # With its arguments: one action may be on for some of them and off for others
    # (`request('pause')` on a backend that cannot pause).
    try:
        _namespace, name, parameters = parse_action(action)
    except ActionError:
        name, parameters = action.partition("(")[0], ()
    return node.check_action(name, parameters)


def collect_commands(screen: Screen[object]) -> list[CommandEntry]:
    """Every command reachable from `screen`, in DOM order, keys grouped by action."""
    app = screen.app
    entries: list[CommandEntry] = []
    for node in _displayed_nodes(screen):
        by_action: dict[str, list[Binding]] = {}
        for binding in _declared_bindings(node):
            by_action.setdefault(binding.action, []).append(binding)
        for action, bindings in by_action.items():
            state = _action_state(node, action)
            first = bindings[0]
            entries.append(
                CommandEntry(
                    owner=owner_name(node),
                    node=node,
                    action=action,
                    label=first.description or action.replace("_", " "),
                    help=first.tooltip,
                    keys=_key_displays(app, bindings),
                    navigation=first.group is NAVIGATION,
                    enabled=state is True,
                )
            )
    return entries


class CommandsProvider(Provider):
    """The command palette: every non-navigation command of the screen it was opened on."""

    def _commands(self) -> list[CommandEntry]:
        return [entry for entry in collect_commands(self.screen) if not entry.navigation]

    def _run(self, entry: CommandEntry) -> partial[Coroutine[Any, Any, bool]]:
        return partial(self.app.run_action, entry.action, entry.node)

    @staticmethod
    def _title(entry: CommandEntry) -> str:
        return f"{entry.owner}: {entry.label}"

    @staticmethod
    def _help(entry: CommandEntry) -> str:
        # The palette reads help as markup: keys like "[" or "/" must stay literal.
        keys = "key: " + " or ".join(entry.keys)
        return escape(f"{entry.help}  ({keys})" if entry.help else keys)

    async def discover(self) -> Hits:
        for entry in self._commands():
            if entry.enabled:
                yield DiscoveryHit(self._title(entry), self._run(entry), help=self._help(entry))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._commands():
            title = self._title(entry)
            # Match on the help text too, so "remove" finds "Delete example".
            score = max(matcher.match(title), matcher.match(entry.help) * 0.5)
            if score > 0 and entry.enabled:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    self._run(entry),
                    text=title,
                    help=self._help(entry),
                )
