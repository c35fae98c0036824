"""The services root: the settings, the run history and the training backends, built once.

`make_app(config)` builds one `Services` and hands it down to every screen and section; a CLI
command that needs the history or a backend builds its own. Nothing else constructs a `RunStore`
or a backend, so the app has one connection pool to its history and one object per backend.

Everything is made on first use: importing the store costs SQLite's layer, a backend its checks,
and start-up must pay for neither. Chat-model clients (the judge, generation) will live here too,
built from `config.judge` and `config.generate`.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from typing import TYPE_CHECKING, Any

from ftui.config import Config

if TYPE_CHECKING:
    from ftui.services.backends.base import TrainingBackend
    from ftui.services.backends.local import LocalBackend
    from ftui.services.backends.openai import OpenAIBackend
    from ftui.services.store import Run, RunStore

# Backend name (a run's `backend` field) -> "module:class". A new backend is one more line here.
BACKEND_CLASSES: dict[str, str] = {
    "local": "ftui.services.backends.local:LocalBackend",
    "openai": "ftui.services.backends.openai:OpenAIBackend",
}


class UnknownBackend(LookupError):
    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(BACKEND_CLASSES))
        super().__init__(f"No training backend called {name!r} in this ftui (known: {known}).")


class Services:
    """The app's long-lived services. Thread-safe: workers may be the first to ask for one."""

    def __init__(self, config: Config, *, store: RunStore | None = None) -> None:
        self.config = config
        self._store = store
        self._owns_store = store is None
        self._backends: dict[str, TrainingBackend[Any, Any]] = {}
        self._lock = threading.Lock()

    @property
    def store(self) -> RunStore:
        """The run history (opened, and migrated, on its first query)."""
        with self._lock:
            if self._store is None:
                from ftui.services.store import RunStore

                self._store = RunStore.from_config(self.config)
            return self._store

    @property
    def backend_names(self) -> tuple[str, ...]:
        return tuple(BACKEND_CLASSES)

    def backend(self, name: str) -> TrainingBackend[Any, Any]:
        """The backend that records its runs under `name`, built on first use."""
        if name not in BACKEND_CLASSES:
            raise UnknownBackend(name)
        store = self.store
        with self._lock:
            if name not in self._backends:
                module_name, class_name = BACKEND_CLASSES[name].split(":")
                backend_class = getattr(importlib.import_module(module_name), class_name)
                self._backends[name] = backend_class(store, self.config)
            return self._backends[name]

    def backend_for(self, run: Run) -> TrainingBackend[Any, Any]:
        """The backend that owns `run` (and so can cancel, resume or reattach it)."""
        return self.backend(run.backend)

    @property
    def openai(self) -> OpenAIBackend:
        from ftui.services.backends.openai import OpenAIBackend

        backend = self.backend("openai")
        assert isinstance(backend, OpenAIBackend)
        return backend

    @property
    def local(self) -> LocalBackend:
        from ftui.services.backends.local import LocalBackend

        backend = self.backend("local")
        assert isinstance(backend, LocalBackend)
        return backend

    async def reattach_all(self) -> list[Run]:
        """Every backend's unfinished runs checked (dead ones recorded failed); the live ones."""
        alive: list[Run] = []
        for name in self.backend_names:
            # The first use imports the store and the backend's module: not on the event loop.
            backend = await asyncio.to_thread(self.backend, name)
            alive += await backend.reattach()
        return alive

    def close(self) -> None:
        """Close the history if this root opened it (a store handed in belongs to the caller)."""
        with self._lock:
            if self._store is not None and self._owns_store:
                self._store.close()
