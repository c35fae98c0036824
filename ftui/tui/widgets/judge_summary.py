"""The summary of a judge session, as one renderable: B against A per judge (the LLM, the blind
votes, each text metric) with the 95% Wilson interval, human–LLM agreement, the length-controlled
win rate, the warnings (too few to tell...) and the examples B lost worst. This is where the
blind votes' identities are revealed: a vote for "left" is counted for the model that was there.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ftui.core.judge.report import JudgeReport
from ftui.core.judge.stats import MIN_LC_EXAMPLES, Tally


def _rate(tally: Tally) -> tuple[str, str]:
    rate, ci = tally.b_win_rate, tally.ci95
    if rate is None or ci is None:
        return "—", "—"
    return f"{rate:.1%}", f"[{ci[0]:.1%}, {ci[1]:.1%}]"


def tally_table(report: JudgeReport) -> Table:
    table = Table(title=None, expand=False, show_edge=False, pad_edge=False)
    for name, justify in (
        ("judge", "left"),
        ("B won", "right"),
        ("ties", "right"),
        ("B lost", "right"),
        ("unknown", "right"),
        ("B win rate", "right"),
        ("95% interval", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    rows: list[tuple[str, Tally | None]] = [
        (
            f"LLM ({report.judge})" if report.judge else "LLM (none ran)",
            report.llm_tally() if report.judge else None,
        ),
        ("human (blind)", report.human_tally()),
    ]
    rows += [(f"metric {name}", tally) for name, tally in report.metric_tallies().items()]
    for label, tally in rows:
        if tally is None:
            table.add_row(label, *["—"] * 6)
            continue
        rate, ci = _rate(tally)
        table.add_row(
            label,
            str(tally.b_wins),
            str(tally.ties),
            str(tally.a_wins),
            str(tally.unknown),
            rate,
            ci,
        )
    return table


def render_summary(report: JudgeReport, *, session: str | None = None) -> RenderableType:
    parts: list[RenderableType] = []
    head = Text()
    head.append("B ", style="bold")
    head.append(report.b)
    head.append("  against  ", style="dim")
    head.append("A ", style="bold")
    head.append(report.a)
    head.append(f"\n{len(report.examples)} of {report.n} examples", style="dim")
    if session:
        head.append(f" · session {session}", style="dim")
    parts += [head, Text(""), tally_table(report), Text("")]

    lines = Text()
    agreed = report.agreement()
    if agreed.n:
        rate = f"{agreed.rate:.0%}" if agreed.rate is not None else "—"
        kappa = f"{agreed.kappa:.2f}" if agreed.kappa is not None else "undefined"
        lines.append(f"Human–LLM agreement: {rate} of {agreed.n} examples (Cohen's κ {kappa})\n")
    else:
        lines.append("Human–LLM agreement: no example has both a vote and a verdict\n", "dim")
    lc = report.length_controlled_win_rate()
    if lc is not None:
        lines.append(f"Length-controlled win rate of B: {lc:.1%}\n")
    else:
        lines.append(
            f"Length-controlled win rate of B: n/a (needs {MIN_LC_EXAMPLES} judged pairs)\n", "dim"
        )
    parts.append(lines)

    warnings = report.warnings()
    if warnings:
        text = Text()
        for warning in warnings:
            text.append(f"! {warning}\n", style="yellow")
        parts += [Text(""), text]

    worst = report.worst()
    if worst:
        text = Text("\nWhere B lost worst\n", style="bold")
        for example in worst:
            question = " ".join(example.question.split())
            if len(question) > 70:
                question = question[:69] + "…"
            text.append(
                f"  {example.key}  judge {example.outcome or '—'} · human {example.human or '—'}"
                f" · B−A {example.len_diff:+d}  {question}\n"
            )
        parts.append(text)
    return Group(*parts)
