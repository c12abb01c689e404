"""Findings: what a plan knows about a change beyond its field diffs (pure data, no I/O).

A finding has a stable ``code`` (documented in the README; tools may match on it), a ``severity``
(``error`` | ``warning`` | ``info``), the ``address`` it concerns (a resource address, or ``""`` for the whole plan),
one human ``message`` line and a ``fix`` line saying what to do. Findings never change exit codes by themselves;
commands decide (e.g. ``--strict`` turns error findings into a failure).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class Finding:
    address: str
    code: str
    severity: Severity
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "fix": self.fix,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Finding:
        return cls(
            str(doc["address"]),
            str(doc["code"]),
            Severity(doc["severity"]),
            str(doc["message"]),
            str(doc.get("fix", "")),
        )
