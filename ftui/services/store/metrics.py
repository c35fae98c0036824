"""Reading what ingest indexed: metric series and summaries, and the events of a run."""

from __future__ import annotations

import math
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


# The last point at or before each of `points` steps spread evenly from a series' first step to
# its last, for every asked run and name at once. Each pick is one seek on the primary key
# (run_id, name, step), so the cost grows with runs x names x points, not with the points stored.
_RECENT_SERIES_SQL = """
WITH RECURSIVE
  k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < :points),
  wanted(run_id) AS (SELECT DISTINCT value FROM json_each(:run_ids)),
  names(name) AS (SELECT DISTINCT value FROM json_each(:names)),
  spans AS MATERIALIZED (
    SELECT w.run_id, n.name,
      (SELECT step FROM metrics m WHERE m.run_id = w.run_id AND m.name = n.name
       ORDER BY step LIMIT 1) AS lo,
      (SELECT step FROM metrics m WHERE m.run_id = w.run_id AND m.name = n.name
       ORDER BY step DESC LIMIT 1) AS hi
    FROM wanted w CROSS JOIN names n
  ),
  picks AS (
    SELECT DISTINCT s.run_id, s.name,
      (SELECT m.step FROM metrics m
       WHERE m.run_id = s.run_id AND m.name = s.name
         AND m.step <= CASE WHEN k.i = :points - 1 THEN s.hi
                            ELSE s.lo + ((s.hi - s.lo) * k.i) / :intervals END
       ORDER BY m.step DESC LIMIT 1) AS step
    FROM spans s CROSS JOIN k
    WHERE s.hi IS NOT NULL
  )
SELECT p.run_id, p.name, m.value
FROM picks p JOIN metrics m ON m.run_id = p.run_id AND m.name = p.name AND m.step = p.step
ORDER BY p.run_id, p.name, m.step
"""


def recent_series(
    db: Connections,
    run_ids: Collection[str],
    names: Collection[str] = ("train_loss", "valid_loss"),
    points: int = 24,
) -> dict[str, dict[str, list[float]]]:
    """Many runs' series at once, each thinned to at most `points` values sampled at steps spread
    evenly over the whole series (its last point always kept), in step order: what a sparkline
    needs. One SQL statement whatever the number of runs. Every asked id is in the answer (an
    empty dict for a run with none of `names`); a value stored as NULL (a NaN) comes back NaN."""
    if isinstance(run_ids, str) or isinstance(names, str):
        raise TypeError("recent_series wants collections of run ids and names, not one string")
    if points < 1:
        raise ValueError(f"recent_series needs at least 1 point per series, not {points}")
    series: dict[str, dict[str, list[float]]] = {run_id: {} for run_id in run_ids}
    if not series or not names:
        return series
    params = {
        "run_ids": orjson.dumps(list(series)).decode(),
        "names": orjson.dumps(list(names)).decode(),
        "points": points,
        "intervals": max(points - 1, 1),
    }
    for run_id, name, value in db.conn.execute(_RECENT_SERIES_SQL, params):
        series[run_id].setdefault(name, []).append(math.nan if value is None else value)
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
