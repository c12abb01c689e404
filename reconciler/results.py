"""What an apply did, change by change: plain data for the views (no AWS import, so ``show`` and ``render`` stay
light)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .diff import Change


class Status(StrEnum):
    """How a change ended. The values are those of the JSON report and the CI log lines."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_STARTED = "not started"


DONE, FAILED, SKIPPED, NOT_STARTED = Status.DONE, Status.FAILED, Status.SKIPPED, Status.NOT_STARTED


@dataclass
class ChangeResult:
    change: Change
    status: Status = Status.DONE
    error: str | None = None
    seconds: float = 0.0
    verified: bool = False


@dataclass
class ApplyResult:
    results: list[ChangeResult]
    seconds: float = 0.0
    api_calls: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return all(r.status == Status.DONE for r in self.results)
