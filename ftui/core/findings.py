"""Validation findings: what is wrong with a dataset, where, and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a dataset.

    `line` is 1-based (the line where the example starts; 0 for file-level findings),
    `example` is the 0-based index of the example (-1 for file-level findings).
    """

    code: str
    severity: Severity
    line: int
    example: int
    message: str
    message_index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=data["code"],
            severity=Severity(data["severity"]),
            line=int(data["line"]),
            example=int(data["example"]),
            message=data["message"],
            message_index=data.get("message_index"),
        )
