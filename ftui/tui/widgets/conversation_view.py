"""One example as a conversation: each message boxed with its role, token count, findings and
content; one message selected, for editing.

Told what to show (`show_example`, `show_tokens`); reports what the user asks for
(`MessageActionRequested`). It is a Line API widget like the example list: the messages are
rendered to lines once per example (and per width), so walking the list repaints only this pane
instead of laying out the screen again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.style import Style
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ftui.core.findings import Finding
from ftui.tui.keymap import command, nav
from ftui.tui.widgets.line_api import set_virtual_height
from ftui.tui.widgets.message_render import render_message, render_text

MessageAction = Literal["edit", "role", "insert", "delete", "move_up", "move_down"]
SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "cyan"}
SEVERITY_GLYPH = {"error": "✖", "warning": "▲", "info": "●"}
KNOWN_ROLES = ("system", "user", "assistant", "tool", "developer")


def finding_line(finding: Finding) -> Text:
    severity = str(finding.severity)
    text = Text(f"{SEVERITY_GLYPH.get(severity, '?')} {finding.code}", SEVERITY_STYLE[severity])
    text.append(f"  {finding.message}", style="")
    return text


def message_title(index: int, message: Any) -> str:
    role = message.get("role", "?") if isinstance(message, dict) else "?"
    title = f"{index + 1} · {role}"
    if isinstance(message, dict):
        if message.get("name"):
            title += f" ({message['name']})"
        if message.get("tool_call_id"):
            title += f" ← {message['tool_call_id']}"
        if message.get("weight") == 0:
            title += " · weight 0 (not trained on)"
    return title


@dataclass
class ExampleShown:
    """What the parent tells the view to show."""

    position: int
    number: int
    source_line: int | None
    messages: list[dict[str, Any]]
    message_tokens: list[int | None]
    findings: list[Finding]
    raw_text: str | None = None
    origin: str | None = None  # where it came from, when the run history knows


class ConversationView(ScrollView, can_focus=True, inherit_bindings=False):
    """The selected example's messages, one selected (for editing) at a time."""

    COMMAND_GROUP = "Conversation"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "conversation--border",
        "conversation--selected",
        "conversation--selected-focused",
        "conversation--error",
        "conversation--tokens",
        *(f"conversation--{role}" for role in KNOWN_ROLES),
        "conversation--odd",
    }
    BINDINGS: ClassVar = [
        nav("up,k", "select(-1)", "Previous message"),
        nav("down,j", "select(1)", "Next message"),
        nav("home,g", "select_first", "First message"),
        nav("end,G", "select_last", "Last message"),
        nav("pageup", "page(-1)", "Scroll up a page"),
        nav("pagedown", "page(1)", "Scroll down a page"),
        command("enter", "request('edit')", "Edit", "Edit the selected message's text.", show=True),
        command("r", "request('role')", "Role", "Change the selected message's role.", show=True),
        command(
            "a", "request('insert')", "Add turn", "Add a message after the selected one.", show=True
        ),
        command("d,delete", "request('delete')", "Delete turn", "Delete the selected message."),
        command("K", "request('move_up')", "Move turn up", "Move the selected message up."),
        command("J", "request('move_down')", "Move turn down", "Move the selected message down."),
    ]

    @dataclass
    class MessageActionRequested(Message):
        """The user asks to change message `index` of the example at `position`."""

        action: MessageAction
        position: int
        index: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: ExampleShown | None = None
        self.selected = 0
        self.border_title = "Conversation"
        self._lines: list[Strip] = []
        self._spans: list[tuple[int, int]] = []  # lines of each message: [start, end)
        # Rendered blocks, keyed by what they show: selection moves re-render two boxes only.
        self._blocks: LRUCache[tuple[Any, ...], list[Strip]] = LRUCache(64)

    # -- what the parent tells the view ---------------------------------------------------------

    def show_example(self, shown: ExampleShown | None, *, select: int | None = None) -> None:
        """Show an example (None: nothing). Keeps the selected message on the same example."""
        same = (
            shown is not None and self.shown is not None and shown.position == self.shown.position
        )
        self.shown = shown
        self._blocks.clear()
        if shown is None:
            self.border_title = "Conversation"
            self.border_subtitle = ""
        else:
            where = f"line {shown.source_line}" if shown.source_line else "added in this session"
            self.border_title = f"Example {shown.number:,} · {where}"
            self.border_subtitle = self._subtitle(shown)
        if select is not None:
            self.selected = select
        elif not same:
            self.selected = 0
        count = len(shown.messages) if shown is not None else 0
        self.selected = max(0, min(self.selected, count - 1))
        self._rebuild()
        if not same:
            self.scroll_to(y=0, animate=False, immediate=True)
        self._scroll_selected_into_view()

    def show_origin(self, position: int, origin: str) -> None:
        """Where the shown example came from (an import, a generation job), once looked up."""
        shown = self.shown
        if shown is None or shown.position != position or shown.origin == origin:
            return
        shown.origin = origin
        self._rebuild()

    def show_tokens(self, position: int, counts: list[int | None]) -> None:
        """Token counts of the shown example's messages, once they are known."""
        shown = self.shown
        if shown is None or shown.position != position or len(counts) != len(shown.messages):
            return
        shown.message_tokens = counts
        self.border_subtitle = self._subtitle(shown)
        self._rebuild()

    @staticmethod
    def _subtitle(shown: ExampleShown) -> str:
        subtitle = f"{len(shown.messages)} messages"
        tokens = shown.message_tokens
        if tokens and all(t is not None for t in tokens):
            subtitle += f" · {sum(t for t in tokens if t is not None) + 3:,} tokens"
        return subtitle

    @property
    def selected_index(self) -> int | None:
        if self.shown is None or not self.shown.messages:
            return None
        return self.selected

    def select_message(self, index: int | None) -> None:
        if self.shown is None or index is None or not self.shown.messages:
            return
        self.selected = max(0, min(index, len(self.shown.messages) - 1))
        self._rebuild()
        self._scroll_selected_into_view()

    def text(self) -> str:
        """Everything the view holds, as plain text (what a screen reader or a test sees)."""
        return "\n".join(line.text for line in self._lines)

    # -- rendering ------------------------------------------------------------------------------

    def _width(self) -> int:
        return max(20, self.scrollable_content_region.width)

    def _rebuild(self) -> None:
        width = self._width()
        lines: list[Strip] = []
        spans: list[tuple[int, int]] = []
        shown = self.shown
        if shown is None:
            lines = self._render_block(
                Text("No example selected.", style="dim"), width, ("none", width)
            )
        else:
            lines.extend(self._notes(shown, width))
            for index, message in enumerate(shown.messages):
                start = len(lines)
                lines.extend(self._message_block(shown, index, message, width))
                spans.append((start, len(lines)))
        self._lines, self._spans = lines, spans
        set_virtual_height(self, len(lines))
        self.refresh()

    def _render_block(
        self, renderable: RenderableType, width: int, key: tuple[Any, ...]
    ) -> list[Strip]:
        cached = self._blocks.get(key)
        if cached is not None:
            return cached
        console = self.app.console
        options = console.options.update_width(width)
        rendered = console.render_lines(renderable, options, style=self.rich_style, pad=True)
        strips = [Strip(line, width) for line in rendered]
        self._blocks[key] = strips
        return strips

    def _notes(self, shown: ExampleShown, width: int) -> list[Strip]:
        """Findings about the whole example, and the raw record when it has no messages."""
        blocks: list[RenderableType] = []
        if shown.origin:
            blocks.append(Text.assemble(("origin ", "bold"), (shown.origin, "dim")))
        blocks.extend(finding_line(f) for f in shown.findings if f.message_index is None)
        if not shown.messages:
            if shown.raw_text is not None:
                blocks.append(Text("The record as it is in the file:", style="bold"))
                blocks.append(render_text(shown.raw_text))
            else:
                blocks.append(Text("This example has no messages.", style="dim"))
        if not blocks:
            return []
        blocks.append(Text(""))
        return self._render_block(Group(*blocks), width, ("notes", width, shown.origin))

    def _message_block(
        self, shown: ExampleShown, index: int, message: Any, width: int
    ) -> list[Strip]:
        selected = index == self.selected
        focused = self.has_focus
        tokens = shown.message_tokens[index] if index < len(shown.message_tokens) else None
        key = ("message", index, width, selected, selected and focused, tokens)
        cached = self._blocks.get(key)
        if cached is not None:
            return cached
        findings = [f for f in shown.findings if f.message_index == index]
        role = message.get("role", "?") if isinstance(message, dict) else "?"
        role_class = f"conversation--{role}" if role in KNOWN_ROLES else "conversation--odd"
        title_style = self.get_component_rich_style(role_class, partial=True)
        if selected:
            name = "conversation--selected-focused" if focused else "conversation--selected"
            border = self.get_component_rich_style(name, partial=True)
        elif any(str(f.severity) == "error" for f in findings):
            border = self.get_component_rich_style("conversation--error", partial=True)
        else:
            border = self.get_component_rich_style("conversation--border", partial=True)
        body = render_message(message)
        if findings:
            body = Group(*(finding_line(f) for f in findings), body)
        panel = Panel(
            body,
            title=Text(message_title(index, message), style=title_style + Style(bold=True)),
            title_align="left",
            subtitle=Text(f"{tokens:,} tokens", style="dim") if tokens is not None else None,
            subtitle_align="right",
            box=box.DOUBLE if selected and focused else box.ROUNDED,
            border_style=border,
            padding=(0, 1),
        )
        return self._render_block(panel, width, key)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, self.rich_style)
        return self._lines[index].crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def on_resize(self, event: events.Resize) -> None:
        self._blocks.clear()
        self._rebuild()

    def on_focus(self) -> None:
        self._rebuild()

    def on_blur(self) -> None:
        self._rebuild()

    def _scroll_selected_into_view(self) -> None:
        if not self._spans or self.selected >= len(self._spans):
            return
        start, end = self._spans[self.selected]
        height = self.scrollable_content_region.height
        top = round(self.scroll_offset.y)
        if start < top or end - start > height:
            top = start
        elif end > top + height:
            top = end - height
        self.scroll_to(y=top, animate=False, immediate=True)

    # -- keys -----------------------------------------------------------------------------------

    def action_select(self, delta: int) -> None:
        if self.shown is not None and self.shown.messages:
            self.select_message(self.selected + delta)

    def action_select_first(self) -> None:
        self.select_message(0)

    def action_select_last(self) -> None:
        if self.shown is not None:
            self.select_message(len(self.shown.messages) - 1)

    def action_page(self, direction: int) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=self.scroll_offset.y + direction * page, animate=False, immediate=True)

    def action_request(self, action: MessageAction) -> None:
        if self.shown is None:
            return
        index = self.selected if self.shown.messages else -1
        if index < 0 and action != "insert":
            self.notify("This example has no messages; press a to add one.", severity="warning")
            return
        self.post_message(self.MessageActionRequested(action, self.shown.position, index))

    async def _on_click(self, event: events.Click) -> None:
        line = round(self.scroll_offset.y) + event.y
        for index, (start, end) in enumerate(self._spans):
            if start <= line < end:
                self.select_message(index)
                return
