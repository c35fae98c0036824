"""The store's SQLite file: one connection per thread, migrations on first use, write transactions.

- WAL mode (readers never block the writer), every write in `BEGIN IMMEDIATE` (the write lock is
  taken up front, so SQLite's busy handler can wait for it instead of failing on a lock upgrade),
  `busy_timeout` and a bounded retry on top.
- Each thread gets its own connection, so the UI's thread workers may call any store method; the
  file is opened (and migrated, see `schema.py`) on first use, so constructing costs nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from ftui.services.store import schema

if TYPE_CHECKING:
    from sqlite_utils import Database

BUSY_TIMEOUT_MS = 30_000
# On top of busy_timeout: a few retries with growing sleeps for the rare SQLITE_BUSY it misses.
WRITE_RETRIES = 8

T = TypeVar("T")


# Optional modules sqlite_utils imports only to map their types to columns (ftui stores none).
_SQLITE_UTILS_EXTRAS = ("pandas", "numpy")


def sqlite_utils_database() -> type[Database]:
    """sqlite_utils' `Database`, imported without pandas and numpy.

    sqlite_utils imports both whenever they are installed (the training extras install them),
    which costs about a second on every `ftui runs` command and in the app's first store query.
    A `None` in `sys.modules` makes an import fail as if the module were absent; the entries
    are removed again at once, so anything else can still import them."""
    blocked = [name for name in _SQLITE_UTILS_EXTRAS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        from sqlite_utils import Database
    finally:
        for name in blocked:
            if sys.modules.get(name) is None:
                del sys.modules[name]
    return Database


def loads(text: str | bytes | None) -> Any:
    return orjson.loads(text) if text else {}


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def retry(action: Callable[[], T]) -> T:
    delay = 0.01
    for attempt in range(WRITE_RETRIES):
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or attempt == WRITE_RETRIES - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


class Connections:
    """The store file and its runs directory, with one connection per thread."""

    def __init__(self, path: Path, runs_dir: Path) -> None:
        self.path = Path(path)
        self.runs_dir = Path(runs_dir)
        self._local = threading.local()
        self._lock = threading.Lock()
        # Weak: a thread's connection closes with the thread (workers come and go), and close()
        # still reaches the ones alive.
        self._connections: weakref.WeakSet[Database] = weakref.WeakSet()
        self._migrated = False

    def db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
        return db

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db().conn

    def _connect(self) -> Database:
        Database = sqlite_utils_database()  # the class: imported on first use
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # explicit transactions only
            check_same_thread=False,  # so close() may close every thread's connection
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across app crashes
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn, execute_plugins=False)
        with self._lock:
            self._connections.add(db)
            if not self._migrated:
                self._migrate(conn)
                self._migrated = True
        return db

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        if schema.user_version(conn) == schema.SCHEMA_VERSION:
            return
        retry(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            schema.migrate(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextlib.contextmanager
    def write(self) -> Iterator[Database]:
        """One write transaction (BEGIN IMMEDIATE); nested calls join the outer one."""
        db = self.db()
        conn = db.conn
        if conn.in_transaction:
            yield db
            return
        retry(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        retry(lambda: conn.execute("COMMIT"))

    def close(self) -> None:
        """Close every thread's connection (call when no worker is using the store any more)."""
        with self._lock:
            for db in list(self._connections):
                with contextlib.suppress(sqlite3.Error):
                    db.conn.close()
            self._connections.clear()
        self._local = threading.local()

    def run_dir(self, stored: str) -> Path:
        # Stored relative to runs_dir (so a moved home still works); absolute for older layouts.
        return Path(stored) if stored.startswith("/") else self.runs_dir / stored
