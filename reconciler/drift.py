"""Drift: what changed in AWS behind the manifests' back, from a diff (pure; no I/O).

A drift entry is a managed resource whose live state differs from its manifest (``changed``), a manifest resource
that is not in AWS (``missing``), a resource with our ownership tag that no manifest names (``unexpected``), or a
name taken by a resource we do not own (``conflict``). Unmanaged resources are reported for information only.
Ignore rules from the project file drop whole resources or field paths until their ``until`` date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .diff import Action, DiffResult, FieldDiff, Ignore
from .findings import Finding, Severity
from .models import IgnoreRule, Resource


@dataclass
class DriftEntry:
    address: str
    status: str  # changed | missing | unexpected | conflict
    reason: str
    fields: list[FieldDiff] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "status": self.status,
            "reason": self.reason,
            "fields": [f.to_json() for f in self.fields],
        }


@dataclass
class DriftReport:
    entries: list[DriftEntry]
    unmanaged: list[Resource]
    unreadable: dict[str, str]  # "account/region" -> error
    ignored: list[str]
    expired_rules: list[IgnoreRule]
    findings: list[Finding] = field(default_factory=list)  # e.g. a delivery whose destination grant is gone
    strict: bool = False  # error findings count as drift

    @property
    def failing_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR] if self.strict else []

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return 3
        return 2 if self.entries or self.failing_findings else 0


def active_rules(rules: list[IgnoreRule], today: dt.date) -> tuple[list[Ignore], list[IgnoreRule]]:
    """(rules in force, rules whose ``until`` date has passed)."""
    active, expired = [], []
    for rule in rules:
        if rule.until is not None and dt.date.fromisoformat(rule.until) < today:
            expired.append(rule)
        else:
            active.append(Ignore(rule.address, tuple(rule.fields)))
    return active, expired


_STATUS = {
    Action.UPDATE: "changed",
    Action.REPLACE: "changed",
    Action.CREATE: "missing",
    Action.DELETE: "unexpected",
}


def report(result: DiffResult, unreadable: dict[str, str], expired: list[IgnoreRule]) -> DriftReport:
    entries = []
    for c in result.changes:
        if c.action is Action.NOOP:
            continue
        status = _STATUS[c.action]
        reason = {
            "missing": "in the manifests but not in AWS (deleted out of band, or never applied)",
            "unexpected": "carries this project's tag but no manifest names it",
        }.get(status, c.reason)
        entries.append(DriftEntry(c.address, status, reason, list(c.fields)))
    for message in result.errors:
        entries.append(DriftEntry(message.split(" ", 1)[0], "conflict", message))
    return DriftReport(entries, result.unmanaged, unreadable, result.ignored, expired)
