"""The cost panel: the open dataset's training cost and the return of fine-tuning on it.

The inputs (model, compare model, requests a day, prompt tokens saved) recompute the estimate as
they are typed. Tokens are counted in a thread worker from the session (edits included), once per
pair of encodings; changing a price-only input recomputes at once from the counts kept. The
screen shows `ftui cost`'s table and says which price table and which overrides it used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual.worker import get_current_worker

from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL, is_local_model
from ftui.tui.shared_session import Cancelled

if TYPE_CHECKING:
    from ftui.config import PricesSettings
    from ftui.core.validation.dataset_tokens import DatasetTokens
    from ftui.tui.shared_session import SharedSession

DEFAULT_DAILY_REQUESTS = "1000"
NUMBER_FIELDS = ("cost-requests", "cost-saved")


@dataclass
class TokensCounted(Message):
    """The session's examples counted in `encoding` (and the request also in `also`)."""

    key: tuple[str, str | None]
    tokens: DatasetTokens | None
    error: str | None = None


class CostInput(Input):
    """An Input that runs its own key bindings (backspace, delete, cursor moves) as it reads
    the key, in the order typed.

    Textual resolves a non-priority binding only once the key has bubbled up to the App, while a
    printable key is inserted at once: in a burst such as `⌫ ⌫ 7 7` the digits land first and the
    backspaces then erase them. Handling the field's own bindings here keeps every key in order.
    """

    async def _on_key(self, event: events.Key) -> None:
        focused = self.app.focused
        if focused is not self and focused is not None:
            # Typed after a tab this field already handled: the key belongs to the next one.
            event.stop()
            event.prevent_default()
            focused._forward_event(events.Key(event.key, event.character))  # a fresh, live copy
            return
        if event.key in ("tab", "shift+tab"):
            # Moves focus now, so the keys typed after it go to the next field.
            event.stop()
            event.prevent_default()
            self.screen.focus_next() if event.key == "tab" else self.screen.focus_previous()
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            # App.run_action says whether it ran (Widget.run_action returns None).
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()  # Input's own handler, next in the MRO, is skipped
                return


