"""The generate screen: a model writes examples from the open dataset or a scenarios file.

Opened from the Data section (ctrl+g). Distill and paraphrase start from the open dataset, synth
from a scenarios file (one a line, or a dataset's user turns). The prompts are editable (their
placeholders are checked before any call), Run starts the job in an async worker with its
progress and ETA shown a few times a second, Cancel stops it cleanly (what was made is written;
Run again resumes, the cache answering what was asked), and at the end the screen closes with
the output's path, which the Data section opens.

Every field is labelled (a filled field still says what it is); the model field completes a
spec as it is typed (the history's runs, the `[generate]` model, OpenAI's models), the runs
read in a thread worker. Source records that cannot serve are counted, the first few shown
with their line and reason, as soon as the source is known and again when the job reads it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ftui.core.generation.prompts import PARAPHRASE, SYNTH_ANSWER, SYNTH_QUESTIONS
from ftui.tui.keymap import command
from ftui.tui.widgets.spec_suggester import SpecSuggester

if TYPE_CHECKING:
    from ftui.core.generation.sources import Skipped
    from ftui.services.generation_job import GenerationProgress
    from ftui.services.store import Run, RunStore

PROGRESS_EVERY_S = 0.2
RUN_GROUP = "generate-job"
RUNS_OFFERED = 100  # the newest runs the model field completes after `run:`
SKIPPED_SHOWN = 3  # reasons a source record was skipped, listed; the rest are counted
LINES_SHOWN = 5  # the lines listed for each reason
# The fields only one kind uses: dimmed for the others.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "synth": ("gen-n", "gen-qtemperature", "gen-questions-prompt", "gen-answer-prompt"),
    "paraphrase": ("gen-k", "gen-paraphrase-prompt"),
}
KINDS = (
    ("Distill: a teacher answers", "distill"),
    ("Paraphrase: k rewrites", "paraphrase"),
    ("Synth: questions from scenarios", "synth"),
)


@dataclass
class GenerateProgressed(Message):
    progress: GenerationProgress

    def can_replace(self, message: Message) -> bool:  # a newer count replaces a pending one
        return isinstance(message, GenerateProgressed)


@dataclass
class RunsListed(Message):
    runs: list[Run]


@dataclass
class SourceChecked(Message):
    """The records of `source` that cannot serve, counted when it was read."""

    source: Path
    skipped: list[Skipped]
    error: str | None = None  # the source cannot be read at all


@dataclass
class GenerateEnded(Message):
    out: Path | None  # None: nothing was written
    summary: str
    error: bool = False
    warnings: list[str] = field(default_factory=list)  # e.g. the output made by another model


def describe_skipped(source: Path, skipped: list[Skipped]) -> str:
    """The count of skipped records, then the first few reasons, each with its lines."""
    if not skipped:
        return ""
    lines_by_reason: dict[str, list[int]] = {}
    for item in skipped:
        lines_by_reason.setdefault(item.reason, []).append(item.line)
    plural = "s" if len(skipped) > 1 else ""
    out = [f"{len(skipped)} record{plural} of {source.name} skipped:"]
    for reason, lines in list(lines_by_reason.items())[:SKIPPED_SHOWN]:
        shown = ", ".join(str(line) for line in lines[:LINES_SHOWN])
        more = f" (+{len(lines) - LINES_SHOWN})" if len(lines) > LINES_SHOWN else ""
        out.append(f"  line{'s' if len(lines) > 1 else ''} {shown}{more}: {reason}")
    if len(lines_by_reason) > SKIPPED_SHOWN:
        out.append(f"  and {len(lines_by_reason) - SKIPPED_SHOWN} other reasons")
    return "\n".join(out)


class GenerateSpecSuggester(SpecSuggester):
    """The judge's completions, and first the `[generate]` model when it completes the text."""

    def __init__(self, run_ids: Any, configured: str | None) -> None:
        super().__init__(run_ids)
        self.configured = configured

    async def get_suggestion(self, value: str) -> str | None:
        if self.configured and self.configured != value and self.configured.startswith(value):
            return self.configured
        return await super().get_suggestion(value)


def describe(progress: GenerationProgress) -> str:
    eta = "-" if progress.eta_s is None else f"{progress.eta_s:.0f} s"
    cost = f"${progress.cost_usd:.4f}" + (" + unknown" if progress.cost_unknown else "")
    return (
        f"{progress.done}/{progress.total} tasks · {progress.examples} examples · "
        f"{progress.calls} calls ({progress.cached} cached) · {progress.tokens:,} tokens · "
        f"{cost} · ETA {eta} · {progress.dropped} dropped, {progress.flagged} flagged"
    )


