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


# -- blind human votes -----------------------------------------------------------------------
# A vote is a row of the same table, in the session it judges, marked `details.kind = "human"`;
# `winner` is the outcome it stands for ("a", "b", "tie"), None for a skip. Voting again on an
# example replaces the earlier vote, so a session has at most one vote per example.

HUMAN = "human"


def is_vote(result: JudgeResult) -> bool:
    return result.details.get("kind") == HUMAN


def record_vote(
    db: Connections,
    session: str,
    example_key: str,
    outcome: str | None,
    note: str | None = None,
    *,
    vote: str | None = None,
    model_a: str = "",
    model_b: str = "",
    created_at: float | None = None,
) -> JudgeResult:
    """Store (or replace) the blind vote on `example_key` in `session`."""
    if outcome not in (None, "a", "b", "tie"):
        raise ValueError(f"a vote's outcome is 'a', 'b', 'tie' or None (a skip), not {outcome!r}")
    details: dict[str, Any] = {"kind": HUMAN, "vote": vote, "note": note or None}
    with db.write() as wdb:
        wdb.conn.execute(
            """DELETE FROM judge_results WHERE session = ? AND example_key = ?
               AND json_extract(details, '$.kind') = ?""",
            (session, example_key, HUMAN),
        )
        cursor = wdb.conn.execute(
            """INSERT INTO judge_results
               (session, model_a, model_b, example_key, winner, scores, details, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                session,
                model_a,
                model_b,
                example_key,
                outcome,
                dumps({}),
                dumps(details),
                time.time() if created_at is None else created_at,
            ),
        )
        new_id = cursor.lastrowid
    return list_judge_results(db, result_id=new_id)[0]


def session_votes(db: Connections, session: str) -> dict[str, JudgeResult]:
    """The session's votes by example key (skips included, their winner None)."""
    return {
        r.example_key: r
        for r in list_judge_results(db, session=session)
        if is_vote(r) and r.example_key is not None
    }


def session_judgements(db: Connections, session: str) -> list[JudgeResult]:
    """The session's judged examples (what the job recorded), without the votes, oldest first."""
    return [r for r in list_judge_results(db, session=session) if not is_vote(r)]


def judge_sessions(db: Connections, limit: int = 50) -> list[tuple[str, str, str, int, float]]:
    """Recent sessions, newest first: (session, model_a, model_b, examples judged, last write)."""
    rows = db.conn.execute(
        """SELECT session, max(model_a), max(model_b),
                  sum(CASE WHEN json_extract(details, '$.kind') = ? THEN 0 ELSE 1 END),
                  max(created_at)
           FROM judge_results GROUP BY session ORDER BY max(created_at) DESC LIMIT ?""",
        (HUMAN, limit),
    ).fetchall()
    return [(r[0], r[1], r[2], int(r[3] or 0), float(r[4])) for r in rows]
