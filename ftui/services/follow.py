"""One way to follow a run, for `ftui train --wait`, `ftui runs watch` and the run page alike.

`follow_run` is an async iterator of `RunUpdate`s: the events that arrived since the last update
and the run's state folded with them (the reducer of `ftui.core.runs`, seeded with what the store
had indexed). It indexes what it reads into the store, checks now and then that the run's process
is still alive (see `liveness`: a run whose process is gone becomes failed with its last log
lines), and ends once the run reaches a terminal status. A remote backend's poller writes to the
same event log, and a live monitor reads the same updates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass

from ftui.core.runs.events import parse_event
from ftui.core.runs.kinds import RunEvent
from ftui.core.runs.state import RunState
from ftui.services import liveness
from ftui.services.eventlog import EventTailer, read_chunk
from ftui.services.store import RunStore

POLL_INTERVAL_S = 0.5
LIVENESS_INTERVAL_S = 2.0
# Read per update: a flooded log comes as many small updates rather than a few big ones, so a
# reader shows it as it comes (a UI that repaints ten times a second has something each time).
READ_CHUNK_BYTES = 128 * 1024


@dataclass(frozen=True)
class RunUpdate:
    run_id: str
    events: tuple[RunEvent, ...]  # new since the last update (the first: history, if asked)
    state: RunState  # after them

    @property
    def finished(self) -> bool:
        return self.state.is_terminal


async def follow_run(
    store: RunStore,
    run_id: str,
    *,
    history_from: int | None = None,
    poll_interval: float = POLL_INTERVAL_S,
    liveness_interval: float = LIVENESS_INTERVAL_S,
    checks: Mapping[str, liveness.LivenessCheck] = liveness.CHECKS,
) -> AsyncGenerator[RunUpdate, None]:
    """Updates of one run until it ends (a run already over yields one update and stops).

    The first update holds the events logged from byte offset `history_from` up to where the
    store stood (none when not given) and the state the store had; each later one, what the log
    gained. Its process is checked at once and then every `liveness_interval` seconds while the
    log is quiet.
    """
    full_id = await asyncio.to_thread(store.resolve_run_id, run_id)
    await asyncio.to_thread(store.ingest_events, full_id)
    state, indexed_to = await asyncio.to_thread(store.run_state, full_id)
    run = await asyncio.to_thread(store.get_run, full_id)
    history: tuple[RunEvent, ...] = ()
    if history_from is not None and history_from < indexed_to:
        chunk = await asyncio.to_thread(read_chunk, run.events_path, history_from)
        history = tuple(
            parse_event(record)
            for record, offset in zip(chunk.events, chunk.offsets, strict=True)
            if offset < indexed_to
        )
    yield RunUpdate(full_id, history, state)
    if state.is_terminal:
        return
    tailer = EventTailer(
        run.events_path,
        offset=indexed_to,
        poll_interval=poll_interval,
        chunk_bytes=READ_CHUNK_BYTES,
    )
    next_check = 0.0  # at once: a page opened on a dead run says so straight away
    over_in_store = False
    # Indexing runs beside the follow, not before each update: a flooded log reaches the reader
    # at the pace it is read, and the store catches up (one ingest at a time, each taking in all
    # the log gained) before the last update.
    indexing: asyncio.Task[int] | None = None
    unindexed = False

    def index_in_background() -> None:
        nonlocal indexing, unindexed
        if indexing is not None and not indexing.done():
            unindexed = True
            return
        if indexing is not None:
            indexing.result()  # an ingest that failed: raised here, not lost
        unindexed = False
        indexing = asyncio.ensure_future(asyncio.to_thread(store.ingest_events, full_id))

    async def index_now() -> None:
        if indexing is not None:
            await indexing
        await asyncio.to_thread(store.ingest_events, full_id)

    try:
        while True:
            records = tailer.read_available()
            if records:
                events = tuple(parse_event(record) for record in records)
                state = state.apply_all(events)
                if state.is_terminal:
                    await index_now()  # the store has the final word before the reader does
                    yield RunUpdate(full_id, events, state)
                    return
                yield RunUpdate(full_id, events, state)
                index_in_background()
                continue
            if unindexed and (indexing is None or indexing.done()):
                index_in_background()
            if over_in_store:
                # The store has a final status the log did not show us (it was rewritten):
                # end on the store's word rather than wait for a line that will not come.
                await index_now()
                state, _ = await asyncio.to_thread(store.run_state, full_id)
                yield RunUpdate(full_id, (), state)
                return
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + liveness_interval
                # Gone or just finished: its last words and final status are in the log now.
                over_in_store = await asyncio.to_thread(_check, store, full_id, checks)
                if over_in_store:
                    continue
            await asyncio.sleep(poll_interval)
    finally:
        tailer.close()
        if indexing is not None and not indexing.done():
            await asyncio.wait([indexing])


def _check(store: RunStore, run_id: str, checks: Mapping[str, liveness.LivenessCheck]) -> bool:
    """True when the run was found over (gone, or its final status just landed)."""
    return liveness.check_run(store, store.get_run(run_id), checks).is_terminal
