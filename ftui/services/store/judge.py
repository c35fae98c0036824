"""The judge_results table: one row per judged pair of answers."""

from __future__ import annotations

import time
from typing import Any

from ftui.services.store.connection import Connections, dumps, loads
from ftui.services.store.records import JudgeResult


def add_judge_result(
    db: Connections,
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
    with db.write() as wdb:
        cursor = wdb.conn.execute(
            """INSERT INTO judge_results
               (session, model_a, model_b, example_key, winner, scores, details, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                session,
                model_a,
                model_b,
                example_key,
                winner,
                dumps(scores or {}),
                dumps(details or {}),
                time.time() if created_at is None else created_at,
            ),
        )
        new_id = cursor.lastrowid
    return list_judge_results(db, result_id=new_id)[0]


def list_judge_results(
    db: Connections, *, session: str | None = None, result_id: int | None = None
) -> list[JudgeResult]:
    sql = "SELECT * FROM judge_results"
    clauses: list[str] = []
    params: list[Any] = []
    if session is not None:
        clauses.append("session = ?")
        params.append(session)
    if result_id is not None:
        clauses.append("id = ?")
        params.append(result_id)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = db.conn.execute(sql + " ORDER BY id", params).fetchall()
    results = []
    for row in rows:
        data = dict(row)
        data["scores"] = loads(data["scores"])
        data["details"] = loads(data["details"])
        results.append(JudgeResult(**data))
    return results
