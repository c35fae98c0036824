"""The Judge section: is model B better than model A? Set up, run, read, vote, sum up, export.

`JudgePane(services)` is what the workbench mounts (`run_id` opens it on "Judge this run").
Three views, one at a time: the setup form (`widgets.judge_form`; ctrl+g), the results (the
examples as a Line API list over one side-by-side example; ctrl+r) and the summary (s). ctrl+l
checks the form (each problem beside its field, nothing launched) and runs `JudgeJob` in an
async worker: reading the eval set and opening the models happen in threads, the job's
progress comes back as messages at most ten a second, ctrl+x cancels (what finished is kept in
the store and shown). v starts a blind vote session (`screens.judge_vote`) on the results; its
votes are stored with the session, and the summary counts them. e exports the report as
Markdown and JSON (atomic writes). ctrl+o lists the sessions the history keeps and opens one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import ContentSwitcher, Static

from ftui.core.judge.report import JudgeReport
from ftui.services.root import Services
from ftui.services.store import JudgeResult, Run
from ftui.tui.keymap import command
from ftui.tui.sections.judge_session import apply_votes, report_from_rows
from ftui.tui.sections.judge_setup import (
    JUDGE_MAX_TOKENS,
    JudgeSetup,
    RunPrefill,
    check_setup,
    run_prefill,
)
from ftui.tui.widgets.judge_detail import SideBySide
from ftui.tui.widgets.judge_examples import FILTERS, JudgeExampleList
from ftui.tui.widgets.judge_form import JudgeSetupForm
from ftui.tui.widgets.judge_summary import render_summary

if TYPE_CHECKING:
    from ftui.services.inference.base import ChatModel
    from ftui.services.judge_job import JudgeProgress

PROGRESS_EVERY_S = 0.1  # at most ten progress lines a second
RUN_GROUP = "judge-run"
SETUP, RESULTS, SUMMARY = "judge-setup", "judge-results", "judge-summary"
RUNS_OFFERED = 100


@dataclass
class SetupProblems(Message):
    """The setup cannot run: what is wrong, by field."""

    problems: dict[str, str]


@dataclass
class JudgeStarted(Message):
    session: str
    total: int


@dataclass
class JudgeProgressed(Message):
    progress: JudgeProgress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, JudgeProgressed)


@dataclass
class JudgeEnded(Message):
    """The job finished (`report`), stopped at the budget (`stopped`), failed (`error`) or was
    cancelled (`cancelled`); a cancelled or failed job's report is what the store kept."""

    session: str
    report: JudgeReport | None = field(default=None, repr=False)
    stopped: str | None = None
    error: str | None = None
    cancelled: bool = False


@dataclass
class SessionOpened(Message):
    session: str
    report: JudgeReport = field(repr=False)
    votes: dict[str, JudgeResult] = field(repr=False)


@dataclass
class VotesLoaded(Message):
    votes: dict[str, JudgeResult] = field(repr=False)
    show_summary: bool = False


@dataclass
class RunsListed(Message):
    runs: list[Run] = field(repr=False)


@dataclass
class PrefillReady(Message):
    prefill: RunPrefill | None
    error: str | None = None


@dataclass
class Exported(Message):
    paths: list[Path] = field(default_factory=list)
    error: str | None = None


def describe_progress(progress: JudgeProgress) -> str:
    cost = f"${progress.cost_usd:.4f}" + (" + unknown" if progress.cost_unknown else "")
    eta = "—" if progress.eta_s is None else f"{progress.eta_s:.0f} s"
    return (
        f"Judging: {progress.done}/{progress.total} examples · {progress.calls} calls · "
        f"{progress.cached} cached · {cost} · ETA {eta}   (ctrl+x cancels)"
    )


