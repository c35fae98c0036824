"""The generate screen: a model writes examples from the open dataset or a scenarios file.

Opened from the Data section (ctrl+g). Distill and paraphrase start from the open dataset, synth
from a scenarios file (one a line, or a dataset's user turns). The prompts are editable (their
placeholders are checked before any call), Run starts the job in an async worker with its
progress and ETA shown a few times a second, Cancel stops it cleanly (what was made is written;
Run again resumes, the cache answering what was asked), and at the end the screen closes with
the output's path, which the Data section opens.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ftui.core.generation.prompts import PARAPHRASE, SYNTH_ANSWER, SYNTH_QUESTIONS
from ftui.tui.keymap import command
from ftui.tui.widgets.spec_suggester import SpecSuggester

if TYPE_CHECKING:
    from ftui.services.generation_job import GenerationProgress
    from ftui.services.store import RunStore

PROGRESS_EVERY_S = 0.2
RUN_GROUP = "generate-job"
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
class GenerateEnded(Message):
    out: Path | None  # None: nothing was written
    summary: str
    error: bool = False


def describe(progress: GenerationProgress) -> str:
    eta = "-" if progress.eta_s is None else f"{progress.eta_s:.0f} s"
    cost = f"${progress.cost_usd:.4f}" + (" + unknown" if progress.cost_unknown else "")
    return (
        f"{progress.done}/{progress.total} tasks · {progress.examples} examples · "
        f"{progress.calls} calls ({progress.cached} cached) · {progress.tokens:,} tokens · "
        f"{cost} · ETA {eta} · {progress.dropped} dropped, {progress.flagged} flagged"
    )


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

    def compose(self) -> ComposeResult:
        src = str(self.source) if self.source else ""
        out = (
            str(self.source.with_name(self.source.stem + ".generated.jsonl")) if self.source else ""
        )
        gen = self.config.generate
        with Vertical(id="generate-dialog"):
            yield Label("Generate examples with a model", id="generate-title")
            with VerticalScroll(id="generate-form"):
                yield Select(KINDS, value="distill", allow_blank=False, id="gen-kind")
                yield Input(
                    gen.model or "",
                    placeholder="model spec: openai:MODEL, openai-compatible:URL#MODEL, run:ID",
                    suggester=SpecSuggester(lambda: []),
                    id="gen-model",
                )
                yield Input(
                    src,
                    placeholder="source: a dataset, or a scenarios file for synth",
                    id="gen-source",
                )
                yield Input(
                    out, placeholder="output path (.jsonl); the same one resumes", id="gen-out"
                )
                with Horizontal(classes="gen-row"):
                    yield Input("5", placeholder="n", id="gen-n", tooltip="questions per scenario")
                    yield Input("3", placeholder="k", id="gen-k", tooltip="paraphrases per example")
                    yield Input(
                        str(gen.temperature), placeholder="temperature", id="gen-temperature"
                    )
                    yield Input("1.0", placeholder="question temperature", id="gen-qtemperature")
                with Horizontal(classes="gen-row"):
                    yield Input("", placeholder="budget $", id="gen-budget")
                    yield Input("8", placeholder="concurrency", id="gen-concurrency")
                yield Label("Questions prompt ({scenario}, {n})")
                yield TextArea(
                    SYNTH_QUESTIONS.default, id="gen-questions-prompt", classes="gen-prompt"
                )
                yield Label("Answer prompt ({question}, {scenario})")
                yield TextArea(SYNTH_ANSWER.default, id="gen-answer-prompt", classes="gen-prompt")
                yield Label("Paraphrase prompt ({question}, {k}): the last user turn is rewritten")
                yield TextArea(PARAPHRASE.default, id="gen-paraphrase-prompt", classes="gen-prompt")
            yield Static("", id="gen-status")
            with Horizontal(id="gen-buttons"):
                yield Button("Run", id="gen-run", variant="primary")
                yield Button("Cancel", id="gen-cancel")

    def value(self, name: str) -> str:
        return self.query_one(f"#gen-{name}", Input).value.strip()

    def _status(self, text: str, *, error: bool = False) -> None:
        # Text, not markup: a path or a model's message may hold brackets.
        self.query_one("#gen-status", Static).update(Text(text, style="bold red" if error else ""))

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
        self.dismiss(None)

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

        max_tokens = self.config.generate.max_tokens
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
        self.post_message(GenerateEnded(result.out, result.stopped or summary))

    def _prepare(self, setup: dict[str, Any]) -> tuple[list[Any], list[tuple[str, str]], Any]:
        """In a thread: the source read, the plan made, the model opened."""
        from ftui.core.generation.plan import plan_distill, plan_paraphrase, plan_synth
        from ftui.core.generation.sources import read_examples, read_scenarios
        from ftui.services.inference.base import InferenceError
        from ftui.services.inference.resolve import open_model

        source, kind = setup["source"], setup["kind"]
        if kind == "synth":
            scenarios, _ = read_scenarios(source)
            tasks = plan_synth(scenarios)
            pool = [(s.text, f"{source.name} line {s.line}") for s in scenarios]
        else:
            examples, _ = read_examples(source)
            tasks = plan_distill(examples) if kind == "distill" else plan_paraphrase(examples)
            pool = (
                []
                if kind == "distill"
                else [
                    (e.messages[e.last_user]["content"], f"{source.name} line {e.line}")
                    for e in examples
                ]
            )
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
        if event.error or event.out is None:
            self._status(
                ("[b red]" if event.error else "") + event.summary + ("[/]" if event.error else "")
            )
            return
        self.dismiss(event.out)
