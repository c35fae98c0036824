"""Validation in its worker thread while edits arrive on the UI thread, both real threads over
one `SharedSession`: every result is adopted for the version it was computed for, and what the
session then shows is what a fresh pass over the current content finds."""

from __future__ import annotations

import queue
import random
import threading
import time
from pathlib import Path

from ftui.core.dataset.demo import create_demo_workspace
from ftui.core.editing.checks import Adoption
from ftui.core.editing.edits import DeleteExamples, Edit, InsertExample, SetContent
from ftui.core.editing.full_pass import FullPassResult, run_full_pass
from ftui.core.editing.session import DatasetSession
from ftui.core.validation.validate import ValidationOptions
from ftui.tui.shared_session import SharedSession

ROUNDS = 24
WAIT = 30.0


def missing_content_positions(shared: SharedSession) -> set[int]:
    return {f.example for f in shared.findings if f.code == "missing_content"}


def fresh_pass_positions(shared: SharedSession) -> set[int]:
    """The oracle: a pass over the content as it is now, not adopted."""
    with shared.lock:
        result = run_full_pass(shared.full_pass_snapshot())
        ids = list(shared.unlocked._document.ids())
    return {
        pos
        for pos, example_id in enumerate(ids)
        for f in result.facts.findings.get(example_id, ())
        if f.code == "missing_content"
    }


def random_edit(shared: SharedSession, rng: random.Random) -> Edit:
    count = len(shared)
    pos = rng.randrange(count)
    kind = rng.random()
    if kind < 0.15 and count > 40:
        return DeleteExamples([pos])
    if kind < 0.3:
        empty = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]}
        return InsertExample(pos, empty)
    messages = shared.messages(pos)
    index = rng.randrange(len(messages)) if messages else 0
    return SetContent(pos, index, rng.choice(["", "An answer that says something."]))


def test_results_are_adopted_for_their_version_while_edits_arrive(tmp_path: Path) -> None:
    path = create_demo_workspace(tmp_path / "ws")
    session = DatasetSession.open(
        path, journal_dir=tmp_path / "j", options=ValidationOptions(workers=1)
    )
    session.ensure_indexed()
    shared = SharedSession(session)
    mid_pass = threading.Event()  # the worker is inside a pass, past its snapshot
    edits_done = threading.Event()  # the UI thread made this round's edits
    adopted = threading.Event()  # the UI thread took the last result: next round
    results: queue.Queue[FullPassResult | BaseException] = queue.Queue()
    rounds_with_edits = {r for r in range(ROUNDS) if r % 3 != 0}

    def validation_worker() -> None:
        try:
            for _ in range(ROUNDS):

                def progress(done: int, total: int) -> None:
                    if done == 1:
                        mid_pass.set()
                        assert edits_done.wait(WAIT), "the UI thread never edited"

                results.put(run_full_pass(shared.full_pass_snapshot(), progress))
                assert adopted.wait(WAIT), "the UI thread never took the result"
                adopted.clear()
        except BaseException as exc:  # reported to the test thread
            results.put(exc)

    outcomes: list[tuple[int, Adoption, bool, set[int], set[int]]] = []
    failures: list[BaseException] = []

    def ui_thread() -> None:
        rng = random.Random(8)
        try:
            for round_number in range(ROUNDS):
                assert mid_pass.wait(WAIT), "the pass never started"
                mid_pass.clear()
                if round_number in rounds_with_edits:
                    for _ in range(rng.randint(1, 4)):
                        shared.apply(random_edit(shared, rng))
                    if rng.random() < 0.3:
                        shared.undo()
                edits_done.set()
                result = results.get(timeout=WAIT)
                if isinstance(result, BaseException):
                    raise result
                edits_done.clear()
                if round_number in rounds_with_edits and rng.random() < 0.5:
                    # An edit while the result waits in the UI's queue counts as well.
                    shared.apply(random_edit(shared, rng))
                outcome = shared.adopt_full_pass(result)
                adopted.set()
                outcomes.append(
                    (
                        round_number,
                        outcome,
                        shared.report_is_current,
                        missing_content_positions(shared),
                        fresh_pass_positions(shared),
                    )
                )
        except BaseException as exc:
            failures.append(exc)
            edits_done.set()
            adopted.set()

    threads = [threading.Thread(target=validation_worker), threading.Thread(target=ui_thread)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert not failures, failures
    assert [r for r, *_ in outcomes] == list(range(ROUNDS))  # no result lost
    for round_number, outcome, current, shown, expected in outcomes:
        edited = round_number in rounds_with_edits
        assert outcome is (Adoption.REBASED if edited else Adoption.CURRENT), round_number
        assert current is not edited  # a re-based report never claims to be current
        assert shown == expected, f"round {round_number}: shows {shown}, should be {expected}"
    assert any(expected for *_, expected in outcomes)  # the check had something to find


def test_a_pass_asked_for_during_indexing_indexes_without_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = (
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}'
    )
    path.write_bytes(b"\n".join([line] * 25_000) + b"\n")
    session = DatasetSession.open(path, journal_dir=tmp_path / "j")
    shared = SharedSession(session)
    snapshots: list[object] = []
    worker = threading.Thread(target=lambda: snapshots.append(shared.full_pass_snapshot()))
    with shared.lock:  # the UI thread is painting: the worker indexes meanwhile
        worker.start()
        deadline = time.monotonic() + WAIT
        while not session.indexing_done and time.monotonic() < deadline:
            time.sleep(0.01)
        assert session.indexing_done and not snapshots  # indexed; the snapshot waits its turn
    worker.join(WAIT)
    assert len(snapshots) == 1 and len(session) == 25_000