class JudgePane(Container):
    """The A/B judge: setup, a run with live progress, the examples, blind votes, the summary."""

    COMMAND_GROUP = "Judge"
    BINDINGS: ClassVar = [
        command(
            "ctrl+l",
            "launch",
            "Run",
            "Check the setup and run the judge.",
            show=True,
            key_display="^l",
        ),
        command(
            "ctrl+x",
            "cancel",
            "Cancel",
            "Stop the running judge (what finished is kept).",
            show=True,
            key_display="^x",
        ),
        command(
            "ctrl+g", "view('judge-setup')", "Setup", "Back to the setup form.", key_display="^g"
        ),
        command(
            "ctrl+r",
            "view('judge-results')",
            "Results",
            "The judged examples, one by one.",
            key_display="^r",
        ),
        command(
            "s",
            "view('judge-summary')",
            "Summary",
            "Wins, ties and losses per judge with their intervals; the worst examples.",
            show=True,
        ),
        command(
            "f",
            "next_filter",
            "Filter",
            "Show all examples, those B won, lost, tied, or got no verdict.",
            show=True,
        ),
        command("v", "vote", "Blind vote", "Vote on the answers, identities hidden.", show=True),
        command("e", "export", "Export", "Write the report as Markdown and JSON.", show=True),
        command(
            "ctrl+o",
            "past_sessions",
            "Past sessions",
            "Open a judge session the history keeps: its results, summary and votes.",
            key_display="^o",
        ),
        command("escape", "back", "Back", "From an example to the list; from the summary to it."),
    ]

    def __init__(
        self,
        services: Services,
        *,
        run_id: str | None = None,
        model_b: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.services = services
        self.config = services.config
        self.store = services.store
        self.initial_run = run_id
        self.initial_model_b = model_b  # one of the run's checkpoints, instead of the run
        self.report: JudgeReport | None = None
        self.session: str | None = None
        self.total = 0
        self.running = False
        self.vote_rows: dict[str, JudgeResult] = {}
        self._progress_at = 0.0

    def compose(self) -> ComposeResult:
        yield Static("Set up a comparison, then ctrl+l runs it.", id="judge-status", markup=False)
        with ContentSwitcher(initial=SETUP, id="judge-views"):
            form = JudgeSetupForm(id=SETUP)
            form.border_title = "A/B judge: setup"
            yield form
            with Vertical(id=RESULTS):
                yield JudgeExampleList(id="judge-list")
                yield SideBySide(id="judge-detail")
            with VerticalScroll(id=SUMMARY):
                yield Static("", id="judge-summary-text")

    def on_mount(self) -> None:
        if self.config.judge.model:
            from ftui.services.inference.resolve import default_judge_spec

            self.form.set_values({"judge": default_judge_spec(self.config) or ""})
        self._list_runs()
        if self.initial_run is not None:
            self.judge_run(self.initial_run, model_b=self.initial_model_b)

    @property
    def form(self) -> JudgeSetupForm:
        return self.query_one(JudgeSetupForm)

    @property
    def example_list(self) -> JudgeExampleList:
        return self.query_one(JudgeExampleList)

    @property
    def detail(self) -> SideBySide:
        return self.query_one("#judge-detail", SideBySide)

    @property
    def view(self) -> str:
        return self.query_one(ContentSwitcher).current or SETUP

    def _status(self, text: str) -> None:
        self.query_one("#judge-status", Static).update(text)

    # -- views ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action == "launch":
            return not self.running
        if action == "view":
            return parameters == (SETUP,) or self.report is not None
        if action in ("next_filter", "vote", "export"):
            return self.report is not None and self.view != SETUP
        if action == "back":
            return self.view != SETUP
        if action == "past_sessions":
            return not self.running
        return True

    def action_past_sessions(self) -> None:
        from ftui.tui.screens.pick_judge_session import PickJudgeSessionScreen

        def chosen(session: str | None) -> None:
            if session:
                self.open_session(session)

        self.app.push_screen(PickJudgeSessionScreen(self.store, self.session), chosen)

    def action_view(self, view: str) -> None:
        self.show_view(view)

    def show_view(self, view: str) -> None:
        self.query_one(ContentSwitcher).current = view
        if view == SETUP:
            self.form.focus_field("a")
        elif view == RESULTS:
            self.example_list.focus()
        else:
            self.query_one(f"#{SUMMARY}").focus()
            self._show_summary()
        self.refresh_bindings()

    def action_back(self) -> None:
        if self.view == SUMMARY or self.detail.has_focus:
            self.show_view(RESULTS)

    def action_next_filter(self) -> None:
        names = [name for name, _ in FILTERS]
        current = self.example_list.filter
        self.example_list.set_filter(names[(names.index(current) + 1) % len(names)])
        if self.view != RESULTS:
            self.show_view(RESULTS)
        self._show_current()

    # -- the run history: picking a run, "Judge this run" ------------------------------------------

    @work(thread=True, group="judge-runs", exit_on_error=False)
    def _list_runs(self) -> None:
        runs = self.store.list_runs(limit=RUNS_OFFERED)
        self.post_message(RunsListed(runs))

    @on(RunsListed)
    def _runs_listed(self, event: RunsListed) -> None:
        event.stop()
        self.form.set_runs(event.runs)

    @on(JudgeSetupForm.RunPicked)
    def _run_picked(self, event: JudgeSetupForm.RunPicked) -> None:
        event.stop()
        self.judge_run(event.run_id)

    @work(thread=True, exclusive=True, group="judge-prefill", exit_on_error=False)
    def judge_run(self, run_id: str, *, model_b: str | None = None) -> None:
        """Fill the form from a run: its base as A, the run (or `model_b`, one of its
        checkpoints) as B, its validation data."""
        from ftui.services.store import StoreError

        try:
            run = self.store.get_run(self.store.resolve_run_id(run_id))
        except StoreError as exc:
            self.post_message(PrefillReady(None, f"Run {run_id}: {exc}"))
            return
        prefill = run_prefill(run, self.config)
        if model_b is not None:
            prefill = dataclasses.replace(prefill, b=model_b)
        self.post_message(PrefillReady(prefill))

    @on(PrefillReady)
    def _prefill_ready(self, event: PrefillReady) -> None:
        event.stop()
        if event.prefill is None:
            self.notify(
                event.error or "No such run.", title="Judge", severity="error", markup=False
            )
            return
        prefill = event.prefill
        self.form.set_values({"a": prefill.a, "b": prefill.b, "eval_set": prefill.eval_set})
        self.form.show_problems({"eval_set": prefill.note} if prefill.note else {})
        self._status(f"Judging run {prefill.run_id} against its base: check, then ctrl+l.")
        self.show_view(SETUP)

    # -- launching --------------------------------------------------------------------------------

    @on(JudgeSetupForm.Edited)
    def _edited(self, event: JudgeSetupForm.Edited) -> None:
        event.stop()

    def action_launch(self) -> None:
        if self.running:
            return
        setup, problems = check_setup(self.form.values(), self.form.rubric)
        if setup is None:
            self._refuse(problems)
            return
        self.form.show_problems({})
        self._status("Reading the eval set and opening the models…")
        self.running = True
        self.refresh_bindings()
        self._run_job(setup)

    def _refuse(self, problems: dict[str, str]) -> None:
        self.show_view(SETUP)
        self.form.show_problems(problems)
        self.form.focus_field(next(iter(problems)))
        count = len(problems)
        self._status(
            f"Not run: {count} problem{'s' if count > 1 else ''}, written beside the fields."
        )
        self.notify(
            f"Cannot run the judge: {count} problem(s) in the setup.",
            title="Judge",
            severity="error",
        )

    @on(SetupProblems)
    def _setup_problems(self, event: SetupProblems) -> None:
        event.stop()
        self.running = False
        self.refresh_bindings()
        self._refuse(event.problems)

    @work(exclusive=True, group=RUN_GROUP, exit_on_error=False)
    async def _run_job(self, setup: JudgeSetup) -> None:
        from ftui.services.inference.base import Sampling
        from ftui.services.judge_job import JudgeJob, JudgeJobError

        prepared = await asyncio.to_thread(self._prepare, setup)
        if isinstance(prepared, SetupProblems):
            self.post_message(prepared)
            return
        examples, models = prepared
        a, b, judge = models
        job = JudgeJob(
            self.store,
            a,
            b,
            judge,
            examples,
            sampling=Sampling(temperature=setup.temperature, max_tokens=setup.max_tokens),
            judge_sampling=Sampling(
                temperature=self.config.judge.temperature, max_tokens=JUDGE_MAX_TOKENS
            ),
            rubric=setup.rubric,
            concurrency=setup.concurrency,
            budget_usd=setup.budget_usd,
            on_progress=self._on_progress,
            eval_set=str(setup.eval_set),
            system_prompt=setup.system_prompt,
        )
        self.post_message(JudgeStarted(job.session, len(examples)))
        try:
            report = await job.run()
        except JudgeJobError as exc:
            partial = await asyncio.to_thread(self._stored_report, job.session, len(examples))
            self.post_message(JudgeEnded(job.session, partial, error=str(exc)))
            return
        except asyncio.CancelledError:
            partial = self._stored_report(job.session, len(examples))
            self.post_message(JudgeEnded(job.session, partial, cancelled=True))
            raise
        finally:
            for model in (a, b, judge):
                if model is not None:
                    await model.aclose()
        self.post_message(JudgeEnded(job.session, report, stopped=job.stopped))

    def _prepare(
        self, setup: JudgeSetup
    ) -> SetupProblems | tuple[list[Any], tuple[ChatModel, ChatModel, ChatModel | None]]:
        """In a thread: the eval set read and the models opened, or what is wrong with them."""
        from ftui.core.judge.evalset import EvalSetError, read_eval_set
        from ftui.services.inference.base import InferenceError
        from ftui.services.inference.resolve import open_model
        from ftui.services.store import StoreError

        try:
            examples = read_eval_set(setup.eval_set, limit=setup.limit)
        except EvalSetError as exc:
            return SetupProblems({"eval_set": str(exc)})
        except (OSError, ValueError) as exc:
            return SetupProblems({"eval_set": f"{setup.eval_set}: {exc}"})
        opened: dict[str, ChatModel] = {}
        problems: dict[str, str] = {}
        for name, text in (("a", setup.a), ("b", setup.b), ("judge", setup.judge)):
            if text is None:
                continue
            try:
                opened[name] = open_model(text, config=self.config, store=self.store)
            except (ValueError, InferenceError, StoreError, OSError) as exc:
                problems[name] = str(exc)
        if problems:
            return SetupProblems(problems)
        return examples, (opened["a"], opened["b"], opened.get("judge"))

    def _on_progress(self, progress: JudgeProgress) -> None:
        # Called by the job for every call: a message at most every PROGRESS_EVERY_S, and the
        # last one always.
        now = time.monotonic()
        final = progress.done >= progress.total or progress.stopped is not None
        if final or now - self._progress_at >= PROGRESS_EVERY_S:
            self._progress_at = now
            self.post_message(JudgeProgressed(progress))

    @on(JudgeStarted)
    def _started(self, event: JudgeStarted) -> None:
        event.stop()
        self.session, self.total = event.session, event.total
        self._status(f"Judging {event.total} examples (session {event.session})…")

    @on(JudgeProgressed)
    def _progressed(self, event: JudgeProgressed) -> None:
        event.stop()
        if self.running:
            self._status(describe_progress(event.progress))

    @on(JudgeEnded)
    def _ended(self, event: JudgeEnded) -> None:
        event.stop()
        self.running = False
        self.session = event.session
        if event.error:
            self.notify(
                f"The judge stopped: {event.error} — what was answered is cached: run again to "
                "resume.",
                title="Judge",
                severity="error",
                markup=False,
                timeout=15,
            )
        if event.report is not None:
            self.set_report(event.report, event.session)
        done = len(event.report.examples) if event.report else 0
        if event.cancelled:
            self._status(f"Cancelled: {done} of {self.total} examples finished (kept).")
        elif event.error:
            self._status(f"Failed after {done} of {self.total} examples: {event.error}")
        elif event.stopped:
            self._status(event.stopped)
        else:
            self._status(f"Done: {done} examples judged (session {event.session}).")
        self.refresh_bindings()

    def action_cancel(self) -> None:
        if self.running:
            for worker in self.workers:
                if worker.group == RUN_GROUP and not worker.is_finished:
                    worker.cancel()
            self._status("Cancelling…")

    def _stored_report(self, session: str, n: int) -> JudgeReport:
        return report_from_rows(
            self.store.session_judgements(session), self.store.session_votes(session), n=n
        )

    # -- results ----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="judge-open", exit_on_error=False)
    def open_session(self, session: str) -> None:
        """Show a session the store keeps (its examples and its votes)."""
        votes = self.store.session_votes(session)
        report = report_from_rows(self.store.session_judgements(session), votes)
        self.post_message(SessionOpened(session, report, votes))

    @on(SessionOpened)
    def _session_opened(self, event: SessionOpened) -> None:
        event.stop()
        self.set_report(event.report, event.session)
        self.vote_rows = event.votes
        self._status(f"Session {event.session}: {len(event.report.examples)} examples.")

    def set_report(self, report: JudgeReport, session: str) -> None:
        self.report, self.session = report, session
        self.vote_rows = {}
        self.example_list.set_examples(report.examples, keep_key=False)
        self.show_view(RESULTS)
        self._show_current()

    def _show_current(self) -> None:
        example = self.example_list.current
        if example is None or self.report is None:
            self.detail.show(
                "No example matches this filter (f: the next one).", ("A", ""), ("B", "")
            )
            return
        self.detail.show_example(example, self.report.a, self.report.b)

    @on(JudgeExampleList.Highlighted)
    def _highlighted(self, event: JudgeExampleList.Highlighted) -> None:
        event.stop()
        self._show_current()

    @on(JudgeExampleList.Opened)
    def _opened(self, event: JudgeExampleList.Opened) -> None:
        event.stop()
        self.detail.focus()

    @on(SideBySide.Step)
    def _step(self, event: SideBySide.Step) -> None:
        event.stop()
        self.example_list.move_cursor(self.example_list.cursor + event.by)

    def _show_summary(self) -> None:
        if self.report is not None:
            self.query_one("#judge-summary-text", Static).update(
                render_summary(self.report, session=self.session)
            )

    # -- blind votes ------------------------------------------------------------------------------

    def action_vote(self) -> None:
        from ftui.tui.screens.judge_vote import BlindVoteScreen

        if self.report is None or self.session is None:
            return
        votes = {
            key: row.details["vote"]
            for key, row in self.vote_rows.items()
            if row.details.get("vote") in ("left", "right", "tie", "skip")
        }
        notes = {
            key: row.details["note"]
            for key, row in self.vote_rows.items()
            if row.details.get("note")
        }
        screen = BlindVoteScreen(
            self.store,
            self.session,
            self.report.examples,
            votes=votes,
            notes=notes,
            model_a=self.report.a,
            model_b=self.report.b,
        )

        def ended(_written: int | None) -> None:
            self._load_votes(show_summary=True)

        self.app.push_screen(screen, ended)

    @work(thread=True, group="judge-votes", exit_on_error=False)
    def _load_votes(self, show_summary: bool = False) -> None:
        if self.session is not None:
            self.post_message(VotesLoaded(self.store.session_votes(self.session), show_summary))

    @on(VotesLoaded)
    def _votes_loaded(self, event: VotesLoaded) -> None:
        event.stop()
        if self.report is None:
            return
        self.vote_rows = event.votes
        apply_votes(self.report, event.votes)
        self.example_list.set_examples(self.report.examples)
        self._show_current()
        if event.show_summary:
            self.show_view(SUMMARY)

    # -- export -----------------------------------------------------------------------------------

    def action_export(self) -> None:
        from ftui.tui.screens.prompt import PromptScreen

        if self.report is None:
            return
        default = Path.cwd() / f"{self.session or 'judge'}.md"

        def check(text: str) -> str | None:
            if not text:
                return "Give a file path (the .json goes beside it)."
            parent = Path(text).expanduser().parent
            if not parent.is_dir():
                return f"{parent} is not a folder: give a path in an existing folder."
            return None

        def chosen(text: str | None) -> None:
            if text and self.report is not None:
                self._export(self.report, Path(text).expanduser())

        self.app.push_screen(
            PromptScreen(
                "Export the report",
                "Markdown to this path, and JSON beside it (same name, .json).",
                value=str(default),
                check=check,
            ),
            chosen,
        )

    @work(thread=True, group="judge-export", exit_on_error=False)
    def _export(self, report: JudgeReport, path: Path) -> None:
        self.post_message(export_report(report, path))

    @on(Exported)
    def _exported(self, event: Exported) -> None:
        event.stop()
        if event.error:
            self.notify(event.error, title="Export", severity="error", markup=False)
        else:
            self.notify(
                "Wrote " + " and ".join(str(p) for p in event.paths), title="Export", markup=False
            )


def export_report(report: JudgeReport, path: Path) -> Exported:
    """The report as Markdown at `path` (.md added when it has another suffix) and JSON beside
    it, each written atomically."""
    import orjson

    from ftui.core.dataset.atomic import atomic_write_bytes, atomic_write_text

    markdown = path if path.suffix.lower() == ".md" else path.with_name(path.name + ".md")
    as_json = markdown.with_suffix(".json")
    try:
        atomic_write_text(markdown, report.to_markdown())
        atomic_write_bytes(
            as_json, orjson.dumps(report.to_json_dict(), option=orjson.OPT_INDENT_2) + b"\n"
        )
    except OSError as exc:
        return Exported(error=f"Cannot write the report to {markdown}: {exc}")
    return Exported([markdown, as_json])
