"""The run history: one SQLite file of datasets, runs, metrics, events, aliases, judge results.

Everything else talks to the history through `RunStore`, which returns dataclasses; nothing outside
this package writes SQL. Each table has its module (`datasets`, `runs`, `metrics`, `aliases`,
`judge`, `uploads`, `generations`, `origins`), `ingest` indexes the runs' event logs with the
reducer of `ftui.core.runs`, and `connection` owns the file (per-thread connections, migrations,
write transactions).

- The event log (`runs/<id>/events.jsonl`) is the source of truth about a run; the store indexes
  it (`ingest_events`), and a status set here is appended to the log and indexed from there.
- Datasets are remembered by path and sha256 of their bytes, not copied. A run keeps the hash it
  trained on; `dataset_changed()` says when the file on disk no longer matches, so the UI can warn
  instead of silently showing different data.
- `RunStore(...)` is cheap: the file is opened (and migrated) on first use, so constructing one
  costs nothing at app start.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftui.core.dataset.origin import Origin
from ftui.core.runs.kinds import RunEvent
from ftui.core.runs.state import RunState
from ftui.services.store import (
    aliases,
    datasets,
    generations,
    ingest,
    judge,
    metrics,
    origins,
    runs,
    schema,
    uploads,
)
from ftui.services.store.connection import Connections
from ftui.services.store.datasets import describe_dataset
from ftui.services.store.errors import (
    AmbiguousRunId,
    DatasetNotFound,
    RunActive,
    RunNotFound,
    StoreError,
)
from ftui.services.store.generations import completion_key
from ftui.services.store.records import (
    Alias,
    CachedCompletion,
    DatasetRecord,
    JudgeResult,
    MetricSummary,
    Run,
    Upload,
)
from ftui.services.store.runs import BACKENDS, RunQuery

if TYPE_CHECKING:
    from sqlite_utils import Database

    from ftui.config import Config

__all__ = [
    "BACKENDS",
    "Alias",
    "AmbiguousRunId",
    "CachedCompletion",
    "DatasetNotFound",
    "DatasetRecord",
    "JudgeResult",
    "MetricSummary",
    "Run",
    "RunActive",
    "RunNotFound",
    "RunQuery",
    "RunStore",
    "StoreError",
    "Upload",
    "completion_key",
    "describe_dataset",
]


class RunStore:
    """The run history. Sync methods, safe to call from any thread (one connection per thread)."""

    def __init__(self, path: Path, runs_dir: Path) -> None:
        self._connections = Connections(path, runs_dir)

    @classmethod
    def from_config(cls, config: Config) -> RunStore:
        return cls(config.store_path, config.runs_dir)

    @property
    def path(self) -> Path:
        return self._connections.path

    @property
    def runs_dir(self) -> Path:
        return self._connections.runs_dir

    def _db(self) -> Database:
        return self._connections.db()

    @contextmanager
    def _write(self) -> Iterator[Database]:
        with self._connections.write() as db:
            yield db

    def close(self) -> None:
        """Close every thread's connection (call when no worker is using the store any more)."""
        self._connections.close()

    def schema_version(self) -> int:
        return schema.user_version(self._connections.conn)

    # -- datasets -----------------------------------------------------------------------------

    def register_dataset(
        self, path: str | Path, *, summary: dict[str, Any] | None = None, analyze: bool = True
    ) -> DatasetRecord:
        return datasets.register_dataset(self._connections, path, summary=summary, analyze=analyze)

    def get_dataset(self, dataset_id: str) -> DatasetRecord | None:
        return datasets.get_dataset(self._connections, dataset_id)

    def list_datasets(self) -> list[DatasetRecord]:
        return datasets.list_datasets(self._connections)

    # -- runs ---------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        backend: str,
        base_model: str,
        config: dict[str, Any],
        dataset_path: str | Path | None = None,
        validation_path: str | Path | None = None,
        run_id: str | None = None,
        created_at: float | None = None,
        dataset_summary: dict[str, Any] | None = None,
    ) -> Run:
        return runs.create_run(
            self._connections,
            backend=backend,
            base_model=base_model,
            config=config,
            dataset_path=dataset_path,
            validation_path=validation_path,
            run_id=run_id,
            created_at=created_at,
            dataset_summary=dataset_summary,
        )

    def resolve_run_id(self, run_id_or_prefix: str) -> str:
        return runs.resolve_run_id(self._connections, run_id_or_prefix)

    def get_run(self, run_id: str) -> Run:
        return runs.get_run(self._connections, run_id)

    def list_runs(
        self,
        query: RunQuery | None = None,
        *,
        status: str | Collection[str] | None = None,
        backend: str | None = None,
        base_model: str | None = None,
        dataset: str | None = None,
        include_archived: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Run]:
        """Runs newest first, filtered by `query` or by the same filters given one by one."""
        if query is None:
            query = RunQuery(status, backend, base_model, dataset, include_archived)
        return runs.list_runs(self._connections, query, limit=limit, offset=offset)

    def count_runs(
        self,
        query: RunQuery | None = None,
        *,
        status: str | Collection[str] | None = None,
        backend: str | None = None,
        base_model: str | None = None,
        dataset: str | None = None,
        include_archived: bool = False,
    ) -> int:
        if query is None:
            query = RunQuery(status, backend, base_model, dataset, include_archived)
        return runs.count_runs(self._connections, query)

    def distinct_values(self, column: str) -> list[str]:
        return runs.distinct_values(self._connections, column)

    def update_run(self, run_id: str, **fields: Any) -> Run:
        return runs.update_run(self._connections, run_id, **fields)

    def archive_run(self, run_id: str, archived: bool = True) -> Run:
        return runs.archive_run(self._connections, run_id, archived)

    def delete_run(self, run_id: str, *, remove_files: bool = True, force: bool = False) -> None:
        runs.delete_run(self._connections, run_id, remove_files=remove_files, force=force)

    def export_run(self, run_id: str) -> dict[str, Any]:
        """A run as one JSON-serialisable dict: the run, every metric series and every event."""
        self.ingest_events(run_id)
        run = self.get_run(run_id)
        return {
            "ftui_export": 1,
            "run": run.to_json_dict(),
            "dataset_changed": self.dataset_changed(run.id),
            "metrics": {
                name: [[step, value] for step, value in points]
                for name, points in self.metrics(run.id).items()
            },
            "events": self.events(run.id),
        }

    def dataset_state(self, run_id: str) -> str:
        return runs.dataset_state(self._connections, run_id)

    def dataset_changed(self, run_id: str) -> bool:
        """True when the run's dataset file is gone or no longer holds the bytes it trained on."""
        return self.dataset_state(run_id) in ("changed", "missing")

    # -- event logs ---------------------------------------------------------------------------

    def ingest_events(self, run_id: str) -> int:
        return ingest.ingest_events(self._connections, self.resolve_run_id(run_id))

    def ingest_all(self, *, only_active: bool = True) -> int:
        return ingest.ingest_all(self._connections, only_active=only_active)

    def append_event(self, run_id: str, event: RunEvent | dict[str, Any]) -> int:
        """Append one event to the run's log and index it; returns the number of events indexed."""
        return ingest.append_event(self._connections, self.resolve_run_id(run_id), event)

    def run_state(self, run_id: str) -> tuple[RunState, int]:
        """The run's folded state as indexed so far, and the log offset it stands at."""
        return ingest.stored_state(self._connections, self.resolve_run_id(run_id))

    # -- metrics and events -------------------------------------------------------------------

    def metrics(
        self, run_id: str, names: Collection[str] | None = None, *, max_points: int | None = None
    ) -> dict[str, list[tuple[int, float]]]:
        return metrics.metrics(
            self._connections, self.resolve_run_id(run_id), names, max_points=max_points
        )

    def recent_series(
        self,
        run_ids: Collection[str],
        names: Collection[str] = ("train_loss", "valid_loss"),
        points: int = 24,
    ) -> dict[str, dict[str, list[float]]]:
        """Series of many runs (full ids) at once, each thinned to `points` values for a
        sparkline: see `metrics.recent_series`."""
        return metrics.recent_series(self._connections, run_ids, names, points)

    def metric_summary(self, run_id: str) -> dict[str, MetricSummary]:
        return metrics.metric_summary(self._connections, self.resolve_run_id(run_id))

    def metric_names(self, run_id: str) -> list[str]:
        return metrics.metric_names(self._connections, self.resolve_run_id(run_id))

    def events(
        self, run_id: str, *, types: Collection[str] | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return metrics.events(
            self._connections, self.resolve_run_id(run_id), types=types, limit=limit
        )

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """Checkpoints and artifacts the run reported, oldest first."""
        return self.events(run_id, types=("checkpoint", "artifact"))

    # -- uploads to a provider and remote jobs -----------------------------------------------

    def find_upload(self, sha256: str, account: str, purpose: str) -> Upload | None:
        return uploads.find_upload(self._connections, sha256, account, purpose)

    def record_upload(
        self,
        *,
        sha256: str,
        account: str,
        purpose: str,
        file_id: str,
        filename: str | None = None,
        size: int | None = None,
    ) -> Upload:
        return uploads.record_upload(
            self._connections,
            sha256=sha256,
            account=account,
            purpose=purpose,
            file_id=file_id,
            filename=filename,
            size=size,
        )

    def forget_upload(self, sha256: str, account: str, purpose: str) -> None:
        uploads.forget_upload(self._connections, sha256, account, purpose)

    def run_for_remote_job(self, job_id: str) -> str | None:
        """The run that follows remote job `job_id` (an imported or launched job), if any."""
        return uploads.run_for_remote_job(self._connections, job_id)

    # -- model aliases ------------------------------------------------------------------------

    def set_alias(self, alias: str, target: str, *, run_id: str | None = None) -> Alias:
        full_id = self.resolve_run_id(run_id) if run_id is not None else None
        return aliases.set_alias(self._connections, alias, target, full_id)

    def get_alias(self, alias: str) -> Alias | None:
        return aliases.get_alias(self._connections, alias)

    def list_aliases(self) -> list[Alias]:
        return aliases.list_aliases(self._connections)

    def remove_alias(self, alias: str) -> bool:
        return aliases.remove_alias(self._connections, alias)

    # -- judge results ------------------------------------------------------------------------

    def add_judge_result(
        self,
        session: str,
        model_a: str,
        model_b: str,
        *,
        example_key: str | None = None,
        winner: str | None = None,
        scores: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        created_at: float | None = None,
    ) -> JudgeResult:
        return judge.add_judge_result(
            self._connections,
            session,
            model_a,
            model_b,
            example_key=example_key,
            winner=winner,
            scores=scores,
            details=details,
            created_at=created_at,
        )

    def list_judge_results(
        self, *, session: str | None = None, result_id: int | None = None
    ) -> list[JudgeResult]:
        return judge.list_judge_results(self._connections, session=session, result_id=result_id)

    def record_vote(
        self,
        session: str,
        example_key: str,
        outcome: str | None,
        note: str | None = None,
        *,
        vote: str | None = None,
        model_a: str = "",
        model_b: str = "",
    ) -> JudgeResult:
        """Store (or replace) a blind vote: `outcome` "a", "b", "tie", or None for a skip."""
        return judge.record_vote(
            self._connections,
            session,
            example_key,
            outcome,
            note,
            vote=vote,
            model_a=model_a,
            model_b=model_b,
        )

    def session_votes(self, session: str) -> dict[str, JudgeResult]:
        """A judge session's blind votes by example key."""
        return judge.session_votes(self._connections, session)

    def session_judgements(self, session: str) -> list[JudgeResult]:
        """A judge session's judged examples (the job's rows, not the votes)."""
        return judge.session_judgements(self._connections, session)

    def judge_sessions(self, limit: int = 50) -> list[tuple[str, str, str, int, float]]:
        """Recent judge sessions, newest first: (session, A, B, examples, last write)."""
        return judge.judge_sessions(self._connections, limit)

    # -- the completions cache ----------------------------------------------------------------

    def cached_completion(self, key: str) -> CachedCompletion | None:
        """The answer remembered under `key` (see `completion_key`), if any."""
        return generations.cached_completion(self._connections, key)

    def cache_completion(
        self,
        key: str,
        model: str,
        text: str,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> CachedCompletion:
        return generations.cache_completion(
            self._connections, key, model, text, prompt_tokens, completion_tokens
        )

    def count_cached_completions(self) -> int:
        return generations.count_completions(self._connections)

    # -- where examples came from -------------------------------------------------------------

    def record_origins(self, dataset: Path | str, items: Iterable[tuple[str, Origin]]) -> int:
        """Remember the origin of each (example_key, origin) written to `dataset`."""
        return origins.record_origins(self._connections, dataset, items)

    def origins_by_key(
        self, keys: Collection[str], dataset: Path | str | None = None
    ) -> dict[str, Origin]:
        """The origin of each example key that has one (see `core.dataset.origin`): the one
        recorded for `dataset` (a resolved path) if any, else the latest."""
        return origins.origins_by_key(self._connections, keys, dataset)

    def count_origins(self, dataset: Path | str | None = None) -> int:
        return origins.count_origins(self._connections, dataset)
