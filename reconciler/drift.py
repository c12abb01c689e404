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

from .diff import Action, Change, DiffResult, FieldDiff, Ignore
from .findings import Finding, Severity
from .kinds import Delivery
from .models import IgnoreRule, Kind, Resource


@dataclass
class DriftEntry:
    address: str
    status: str  # changed | missing | unexpected | conflict
    reason: str
    fields: list[FieldDiff] = field(default_factory=list)
    # what happened in AWS, where the reconciler can tell: "changed" (our resource differs from its manifest) or
    # "deleted" (gone while what it hangs on is still in place); None when it cannot tell (e.g. never applied)
    out_of_band: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "status": self.status,
            "out_of_band": self.out_of_band,
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


def _deleted_out_of_band(r: Resource, ours: set[tuple[Kind, str, str, str]], arns: set[str]) -> bool:
    """A missing delivery whose source and destination are live and ours, or a missing policy whose destination is
    live and ours, was deleted out of band: they are created together, so it cannot be "never applied"."""
    if r.kind is Kind.DELIVERY:
        source, dest = Delivery.endpoints(r)
        return (Kind.SOURCE, r.account, r.region, source) in ours and dest in arns
    if r.kind is Kind.POLICY:
        return (Kind.DESTINATION, r.account, r.region, r.name) in ours
    return False


_REASONS = {
    "missing": "in the manifests but not in AWS (deleted out of band, or never applied)",
    "unexpected": "carries this project's tag but no manifest names it",
}


def _entry(c: Change, ours: set[tuple[Kind, str, str, str]], arns: set[str]) -> DriftEntry:
    status = _STATUS[c.action]
    if status == "missing" and _deleted_out_of_band(c.resource, ours, arns):
        return DriftEntry(
            c.address,
            status,
            "deleted out of band: not in AWS while what it connects is still there",
            [],
            "deleted",
        )
    fields = list(c.fields) if status != "missing" else []
    return DriftEntry(
        c.address, status, _REASONS.get(status, c.reason), fields, "changed" if status == "changed" else None
    )


def report(
    result: DiffResult,
    unreadable: dict[str, str],
    expired: list[IgnoreRule],
    live: list[Resource] | None = None,
    project: str = "",
) -> DriftReport:
    ours = {(x.kind, x.account, x.region, x.name) for x in live or [] if x.owner == project}
    arns = {x.arn for x in live or [] if x.kind is Kind.DESTINATION and x.owner == project and x.arn}
    entries = [_entry(c, ours, arns) for c in result.changes if c.action is not Action.NOOP]
    entries += [DriftEntry(p.address, "conflict", p.message) for p in result.problems]
    return DriftReport(entries, result.unmanaged, unreadable, result.ignored, expired)