def default_output(source: Path, kind: str) -> Path:
    """Where a job writes when the user names no output: beside its source, named by kind."""
    return source.with_name(f"{source.stem}.{kind}.jsonl")


class GenerateScreen(ModalScreen[Path | None]):
    BINDINGS: ClassVar = [
        command("ctrl+r", "run", "Run", "Start generating (or resume).", show=True),
        command("escape", "cancel", "Cancel", "Stop the job (resumable), or close.", show=True),
    ]

    def __init__(self, store: RunStore, config: Any, source: Path | None) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.source = source
        self.running = False
        self._progress_at = 0.0
        self._run_ids: list[str] = []  # the history's runs, for the model field's completion
        # The Output the screen last filled in: while the field still holds it, the user has
        # not chosen one, and it follows the Source and the Kind.
        self._default_out = str(default_output(source, "distill")) if source else ""
        self._finished_out: Path | None = None  # a run that ended with a warning wrote this

    def compose(self) -> ComposeResult:
        from ftui.commands.generate import default_generate_spec

        src = str(self.source) if self.source else ""
        out = self._default_out
        gen = self.config.generate
        spec = default_generate_spec(self.config)
        with Vertical(id="generate-dialog"):
            yield Label("Generate examples with a model", id="generate-title")
            with VerticalScroll(id="generate-form"):
                yield _row(
                    "Kind",
                    Select(KINDS, value="distill", allow_blank=False, id="gen-kind", compact=True),
                )
                yield _row(
                    "Model",
                    _input(
                        spec or "",
                        "openai:MODEL · openai-compatible:URL#MODEL · run:ID",
                        "gen-model",
                        suggester=GenerateSpecSuggester(lambda: self._run_ids, spec),
                    ),
                )
                yield _row(
                    "Source",
                    _input(src, "a dataset; for synth, a scenarios file too", "gen-source"),
                )
                yield _row(
                    "Output",
                    _input(out, "a .jsonl path; the same one resumes", "gen-out"),
                )
                with Horizontal(classes="gen-cells"):
                    yield _cell("Questions, n", "5", "gen-n", "per scenario (synth)")
                    yield _cell("Rewrites, k", "3", "gen-k", "per example (paraphrase)")
                    yield _cell("Concurrency", "8", "gen-concurrency", "calls at once")
                with Horizontal(classes="gen-cells"):
                    yield _cell("Temperature", str(gen.temperature), "gen-temperature", "0 to 2")
                    yield _cell("Question temp.", "1.0", "gen-qtemperature", "0 to 2 (synth)")
                    yield _cell("Budget $", "", "gen-budget", "no limit")
                with Horizontal(classes="gen-cells"):
                    yield _cell("Budget tokens", "", "gen-budget-tokens", "no limit")
                    yield _cell("Max tokens", str(gen.max_tokens), "gen-max-tokens", "per reply")
                yield Label("Questions prompt (synth; {scenario}, {n})", classes="gen-label-above")
                yield _prompt(SYNTH_QUESTIONS.default, "gen-questions-prompt")
                yield Label(
                    "Answer prompt (synth; {question}, {scenario})", classes="gen-label-above"
                )
                yield _prompt(SYNTH_ANSWER.default, "gen-answer-prompt")
                yield Label(
                    "Paraphrase prompt ({question}, {k}): the last user turn is rewritten",
                    classes="gen-label-above",
                )
                yield _prompt(PARAPHRASE.default, "gen-paraphrase-prompt")
            with Vertical(id="gen-status-area"):
                yield Static("", id="gen-skipped", markup=False)
                yield Static("", id="gen-status", markup=False)
            with Horizontal(id="gen-buttons"):
                yield Static("ctrl+r: run · esc: stop or close · tab: next field", id="gen-hint")
                yield Button("Run", id="gen-run", variant="primary", compact=True)
                yield Button("Cancel", id="gen-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#gen-model", Input).focus()
        self._status("")
        self._notice("")
        self._show_kind("distill")
        self._list_runs()
        if self.source is not None:
            self._check_source(self.source)

    @on(Select.Changed, "#gen-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self._show_kind(str(event.value))
        self._follow_source()

    def _follow_source(self) -> None:
        """Output follows Source and Kind until the user types an output of their own."""
        out = self.query_one("#gen-out", Input)
        if out.value.strip() != self._default_out:
            return
        source = self.value("source")
        kind = str(self.query_one("#gen-kind", Select).value)
        self._default_out = str(default_output(Path(source), kind)) if source else ""
        out.value = self._default_out

    def _show_kind(self, kind: str) -> None:
        """Dim the fields this kind does not use (they keep their values)."""
        for id in KIND_FIELDS["synth"] + KIND_FIELDS["paraphrase"]:
            self.query_one(f"#{id}").disabled = id not in KIND_FIELDS.get(kind, ())

    @work(thread=True, group="generate-runs", exit_on_error=False)
    def _list_runs(self) -> None:
        self.post_message(RunsListed(self.store.list_runs(limit=RUNS_OFFERED)))

    @on(RunsListed)
    def _runs_listed(self, event: RunsListed) -> None:
        self._run_ids = [run.id for run in event.runs]

    @on(Input.Changed, "#gen-source")
    def _source_changed(self, event: Input.Changed) -> None:
        path = Path(event.value.strip()).expanduser()
        self._follow_source()
        self._notice("")
        if path.is_file():
            self._check_source(path)

    @work(thread=True, exclusive=True, group="generate-source", exit_on_error=False)
    def _check_source(self, path: Path) -> None:
        """Read the source once to count what it skips (a text file of scenarios skips none)."""
        from ftui.core.generation.sources import DATASET_SUFFIXES, SourceError, read_examples

        if path.suffix.lower() not in DATASET_SUFFIXES:
            self.post_message(SourceChecked(path, []))
            return
        try:
            _, skipped = read_examples(path)
        except SourceError as exc:
            self.post_message(SourceChecked(path, [], error=str(exc)))
            return
        self.post_message(SourceChecked(path, skipped))

    @on(SourceChecked)
    def _source_checked(self, event: SourceChecked) -> None:
        if Path(self.value("source")).expanduser() != event.source:
            return  # an answer for a path no longer in the field
        self._notice(event.error or describe_skipped(event.source, event.skipped), event.error)

    def _notice(self, text: str, error: str | None = None) -> None:
        notice = self.query_one("#gen-skipped", Static)
        notice.update(Text(text, style="bold red" if error else "yellow"))
        notice.display = bool(text)

    def value(self, name: str) -> str:
        return self.query_one(f"#gen-{name}", Input).value.strip()

    def _status(self, text: str, *, error: bool = False) -> None:
        # Text, not markup: a path or a model's message may hold brackets.
        status = self.query_one("#gen-status", Static)
        status.update(Text(text, style="bold red" if error else ""))
        status.display = bool(text)

    @on(Button.Pressed, "#gen-run")
    def action_run(self) -> None:
        if self.running:
            return
        try:
            setup = self._setup()
        except ValueError as exc:
            self._status(str(exc), error=True)
            return
        self.running = True
        self._status("starting…")
        self._run_job(setup)

    @on(Button.Pressed, "#gen-cancel")
    def action_cancel(self) -> None:
        if self.running:
            self.workers.cancel_group(self, RUN_GROUP)
            self._status("stopping… what was made is written; Run again to go on")
            return
        self.dismiss(self._finished_out)

    def _setup(self) -> dict[str, Any]:
        """The form's values, checked: ValueError says which and what to do."""
        from ftui.core.generation.prompts import STEPS, prompt_for
        from ftui.services.generation_job import GenerationPrompts
        from ftui.services.inference.base import Sampling

        kind = str(self.query_one("#gen-kind", Select).value)
        if not self.value("model"):
            raise ValueError(
                "give a model spec (openai:MODEL, openai-compatible:URL#MODEL, run:ID)"
            )
        source = Path(self.value("source")).expanduser()
        if not source.is_file():
            raise ValueError(f"source {source} is not a file")
        if not self.value("out"):
            raise ValueError("give an output path")

        def number(name: str, cast: Any, low: float, high: float | None = None) -> Any:
            text = self.value(name)
            try:
                value = cast(text)
            except ValueError:
                raise ValueError(f"{name}: {text!r} is not a number") from None
            if value < low or (high is not None and value > high):
                raise ValueError(f"{name}: {value} is out of range")
            return value

        def prompt(step: str, widget: str) -> Any:
            text = self.query_one(f"#gen-{widget}", TextArea).text
            chosen = prompt_for(STEPS[step], text, where=f"the {step} prompt")
            return prompt_for(STEPS[step]) if chosen.text == STEPS[step].default else chosen

        max_tokens = number("max-tokens", int, 1)
        return {
            "kind": kind,
            "spec": self.value("model"),
            "source": source,
            "out": Path(self.value("out")).expanduser(),
            "n": number("n", int, 1),
            "k": number("k", int, 1),
            "sampling": Sampling(number("temperature", float, 0, 2), max_tokens),
            "question_sampling": Sampling(number("qtemperature", float, 0, 2), max_tokens),
            "budget_usd": number("budget", float, 0) if self.value("budget") else None,
            "budget_tokens": (
                number("budget-tokens", int, 0) if self.value("budget-tokens") else None
            ),
            "concurrency": number("concurrency", int, 1),
            "prompts": GenerationPrompts(
                questions=prompt("synth-questions", "questions-prompt"),
                answer=prompt("synth-answer", "answer-prompt"),
                paraphrase=prompt("paraphrase", "paraphrase-prompt"),
            ),
        }

    @work(exclusive=True, group=RUN_GROUP, exit_on_error=False)
    async def _run_job(self, setup: dict[str, Any]) -> None:
        from ftui.services.generation_job import GenerationJob, GenerationJobError

        try:
            tasks, pool, model = await asyncio.to_thread(self._prepare, setup)
        except (ValueError, OSError) as exc:
            self.post_message(GenerateEnded(None, str(exc), error=True))
            return
        job = GenerationJob(
            self.store,
            model,
            tasks,
            setup["out"],
            prompts=setup["prompts"],
            n=setup["n"],
            k=setup["k"],
            sampling=setup["sampling"],
            question_sampling=setup["question_sampling"],
            concurrency=setup["concurrency"],
            budget_usd=setup["budget_usd"],
            budget_tokens=setup["budget_tokens"],
            pool=pool,
            on_progress=self._on_progress,
        )
        try:
            result = await job.run()
        except GenerationJobError as exc:
            self.post_message(GenerateEnded(None, str(exc), error=True))
            return
        except asyncio.CancelledError:
            self.post_message(
                GenerateEnded(None, "cancelled: what was made is written; Run again to go on")
            )
            raise
        finally:
            await model.aclose()
        summary = f"{result.written} new examples written to {result.out}"
        if not result.written:
            summary = job.what_was_made()
        self.post_message(
            GenerateEnded(result.out, result.stopped or summary, warnings=result.warnings)
        )

    def _prepare(self, setup: dict[str, Any]) -> tuple[list[Any], list[tuple[str, str]], Any]:
        """In a thread: the source read, the plan made, the model opened."""
        from ftui.core.generation.plan import plan_distill, plan_paraphrase, plan_synth
        from ftui.core.generation.sources import read_examples, read_scenarios
        from ftui.services.inference.base import InferenceError
        from ftui.services.inference.resolve import open_model

        source, kind = setup["source"], setup["kind"]
        if kind == "synth":
            scenarios, skipped = read_scenarios(source)
            tasks = plan_synth(scenarios)
            pool = [(s.text, f"{source.name} line {s.line}") for s in scenarios]
        else:
            examples, skipped = read_examples(source)
            tasks = plan_distill(examples) if kind == "distill" else plan_paraphrase(examples)
            pool = (
                []
                if kind == "distill"
                else [
                    (e.messages[e.last_user]["content"], f"{source.name} line {e.line}")
                    for e in examples
                ]
            )
        self.post_message(SourceChecked(source, skipped))
        try:
            model = open_model(setup["spec"], config=self.config, store=self.store)
        except InferenceError as exc:
            raise ValueError(str(exc)) from None
        return tasks, pool, model

    def _on_progress(self, progress: GenerationProgress) -> None:
        now = time.monotonic()
        final = progress.done >= progress.total or progress.stopped is not None
        if final or now - self._progress_at >= PROGRESS_EVERY_S:
            self._progress_at = now
            self.post_message(GenerateProgressed(progress))

    @on(GenerateProgressed)
    def _progressed(self, event: GenerateProgressed) -> None:
        self._status(describe(event.progress))

    @on(GenerateEnded)
    def _ended(self, event: GenerateEnded) -> None:
        self.running = False
        if event.error or event.out is None or event.warnings:
            # A warning stays on screen with the summary: change Output and Run, or close
            # (the output written still opens).
            text = "\n".join([*(f"warning: {w}" for w in event.warnings), event.summary])
            self._status(text, error=event.error)
            if not event.error:
                self._finished_out = event.out
            return
        self.dismiss(event.out)


def _input(value: str, placeholder: str, id: str, **kwargs: Any) -> Input:
    box = Input(value, placeholder=placeholder, id=id, compact=True, **kwargs)
    box.cursor_blink = False
    return box


def _row(label: str, widget: Widget) -> Horizontal:
    """A field with its label to the left, as the judge form lays them out."""
    return Horizontal(Label(label, classes="gen-label"), widget, classes="gen-field")


def _cell(label: str, value: str, id: str, placeholder: str) -> Vertical:
    """A short field with its label above, three to a row, as the cost panel lays them out."""
    return Vertical(Label(label), _input(value, placeholder, id), classes="gen-cell")


def _prompt(text: str, id: str) -> TextArea:
    area = TextArea(text, id=id, classes="gen-prompt", soft_wrap=True, compact=True)
    area.cursor_blink = False
    return area
