"""What the session knows from validation, kept current as the document changes.

A full pass (ftui.core.editing.full_pass) gives the findings, token counts and content keys of
every example; after that, every example an edit touches is marked stale and re-checked on its
own (with the duplicate check redone for its content key) before anyone asks about it. The rows
the browser shows are cached here too, since they show findings and token counts.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from ftui.core.editing.document import Document
from ftui.core.editing.full_pass import FullPassResult, FullPassSnapshot, TouchedSince
from ftui.core.editing.row_summary import RowSummary, finding_badges, first_user_text, role_pattern
from ftui.core.editing.session_checks import ExampleFacts, at_position, exact_key, ignore_issue
from ftui.core.findings import Finding, Severity

if TYPE_CHECKING:
    from ftui.core.validation.validate import DatasetValidator, ValidationOptions, ValidationReport

ROW_CACHE_SIZE = 50_000
STALE_CHECK_LIMIT = 256


class Adoption(Enum):
    """What became of a full pass's result when it was handed back."""

    CURRENT = "current"  # computed for the content as it is: taken as is
    REBASED = "rebased"  # edits arrived meanwhile: taken, and what they changed is re-checked
    DISCARDED = "discarded"  # computed for another file (saved or reopened since): run again


class Checks:
    """Findings, token counts, content keys and row summaries of a document's examples."""

    def __init__(self, document: Document, options: ValidationOptions | None) -> None:
        self.document = document
        self.options = options
        self.facts = ExampleFacts()
        self.stale: set[int] = set()
        self.rows: dict[int, RowSummary] = {}
        self.report: ValidationReport | None = None
        self.analyser: DatasetValidator | None = None
        self.validator_error: str | None = None
        self._findings_cache: tuple[int, list[Finding]] | None = None
        self._findings_rev = 0
        # One per full pass whose result is not adopted yet (held weakly: a cancelled pass's
        # goes away with it).
        self._open_passes: weakref.WeakSet[TouchedSince] = weakref.WeakSet()

    # -- changes ----------------------------------------------------------------------------------

    def touched(self, example_id: int) -> None:
        """An example's value or place changed: drop what was derived from it."""
        self.rows.pop(example_id, None)
        self.facts.forget_token(example_id)
        self.stale.add(example_id)
        for touched in list(self._open_passes):
            touched.ids.add(example_id)
        self._findings_rev += 1

    def forget_rows(self) -> None:
        self.rows.clear()

    def renumber(self, id_of: Any) -> None:
        """After a save: the same knowledge keyed by the saved file's positions."""
        self.facts = self.facts.renumbered(id_of)
        self.stale = {p for p, example_id in enumerate(id_of) if example_id in self.stale}
        self.rows.clear()
        self._findings_rev += 1

    # -- the validator ----------------------------------------------------------------------------

    def validation_options(self) -> ValidationOptions:
        from ftui.core.validation.validate import ValidationOptions

        options = self.options or ValidationOptions()
        if getattr(options, "fmt", None) != self.document.format:
            options = replace(options, fmt=self.document.format)
        return options

    def get_analyser(self) -> DatasetValidator | None:
        """The validator used for one-example checks and token counts (None if unavailable:
        then `validator_error` says why, and rows show no tokens or findings)."""
        if self.analyser is None and self.validator_error is None:
            try:
                from ftui.core.validation.validate import DatasetValidator

                self.analyser = DatasetValidator(self.validation_options(), path=self.document.path)
            except Exception as exc:  # a missing tokenizer must not take the browser down
                self.validator_error = f"cannot validate: {exc}"
        return self.analyser

    # -- full passes ------------------------------------------------------------------------------

    def snapshot(self, version: int, binding: int) -> FullPassSnapshot:
        """The content as of now, for `run_full_pass` in any thread (the document is indexed)."""
        document = self.document
        ids = document.ids()
        snapshot = FullPassSnapshot(
            version=version,
            binding=binding,
            original=document.original(own_descriptor=True),
            # Edits replace overlay values (never mutate them): copies are the content as of now.
            id_of=ids if isinstance(ids, range) else type(ids)("q", ids),
            overlay=dict(document.overlay),
            options=self.validation_options(),
        )
        self._open_passes.add(snapshot.touched_since)
        return snapshot

    def adopt(self, result: FullPassResult, version: int, binding: int) -> Adoption:
        """Take a full pass's result for the content as of now, if it can describe it."""
        self._open_passes.discard(result.touched_since)
        if result.binding != binding:
            return Adoption.DISCARDED
        self.facts = result.facts
        self.analyser = self.analyser or result.validator
        self.stale = set(result.touched_since.ids)  # changed since the snapshot: checked again
        self.rows.clear()
        self.report = result.report
        self._findings_rev += 1
        return Adoption.CURRENT if result.version == version else Adoption.REBASED

    # -- incremental checks -----------------------------------------------------------------------

    def check_stale(self, example_id: int) -> None:
        """Re-check what changed before answering about `example_id`. An edit can change other
        examples' findings (deleting an original un-flags its copy), so all changed examples are
        checked, unless a bulk edit changed too many to do it between two key presses."""
        if not self.stale:
            return
        if len(self.stale) <= STALE_CHECK_LIMIT:
            for stale_id in list(self.stale):
                self.revalidate_id(stale_id)
        elif example_id in self.stale:
            self.revalidate_id(example_id)

    def revalidate_id(self, example_id: int) -> None:
        facts = self.facts
        self.stale.discard(example_id)
        self.rows.pop(example_id, None)
        self._findings_rev += 1
        old_key = facts.key(example_id)
        pos = self.document.pos_of(example_id)
        if pos is None:  # deleted: its findings go, and its copies may no longer be duplicates
            facts.findings.pop(example_id, None)
            facts.set_key(example_id, 0)
            self._refresh_duplicates(old_key)
            return
        analyser = self.get_analyser()
        if analyser is None:
            return
        analysis = analyser.analyse_record(self.document.record_for_validation(example_id, pos))
        if analysis.tokens >= 0:
            facts.remember_token(example_id, analysis.tokens)
        if analysis.findings:
            facts.findings[example_id] = list(analysis.findings)
        else:
            facts.findings.pop(example_id, None)
        key = analysis.exact_key or 0
        facts.set_key(example_id, key)
        self._refresh_duplicates(old_key)
        if key != old_key:
            self._refresh_duplicates(key)

    def _refresh_duplicates(self, key: int) -> None:
        """Re-derive duplicate_example for every example with content `key`: each one after
        the first (in the current order) is a duplicate of the first."""
        if not key or self.report is None:
            return  # before a full pass nothing is known about the other examples
        facts, document = self.facts, self.document
        members = sorted(
            (pos, example_id)
            for example_id in facts.owners(key)
            if (pos := document.pos_of(example_id)) is not None
        )
        first = ""
        for rank, (pos, example_id) in enumerate(members):
            found = [f for f in facts.findings.get(example_id, ()) if f.code != "duplicate_example"]
            line = document.line_of(example_id)
            if rank == 0:
                first = f"line {line}" if line else f"example {pos + 1} (not saved yet)"
            else:
                found.append(
                    Finding(
                        "duplicate_example",
                        Severity.WARNING,
                        line,
                        pos,
                        f"duplicate of {first} (ignoring whitespace); duplicates over-weight one "
                        "example: remove one",
                    )
                )
            if found:
                facts.findings[example_id] = found
            else:
                facts.findings.pop(example_id, None)
            self.rows.pop(example_id, None)

    # -- what the UI asks -------------------------------------------------------------------------

    def all_findings(self) -> list[Finding]:
        """Every current finding: file-level ones first, then by position."""
        for example_id in list(self.stale):
            self.revalidate_id(example_id)
        if self._findings_cache is not None and self._findings_cache[0] == self._findings_rev:
            return list(self._findings_cache[1])
        by_id = self.facts.findings
        result = list(self.facts.file_findings)
        order = self.document.order
        if order is None:
            count = len(self.document)
            for pos in sorted(i for i in by_id if 0 <= i < count):
                result.extend(at_position(f, pos) for f in by_id[pos])
        elif by_id:
            for pos, example_id in enumerate(order):
                if example_id in by_id:
                    result.extend(at_position(f, pos) for f in by_id[example_id])
        self._findings_cache = (self._findings_rev, result)
        return list(result)

    def findings_for(self, pos: int) -> list[Finding]:
        example_id = self.document.id_at(pos)
        self.check_stale(example_id)
        return [at_position(f, pos) for f in self.facts.findings.get(example_id, ())]

    def row(self, pos: int) -> RowSummary:
        example_id = self.document.id_at(pos)
        self.check_stale(example_id)
        cached = self.rows.get(example_id)
        if cached is None:
            cached = self._build_row(example_id)
            if len(self.rows) >= ROW_CACHE_SIZE:
                self.rows.clear()
            self.rows[example_id] = cached
        if cached.number != pos + 1:
            cached = replace(cached, number=pos + 1)
        return cached

    def _build_row(self, example_id: int) -> RowSummary:
        document = self.document
        value = document.value_by_id(example_id)
        messages = document.messages_by_id(example_id)
        line = document.line_of(example_id) or None
        return RowSummary(
            number=0,
            source_line=line,
            turns=len(messages),
            roles=role_pattern(messages),
            first_user=first_user_text(messages),
            tokens=self.tokens_of(example_id, value, wait=document.indexing_done),
            findings=finding_badges(self.facts.findings.get(example_id, ())),
            edited=example_id in document.overlay,
        )

    def tokens_of(self, example_id: int, value: Any, *, wait: bool = True) -> int | None:
        known = self.facts.token(example_id)
        if known is not None or value is None:
            return known
        if not wait and self.analyser is None:
            return None  # the tokenizer is loading in the indexing worker
        analyser = self.get_analyser()
        if analyser is None:
            return None
        from ftui.core.validation.rules import chat_messages

        messages, tools = chat_messages(value, self.document.format, ignore_issue)
        if messages is None:
            return None
        total, _assistant = analyser.counter.count_example(messages, tools)
        self.facts.remember_token(example_id, total)
        return total

    def token_limit(self) -> int:
        analyser = self.get_analyser()
        if analyser is not None and analyser.token_limit:
            return int(analyser.token_limit)
        limit = getattr(self.options, "token_limit", None)
        if limit:
            return int(limit)
        from ftui.core.pricing.models import DEFAULT_OPENAI_MODEL, openai_model_info

        info = openai_model_info(getattr(self.options, "model", None) or DEFAULT_OPENAI_MODEL)
        info = info or openai_model_info(DEFAULT_OPENAI_MODEL)
        assert info is not None
        return info.training_context

    def content_key(self, pos: int) -> int | None:
        example_id = self.document.id_at(pos)
        if example_id not in self.stale:
            known = self.facts.key(example_id)
            if known:
                return known
        value = self.document.value_by_id(example_id)
        return exact_key(value, self.document.format) if value is not None else None