class CostScreen(ModalScreen[None]):
    """`$` in the Data section: training cost, monthly inference on each side, break-even."""

    BINDINGS: ClassVar = [Binding("escape", "close", "Close", show=False)]

    def __init__(self, session: SharedSession, prices: PricesSettings) -> None:
        super().__init__(classes="dialog-screen")
        self.session = session
        self.prices = prices
        self.counts: dict[tuple[str, str | None], DatasetTokens] = {}
        self.counting: tuple[str, str | None] | None = None
        options = session.options
        model = options.model if options is not None else DEFAULT_OPENAI_MODEL
        self._model = DEFAULT_OPENAI_MODEL if is_local_model(model) else model

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog cost-dialog"):
            yield Static(f"Cost and return · {self.session.path.name}", classes="dialog-title")
            with Horizontal(classes="cost-inputs"):
                yield self._field("Model", self._model, "cost-model")
                yield self._field("Compare with", "", "cost-compare", "its base")
            with Horizontal(classes="cost-inputs"):
                yield self._field("Requests a day", DEFAULT_DAILY_REQUESTS, "cost-requests")
                yield self._field("Prompt tokens saved", "0", "cost-saved")
            yield Static("", id="cost-status", classes="dialog-error", markup=False)
            with VerticalScroll(id="cost-scroll"):
                yield Static("", id="cost-result", markup=False)
            yield Static("tab: next field · esc: close", classes="dialog-hint")

    def _field(self, label: str, value: str, id: str, placeholder: str = "") -> Vertical:
        field = CostInput(value, placeholder=placeholder, id=id, compact=True)
        field.cursor_blink = False
        note = Label("", id=f"{id}-note", classes="cost-note", markup=False)
        return Vertical(
            Horizontal(Label(label), note, classes="cost-label"), field, classes="cost-field"
        )

    def on_mount(self) -> None:
        self.query_one("#cost-model", Input).focus()
        self.recompute()

    def action_close(self) -> None:
        self.workers.cancel_group(self, "cost-count")
        self.dismiss(None)

    def _value(self, id: str) -> str:
        return self.query_one(f"#{id}", Input).value.strip()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.recompute()

    def _show(self, status: str, result: str | None = None, *, error: bool = True) -> None:
        line = self.query_one("#cost-status", Static)
        line.update(status)
        line.set_class(error, "dialog-error")  # a count or progress is news, not a fault
        line.set_class(not error, "dialog-note")
        if result is not None:
            self.query_one("#cost-result", Static).update(result)

    def recompute(self) -> None:
        """Estimate from the inputs now, or count first when these encodings are not counted."""
        from ftui.core.pricing.roi import ReturnInputError, compare_prices, trainable_prices
        from ftui.core.pricing.tokens import encoding_for_model

        overrides = self.prices.models
        self._flag_empty_fields()
        try:
            tuned = trainable_prices(self._value("cost-model") or DEFAULT_OPENAI_MODEL, overrides)
            compare_name = self._value("cost-compare")
            compare = compare_prices(compare_name, overrides) if compare_name else None
            requests = self._number("cost-requests", "requests a day")
            saved = self._number("cost-saved", "prompt tokens saved")
        except ReturnInputError as exc:
            self._show(str(exc), "")
            return
        encoding = encoding_for_model(tuned.model)
        also = encoding_for_model(compare.model) if compare is not None else None
        key = (encoding, also if also != encoding else None)
        tokens = self.counts.get(key)
        if tokens is None:
            if self.counting != key:
                self.counting = key
                self._count(key)
            self._show(f"counting tokens ({' and '.join(k for k in key if k)})…", error=False)
            return
        self._estimate(tokens, tuned.model, compare.model if compare else None, requests, saved)

    def _flag_empty_fields(self) -> None:
        for id in NUMBER_FIELDS:
            note = "" if self._value(id) else "· give a number"
            self.query_one(f"#{id}-note", Label).update(note)

    def _number(self, id: str, what: str) -> float:
        """The field's number: an empty field is an error (flagged beside it), never a silent 0."""
        from ftui.core.pricing.roi import ReturnInputError

        text = self._value(id)
        if not text:
            raise ReturnInputError(f"{what} is empty: give a number, 0 or more")
        return _number(text, what)

    def _estimate(
        self,
        tokens: DatasetTokens,
        model: str,
        compare: str | None,
        requests: float,
        saved: float,
    ) -> None:
        from ftui.core.pricing.costs import default_epochs
        from ftui.core.pricing.models import openai_model_info
        from ftui.core.pricing.roi import ReturnInputError, estimate_for_models
        from ftui.core.pricing.roi_report import return_table
        from ftui.core.pricing.tokens import encoding_for_model

        if not tokens.counted:
            self._show("No example of this dataset can be counted: see the validation pane.", "")
            return
        info = openai_model_info(model)
        epochs = default_epochs(tokens.examples)
        also = encoding_for_model(compare) if compare else None
        try:
            estimate, used = estimate_for_models(
                model=model,
                compare_model=compare,
                training_tokens=tokens.billed_tokens(
                    info.training_context if info else None, epochs
                ),
                requests_per_day=requests,
                workload=tokens.workload(),
                prompt_tokens_saved=saved,
                base_workload=tokens.workload(also) if also and also != tokens.encoding else None,
                overrides=self.prices.models,
                overrides_as_of=self.prices.as_of,
            )
        except ReturnInputError as exc:
            self._show(str(exc), "")
            return
        note = f"{epochs} epoch{'s' if epochs != 1 else ''}, auto"
        table = return_table(
            estimate,
            used,
            epochs_note=note,
            compared=compare is not None,
            price_columns=False,
            width=72,
        )
        unread = f" ({tokens.unreadable:,} unreadable left out)" if tokens.unreadable else ""
        self._show(f"{tokens.counted:,} examples counted{unread}", table, error=False)

    @work(thread=True, exclusive=True, group="cost-count", exit_on_error=False)
    def _count(self, key: tuple[str, str | None]) -> None:
        from ftui.core.pricing.tokens import TokenizerError
        from ftui.core.validation.dataset_tokens import count_values

        worker = get_current_worker()
        session = self.session

        def values() -> Iterator[Any]:
            for position in range(len(session)):
                if worker.is_cancelled:
                    raise Cancelled
                yield session.value(position)

        try:
            tokens = count_values(values(), session.format, key[0], also=key[1])
        except Cancelled:
            return
        except TokenizerError as exc:
            self.post_message(TokensCounted(key, None, str(exc)))
            return
        self.post_message(TokensCounted(key, tokens))

    @on(TokensCounted)
    def _counted(self, event: TokensCounted) -> None:
        if self.counting == event.key:
            self.counting = None
        if event.tokens is None:
            self._show(f"Could not count the tokens: {event.error}")
            return
        self.counts[event.key] = event.tokens
        self.recompute()


def _number(text: str, what: str) -> float:
    from ftui.core.pricing.roi import ReturnInputError

    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise ReturnInputError(f"{what} must be a number, not {text!r}") from None
    if value < 0 or value != value or value in (float("inf"), float("-inf")):
        raise ReturnInputError(f"{what} must be a number, 0 or more, not {text!r}")
    return value
