"""Reading what ingest indexed: metric series and summaries, and the events of a run."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson

from ftui.services.store.connection import Connections
from ftui.services.store.records import MetricSummary


def _where_run(full_id: str, column: str, values: Collection[str] | None) -> tuple[str, list[Any]]:
    """` WHERE run_id = ?`, and `AND column IN (...)` when `values` is given; with its params."""
    params: list[Any] = [full_id]
    if values is None:
        return " WHERE run_id = ?", params
    params.extend(values)
    return f" WHERE run_id = ? AND {column} IN ({', '.join('?' * (len(params) - 1))})", params


def metrics(
    db: Connections,
    full_id: str,
    names: Collection[str] | None = None,
    *,
    max_points: int | None = None,
) -> dict[str, list[tuple[int, float]]]:
    """Metric series by name, each as (step, value) sorted by step. `max_points` thins each
    series evenly (keeping its last point) for charts."""
    sql, params = _where_run(full_id, "name", names)
    sql = "SELECT name, step, value FROM metrics" + sql + " ORDER BY name, step"
    series: dict[str, list[tuple[int, float]]] = {}
    for name, step, value in db.conn.execute(sql, params):
        series.setdefault(name, []).append((step, value))
    if max_points is not None and max_points > 0:
        series = {name: thin(points, max_points) for name, points in series.items()}
    return series


def metric_summary(db: Connections, full_id: str) -> dict[str, MetricSummary]:
    """Per metric: points, last, min (and its step), max, computed over every stored point."""
    rows = db.conn.execute(
        """SELECT name, count(*) AS points, min(value) AS low, max(value) AS high,
              max(step) AS last_step,
              (SELECT m2.step FROM metrics m2 WHERE m2.run_id = m.run_id
               AND m2.name = m.name ORDER BY m2.value, m2.step LIMIT 1) AS low_step,
              (SELECT m3.value FROM metrics m3 WHERE m3.run_id = m.run_id
               AND m3.name = m.name ORDER BY m3.step DESC LIMIT 1) AS last
       FROM metrics m WHERE run_id = ? GROUP BY name ORDER BY name""",
        (full_id,),
    ).fetchall()
    return {
        row["name"]: MetricSummary(
            points=row["points"],
            last=row["last"],
            last_step=row["last_step"],
            min=row["low"],
            min_step=row["low_step"],
            max=row["high"],
        )
        for row in rows
    }


def metric_names(db: Connections, full_id: str) -> list[str]:
    rows = db.conn.execute(
        "SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name", (full_id,)
    )
    return [row[0] for row in rows]


def events(
    db: Connections,
    full_id: str,
    *,
    types: Collection[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The run's indexed events (every kind but metrics) in log order, as written; `limit`
    keeps the latest ones. Metric events are indexed per value: see `metrics()`."""
    sql, params = _where_run(full_id, "type", types)
    sql = "SELECT data FROM events" + sql + " ORDER BY offset DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = db.conn.execute(sql, params).fetchall()
    return [orjson.loads(row[0]) for row in reversed(rows)]


def thin(points: list[tuple[int, float]], max_points: int) -> list[tuple[int, float]]:
    if len(points) <= max_points:
        return points
    stride = len(points) / max_points
    thinned = [points[int(i * stride)] for i in range(max_points - 1)]
    thinned.append(points[-1])
    return thinned
