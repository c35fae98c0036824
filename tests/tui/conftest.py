"""Helpers for driving the workbench with Pilot: a demo dataset in a temporary home, and a way to
wait until every worker the app started (and the ones those started) has finished."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.message import Message
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from ftui.config import Config
from ftui.core.dataset.demo import create_demo_workspace
from ftui.tui.app import FtuiApp, make_app
from ftui.tui.sections.data.section import DataSection

SIZE = (160, 48)


async def settle(pilot: Pilot[Any], rounds: int = 50) -> None:
    """Wait until no worker runs and the message queues are empty (workers start workers:
    opening indexes, indexing starts validation, so one wait is not enough)."""
    app = pilot.app
    quiet = 0
    for _ in range(rounds):
        # A cancelled worker was replaced by a newer one: that one is waited for next round.
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        # pause(0): handle every queued message and repaint, without waiting for the CPU to
        # go idle (pause() does, up to a second, and a test has nothing to wait for then).
        await pilot.pause(0)
        if any(not worker.is_finished for worker in app.workers):
            quiet = 0
            continue
        quiet += 1
        if quiet >= 2:
            return
    raise AssertionError(f"the app did not settle: {list(app.workers)}")


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press keys as a terminal sends them, handling each before the next.

    Like Pilot.press, minus its two waits per key for the CPU to go idle: after a cursor move
    the app counts tokens in a worker, so those waits add up to most of a test's time."""
    app = pilot.app
    for key in keys:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        try:
            char: str | None = unicodedata.lookup(
                _get_unicode_name_from_key(REPLACED_KEYS.get(name, name))
            )
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(name, char)
        event.set_sender(app)
        app.post_message(event)
        # The app forwards the key to the focused widget, whose action posts messages to its
        # parents, whose handlers may repaint after a frame: one round of handling each.
        for _ in range(4):
            await pilot.pause(0)


def data_section(app: FtuiApp) -> DataSection:
    assert app.workbench is not None
    return app.workbench.data


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def config(home: Path) -> Config:
    return Config(home=home)


@pytest.fixture
def demo_path(tmp_path: Path) -> Path:
    return create_demo_workspace(tmp_path / "workspace")


@pytest.fixture
def app_factory(config: Config) -> Callable[..., FtuiApp]:
    def factory(path: Path | None = None, **kwargs: Any) -> FtuiApp:
        return make_app(config, path, **kwargs)

    return factory


class Recorder:
    """Captures the messages the app handles (run_test(message_hook=...))."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def of(self, kind: type[Message]) -> list[Any]:
        """Each message of that kind once (a bubbling message is handled at every level)."""
        seen: set[int] = set()
        found = []
        for message in self.messages:
            if isinstance(message, kind) and id(message) not in seen:
                seen.add(id(message))
                found.append(message)
        return found


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
