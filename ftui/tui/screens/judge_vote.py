"""Blind votes: each example's two answers as left and right, in the order
`core.judge.blind.b_on_left(key, session)` gives, with nothing on screen that names a model.

Keys vote left / right / tie / skip (and move on), n adds a note, j / k walk the examples, Esc
ends the session. Every vote is written to the store at once (`RunStore.record_vote`, in a
thread), so a session can stop anywhere and go on later in the same layout. The screen returns
how many votes it wrote; the identities are revealed only in the summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from ftui.core.judge.blind import Vote, b_on_left, vote_outcome
from ftui.core.judge.report import ExampleResult
from ftui.services.store import RunStore
from ftui.tui.keymap import command
from ftui.tui.widgets.judge_detail import SideBySide, prompt_text

VOTE_WORDS = {"left": "left", "right": "right", "tie": "tie", "skip": "skipped"}


@dataclass
class VoteSaved(Message):
    key: str
    vote: Vote
    error: str | None = None


class BlindVoteScreen(Screen[int]):
    """One example at a time, its answers as left and right; votes go to the store."""

    COMMAND_GROUP = "Blind vote"
    BINDINGS: ClassVar = [
        command("l", "vote('left')", "Left", "The left answer is better.", show=True),
        command("r", "vote('right')", "Right", "The right answer is better.", show=True),
        command("t", "vote('tie')", "Tie", "Both are as good (or as bad).", show=True),
        command("s", "vote('skip')", "Skip", "No vote on this one: move on.", show=True),
        command("n", "note", "Note", "Add a note to this example's vote.", show=True),
        command(
            "escape", "finish", "Done", "End the session: the summary shows the tally.", show=True
        ),
    ]

    def __init__(
        self,
        store: RunStore,
        session: str,
        examples: Sequence[ExampleResult],
        *,
        votes: dict[str, Vote] | None = None,
        notes: dict[str, str] | None = None,
        model_a: str = "",
        model_b: str = "",
    ) -> None:
        super().__init__(id="judge-vote")
        self.store = store
        self.session = session
        self.examples = list(examples)
        self.votes: dict[str, Vote] = dict(votes or {})
        self.notes: dict[str, str] = dict(notes or {})
        self.model_a, self.model_b = model_a, model_b
        self.written = 0
        unvoted = [i for i, e in enumerate(self.examples) if e.key not in self.votes]
        self.index = unvoted[0] if unvoted else 0

    def compose(self) -> ComposeResult:
        yield Static("", id="judge-vote-title", markup=False)
        yield SideBySide(id="judge-vote-detail")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._show()
        self.query_one(SideBySide).focus()

    @property
    def current(self) -> ExampleResult | None:
        return self.examples[self.index] if self.examples else None

    def _show(self) -> None:
        example = self.current
        title = self.query_one("#judge-vote-title", Static)
        if example is None:
            title.update("Nothing to vote on: the session has no examples.")
            return
        done = sum(1 for e in self.examples if e.key in self.votes)
        vote = self.votes.get(example.key)
        line = Text()
        line.append(f"Blind vote · example {self.index + 1} of {len(self.examples)}", "bold")
        line.append(f" · {done} voted")
        line.append(
            f" · this one: {VOTE_WORDS[vote]}" if vote else " · this one: not voted yet",
            style="dim" if vote is None else "",
        )
        if example.key in self.notes:
            line.append(f" · note: {self.notes[example.key]}", style="italic")
        title.update(line)
        left_is_b = b_on_left(example.key, self.session)
        left = example.answer_b if left_is_b else example.answer_a
        right = example.answer_a if left_is_b else example.answer_b
        self.query_one(SideBySide).show(
            prompt_text(example),
            ("Left", left),
            ("Right", right),
            Text("l left · r right · t tie · s skip · n note · j/k move · esc done", "dim"),
        )

    def action_vote(self, vote: Vote) -> None:
        example = self.current
        if example is None:
            return
        self.votes[example.key] = vote
        self._save(example, vote, self.notes.get(example.key))
        if self.index < len(self.examples) - 1:
            self.index += 1
        self._show()

    def action_note(self) -> None:
        from ftui.tui.screens.prompt import PromptScreen

        example = self.current
        if example is None:
            return

        def noted(text: str | None) -> None:
            if text is None:
                return
            self.notes[example.key] = text
            if example.key in self.votes:
                self._save(example, self.votes[example.key], text)
            self._show()

        self.app.push_screen(
            PromptScreen(
                "A note on this example",
                "Kept with your vote (and in the exported report's session).",
                value=self.notes.get(example.key, ""),
            ),
            noted,
        )

    @on(SideBySide.Step)
    def _step(self, event: SideBySide.Step) -> None:
        event.stop()
        if self.examples:
            self.index = max(0, min(len(self.examples) - 1, self.index + event.by))
            self._show()

    def action_finish(self) -> None:
        self.dismiss(self.written)

    @work(thread=True, group="judge-vote", exit_on_error=False)
    def _save(self, example: ExampleResult, vote: Vote, note: str | None) -> None:
        outcome = vote_outcome(vote, b_on_left(example.key, self.session))
        try:
            self.store.record_vote(
                self.session,
                example.key,
                outcome,
                note,
                vote=vote,
                model_a=self.model_a,
                model_b=self.model_b,
            )
        except Exception as exc:  # a vote that could not be kept must say so
            self.post_message(VoteSaved(example.key, vote, str(exc)))
            return
        self.post_message(VoteSaved(example.key, vote))

    @on(VoteSaved)
    def _saved(self, event: VoteSaved) -> None:
        if event.error:
            self.notify(
                f"The vote on {event.key} was not saved: {event.error}",
                title="Blind vote",
                severity="error",
                markup=False,
            )
        else:
            self.written += 1
