"""The validation pane: findings grouped by code, the token and cost summary, two distributions.

Told what to show by the Data section (`show_findings`, `show_report`, `show_progress`); reports
the finding the user picked (`FindingChosen`) and the bulk fix they asked for (`FixRequested`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Horizontal
from textual.message import Message
from textual.widgets import Static, Tree

from ftui.core.findings import SEVERITY_ORDER, Finding, Severity
from ftui.tui.keymap import command
from ftui.tui.widgets.distribution import Distribution, count_bins, log_bins

# Leaves listed under one code; the rest are reachable by search (code:...) and ] / [.
LEAVES_PER_CODE = 200
SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "cyan"}
SEVERITY_GLYPH = {"error": "✖", "warning": "▲", "info": "●"}

FixKind = Literal["duplicates", "token_limit", "system_prompt"]


def finding_label(finding: Finding) -> Text:
    where = f"line {finding.line}" if finding.line else "file"
    if finding.example >= 0:
        where += f" · #{finding.example + 1}"
    if finding.message_index is not None:
        where += f" · msg {finding.message_index + 1}"
    text = Text(f"{where}  ", style="dim")
    text.append(finding.message)
    return text


def group_label(code: str, severity: Severity, count: int) -> Text:
    style = SEVERITY_STYLE[str(severity)]
    text = Text(f"{SEVERITY_GLYPH[str(severity)]} ", style=style)
    text.append(code, style="bold")
    text.append(f"  {count:,}", style=style)
    return text


def summarize_counts(findings: Sequence[Finding]) -> Counter[str]:
    return Counter(str(f.severity) for f in findings)


def _stat(stats: Any, name: str) -> Any:
    if stats is None:
        return None
    if isinstance(stats, dict):
        return stats.get(name)
    return getattr(stats, name, None)


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def report_summary(report: Any, *, stale: bool) -> Text:
    """Token statistics and the cost estimate of a `ValidationReport`, for a narrow column."""
    text = Text()
    tokens = getattr(report, "tokens", None)
    encoding = _stat(tokens, "encoding")
    text.append("Tokens", style="bold")
    text.append(f"  {encoding}\n" if encoding else "\n", style="dim")
    text.append(
        f"total {_number(_stat(tokens, 'total'))} · mean {_number(_stat(tokens, 'mean'))}\n"
    )
    text.append(
        f"min {_number(_stat(tokens, 'min'))} · p50 {_number(_stat(tokens, 'p50'))} · "
        f"p95 {_number(_stat(tokens, 'p95'))} · max {_number(_stat(tokens, 'max'))}\n"
    )
    billing = getattr(report, "billing", None)
    if billing is not None:
        model = _stat(billing, "model")
        text.append("Training", style="bold")
        text.append(f"  {model}\n" if model else "\n", style="dim")
        epochs = _stat(billing, "epochs")
        billed = _stat(billing, "billed_tokens")
        cost = _stat(billing, "estimated_cost_usd")
        price = f"≈ ${cost:,.2f}" if isinstance(cost, int | float) else "cost unknown"
        text.append(f"{_number(epochs)} epochs · {_number(billed)} billed · {price}\n")
    if stale:
        text.append("(before your edits: V re-checks)", style="dim")
    return text


def messages_bins(report: Any) -> list[tuple[str, int]]:
    data = getattr(report, "messages_per_example", None)
    if not data:
        return []
    if isinstance(data, dict):
        return count_bins({int(k): int(v) for k, v in data.items()})
    return count_bins(dict(Counter(int(v) for v in data)))


def tokens_bins(report: Any) -> list[tuple[str, int]]:
    data = getattr(report, "tokens_per_example", None)
    if data is None or not len(data):
        return []
    if isinstance(data, dict):
        return [(str(k), int(v)) for k, v in data.items()]
    return log_bins([int(v) for v in data])


class FindingsTree(Tree[Any]):
    """Findings grouped by code; enter on a finding jumps to it."""

    COMMAND_GROUP = "Validation"
    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "


class ValidationPane(Container):
    COMMAND_GROUP = "Validation"
    BINDINGS: ClassVar = [
        command(
            "d",
            "fix('duplicates')",
            "Drop duplicates",
            "Delete every exact duplicate example, keeping the first of each (undoable).",
            show=True,
        ),
        command(
            "l",
            "fix('token_limit')",
            "Drop too long",
            "Delete the examples over the target model's token limit (undoable).",
            show=True,
        ),
        command(
            "s",
            "fix('system_prompt')",
            "Add system prompt",
            "Add a system message to every example that has none (asks for the text; undoable).",
            show=True,
        ),
    ]

    @dataclass
    class FindingChosen(Message):
        finding: Finding

    @dataclass
    class FixRequested(Message):
        kind: FixKind

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Validation"
        self.counts: Counter[str] = Counter()
        self._report: Any = None
        self._checking = False
        self._checked = True
        self._progress = "checking…"

    def compose(self) -> ComposeResult:
        with Horizontal(id="validation-body"):
            tree: FindingsTree = FindingsTree("findings", id="findings-tree")
            tree.show_root = False
            tree.guide_depth = 2
            yield tree
            yield Static("", id="validation-summary", classes="validation-column")
            yield Distribution(
                "Messages per example", id="messages-distribution", classes="validation-column"
            )
            yield Distribution(
                "Tokens per example", id="tokens-distribution", classes="validation-column"
            )

    @property
    def findings_tree(self) -> FindingsTree:
        return self.query_one(FindingsTree)

    def show_progress(self, label: str, done: int, total: int) -> None:
        percent = f" {done * 100 // total}%" if total else ""
        self._progress = f"{label}{percent}"
        self.border_title = f"Validation · {self._progress}"

    def show_findings(
        self, findings: Sequence[Finding], *, checking: bool = False, checked: bool = True
    ) -> None:
        """Regroup the tree (keeps open groups open). `checked=False`: no full pass is in yet,
        so the title shows progress, not counts that would read as the file's tally."""
        self._checking = checking
        self._checked = checked
        tree = self.findings_tree
        expanded = {node.data for node in tree.root.children if node.is_expanded}
        cursor = tree.cursor_node.data if tree.cursor_node is not None else None
        by_code: dict[str, list[Finding]] = {}
        for finding in findings:
            by_code.setdefault(finding.code, []).append(finding)
        self.counts = summarize_counts(findings)

        def order(item: tuple[str, list[Finding]]) -> tuple[int, int, str]:
            code, group = item
            worst = min(SEVERITY_ORDER[f.severity] for f in group)
            return (worst, -len(group), code)

        tree.clear()
        cursor_line = None
        for code, group in sorted(by_code.items(), key=order):
            worst = min((f.severity for f in group), key=SEVERITY_ORDER.__getitem__)
            node = tree.root.add(group_label(code, worst, len(group)), data=code)
            if code == cursor:
                cursor_line = node
            for finding in group[:LEAVES_PER_CODE]:
                node.add_leaf(finding_label(finding), data=finding)
            if len(group) > LEAVES_PER_CODE:
                more = len(group) - LEAVES_PER_CODE
                node.add_leaf(
                    Text(f"… {more:,} more: ] and [ walk them, or search code:{code}", "dim"),
                    data=None,
                )
            if code in expanded:
                node.expand()
        if not by_code:
            empty = "Checking…" if checking else "No findings." if checked else "Not checked yet."
            tree.root.add_leaf(Text(empty, style="dim"), data=None)
        if cursor_line is not None:
            tree.move_cursor(cursor_line)
        self._show_title()

    def _show_title(self) -> None:
        if not self._checked:
            self.border_title = f"Validation · {self._progress}"
            return
        parts = [
            f"{self.counts.get(name, 0):,} {name}{'s' if self.counts.get(name, 0) != 1 else ''}"
            for name in ("error", "warning")
        ]
        if self.counts.get("info"):
            parts.append(f"{self.counts['info']:,} info")
        checking = " · checking…" if self._checking else ""
        self.border_title = "Validation · " + " · ".join(parts) + checking

    def show_report(self, report: Any, *, stale: bool = False) -> None:
        summary = self.query_one("#validation-summary", Static)
        self._report = report
        if report is None:
            summary.update(Text("Not checked yet.", style="dim"))
            self.query_one("#messages-distribution", Distribution).set_bins([])
            self.query_one("#tokens-distribution", Distribution).set_bins([])
            return
        summary.update(report_summary(report, stale=stale))
        self.query_one("#messages-distribution", Distribution).set_bins(messages_bins(report))
        self.query_one("#tokens-distribution", Distribution).set_bins(tokens_bins(report))

    def mark_stale(self) -> None:
        """Edits happened since the report: say so (the findings themselves stay current)."""
        if self._report is not None:
            self.show_report(self._report, stale=True)

    @on(Tree.NodeSelected)
    def _node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        event.stop()
        if isinstance(event.node.data, Finding):
            self.post_message(self.FindingChosen(event.node.data))

    def action_fix(self, kind: FixKind) -> None:
        self.post_message(self.FixRequested(kind))
