"""The plan of a generation job: one task per input, each with an id that never changes.

A task's id is the kind and a hash of its input (the prompt turns, the user turn, the scenario),
with "-2", "-3"... for the same input met again: the same in every run of the same source,
whatever else the file holds, so progress counts tasks exactly and a resumed job knows which
tasks the output already has (their examples carry the id in their origin). `sample` is the
repeat's number: the cache keys a repeat's calls apart, so a repeated scenario gets fresh
questions instead of the same ones twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from ftui.core.dataset.origin import OriginKind
from ftui.core.generation.sources import Scenario, SourceExample

ID_LENGTH = 16


@dataclass(frozen=True)
class Task:
    id: str
    kind: OriginKind
    line: int  # the source line (a dataset's record, a scenario's line)
    sample: int  # 0 for an input's first task, 1 for its repeat...
    scenario: str | None = None  # synth
    example: SourceExample | None = None  # distill, paraphrase


def _hashed(kind: str, payload: object) -> str:
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{kind}:{digest[:ID_LENGTH]}"


def _numbered(ids: list[str]) -> list[tuple[str, int]]:
    seen: dict[str, int] = {}
    out = []
    for base in ids:
        repeat = seen.get(base, 0)
        seen[base] = repeat + 1
        out.append((base if repeat == 0 else f"{base}-{repeat + 1}", repeat))
    return out


def plan_distill(examples: Sequence[SourceExample]) -> list[Task]:
    ids = _numbered([_hashed("distill", list(e.prompt())) for e in examples])
    return [
        Task(task_id, "distill", e.line, sample, example=e)
        for (task_id, sample), e in zip(ids, examples, strict=True)
    ]


def plan_paraphrase(examples: Sequence[SourceExample]) -> list[Task]:
    ids = _numbered([_hashed("paraphrase", e.messages[e.last_user]["content"]) for e in examples])
    return [
        Task(task_id, "paraphrase", e.line, sample, example=e)
        for (task_id, sample), e in zip(ids, examples, strict=True)
    ]


def plan_synth(scenarios: Sequence[Scenario]) -> list[Task]:
    ids = _numbered([_hashed("synth", s.text) for s in scenarios])
    return [
        Task(task_id, "synth", s.line, sample, scenario=s.text)
        for (task_id, sample), s in zip(ids, scenarios, strict=True)
    ]
