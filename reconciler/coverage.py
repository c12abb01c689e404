"""Coverage: which resources of a supported service have an active delivery of each log type they should (pure).

Input: the resources of supported services found in each scope (the Resource Groups Tagging API, with their tags),
the live delivery sources and deliveries, and the project's selectors. A resource's *expected* log types are the
log types of the selectors that match it; a resource no selector matches is expected to deliver at least one of
its service's log types. A log type is *delivered* when a delivery source in the resource's account names the
resource and that log type and at least one delivery uses that source. A selector that matched no resource expects
nothing (0 of 0, 100 %, exit 0 as before), so the views say it apart (a typo in a tag key or value, say) and the
JSON adds ``matched``, the number of resources each selector matched.

Views: text, JSON (``format_version`` 1, documented in the README), markdown and CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from . import catalog
from .kinds import Delivery, Source
from .models import Kind, Resource
from .selectors import NO_MATCH, Selector

FORMAT_VERSION = 1
# what the Resource Groups Tagging API cannot show, said under every text and markdown report
UNTAGGED = (
    "(resources that never had a tag are not listed: the Resource Groups Tagging API does not return them)"
)


def services() -> list[str]:
    """The ARN services that can be delivery sources (the catalogue), for the tagging API's ResourceTypeFilters."""
    return sorted({a for row in catalog.table().services for a in row.arn_services})


@dataclass
class Row:
    account: str
    region: str
    arn: str
    service: str  # the ARN's service
    log_types: dict[str, bool]  # every log type the catalogue lists for the resource -> delivered
    expected: list[str]  # from selectors; empty = any one log type
    selectors: list[str]

    @property
    def covered(self) -> bool:
        if self.expected:
            return all(self.log_types.get(lt, False) for lt in self.expected)
        return any(self.log_types.values())


@dataclass
class SelectorTotal:
    name: str
    expected: int = 0  # (resource, log type) pairs
    delivered: int = 0
    missing: list[str] = field(default_factory=list)  # "ARN LOGTYPE"
    matched: int = 0  # resources it matched in the scopes read
    covers: Literal["readable", "unreadable", "none"] = (
        "readable"  # some scope it covers was read; none was; none
    )

    @property
    def percent(self) -> float:
        return _pct(self.delivered, self.expected)

    @property
    def no_match(self) -> str | None:
        """Why a selector that matched nothing expects nothing (0 of 0 is no evidence of coverage), or None."""
        if self.matched:
            return None
        if self.covers == "unreadable":
            return "matched no resource; none of the scopes it covers could be read"
        if self.covers == "none":
            return "matched no resource; its accounts and regions cover none of the scopes read"
        return NO_MATCH


@dataclass
class Report:
    project: str
    service: str | None
    scopes: list[tuple[str, str]]
    rows: list[Row]
    selectors: list[SelectorTotal]
    unreadable: dict[str, str]

    @property
    def exit_code(self) -> int:
        """3 when a scope could not be read (as ``drift``: never a verdict about what was not read), 2 when a
        selector's expected coverage is below 100 %, else 0."""
        if self.unreadable:
            return 3
        return 2 if any(s.delivered < s.expected for s in self.selectors) else 0


def _pct(part: int, whole: int) -> float:
    """One decimal; never 100.0 while something is missing (1999 of 2000 is 99.9, not a rounded 100.0)."""
    if not whole:
        return 100.0
    pct = round(100.0 * part / whole, 1)
    return 99.9 if pct == 100.0 and part < whole else pct


def compute(
    project: str,
    scopes: list[tuple[str, str]],
    found: dict[tuple[str, str], list[tuple[str, dict[str, str]]]],
    live: list[Resource],
    selectors: list[Selector],
    service: str | None = None,
    unreadable: dict[str, str] | None = None,
) -> Report:
    """The coverage report; ``found`` maps each scope to the (ARN, tags) of resources there."""
    if service is not None:  # a selector of another service is not reported on (nor counted as 100 %)
        selectors = [s for s in selectors if s.service == service]
    readable = _readable(scopes, unreadable or {})
    totals = {s.name: SelectorTotal(s.name, covers=_covers(s, scopes, readable)) for s in selectors}
    rows = _rows(readable, found, _delivered(live), selectors, service, totals)
    return Report(
        project, service, sorted(scopes), rows, [totals[n] for n in sorted(totals)], dict(unreadable or {})
    )


def _rows(
    scopes: list[tuple[str, str]],
    found: dict[tuple[str, str], list[tuple[str, dict[str, str]]]],
    delivered: set[tuple[str, str, str]],
    selectors: list[Selector],
    service: str | None,
    totals: dict[str, SelectorTotal],
) -> list[Row]:
    """One row per resource of a supported service (of ``service``) in the scopes; selector totals counted."""
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()  # a region-less ARN (an S3 bucket) counts once per account
    for account, region in scopes:
        for arn, tags in sorted(found.get((account, region), [])):
            parsed = catalog.split_arn(arn)
            if parsed is None or (service is not None and parsed[1] != service) or (account, arn) in seen:
                continue
            seen.add((account, arn))
            allowed = catalog.log_types_for_arn(arn)
            if allowed:
                matching = [s for s in selectors if s.in_scope(account, region) and s.matches(arn, tags)]
                row = _row(account, region, arn, parsed[1], allowed, delivered, matching)
                rows.append(row)
                _count(row, matching, totals)
    return rows


def _covers(
    sel: Selector, scopes: list[tuple[str, str]], readable: list[tuple[str, str]]
) -> Literal["readable", "unreadable", "none"]:
    if any(sel.in_scope(a, r) for a, r in readable):
        return "readable"
    return "unreadable" if any(sel.in_scope(a, r) for a, r in scopes) else "none"


def _readable(scopes: list[tuple[str, str]], unreadable: dict[str, str]) -> list[tuple[str, str]]:
    """The scopes that could be read, sorted: what an unreadable one delivers is unknown, so no row of it says "not
    delivered" and no selector counts it."""
    return [(a, r) for a, r in sorted(scopes) if f"{a}/{r}" not in unreadable]


def _row(account: str, region: str, arn: str, service: str, allowed: tuple[str, ...],
         delivered: set[tuple[str, str, str]], matching: list[Selector]) -> Row:  # fmt: skip
    return Row(account, region, arn, service, {lt: (account, arn, lt) in delivered for lt in allowed},
               sorted({s.spec.logType for s in matching}), sorted(s.name for s in matching))  # fmt: skip


def _delivered(live: list[Resource]) -> set[tuple[str, str, str]]:
    """(account, resource ARN, log type) of each live source that has a delivery."""
    delivering = {
        (f"{r.account}/{r.region}", Delivery.endpoints(r)[0]) for r in live if r.kind is Kind.DELIVERY
    }
    return {
        (r.account, a.resourceArn, str(a.logType))
        for r in live
        if r.kind is Kind.SOURCE and (f"{r.account}/{r.region}", r.name) in delivering
        for a in (Source.typed(r),)
    }


def _count(row: Row, matching: list[Selector], totals: dict[str, SelectorTotal]) -> None:
    """Each selector that matches the row expects its log type: delivered, or missing."""
    for s in matching:
        t = totals[s.name]
        t.matched += 1
        t.expected += 1
        if row.log_types.get(s.spec.logType):
            t.delivered += 1
        else:
            t.missing.append(f"{row.arn} {s.spec.logType}")


# ---- views ---------------------------------------------------------------------------------------------------


def _scope_rows(report: Report) -> dict[tuple[str, str], list[Row]]:
    out: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in report.rows:
        out[(row.account, row.region)].append(row)
    return out


def to_json(report: Report) -> dict[str, Any]:
    by_scope = _scope_rows(report)
    scopes = []
    for account, region in report.scopes:
        rows = by_scope.get((account, region), [])
        covered = sum(1 for r in rows if r.covered)
        readable = f"{account}/{region}" not in report.unreadable
        scopes.append({
            "scope": f"{account}/{region}", "account": account, "region": region, "readable": readable,
            "resources": [{"arn": r.arn, "service": r.service, "logTypes": r.log_types, "expected": r.expected,
                           "selectors": r.selectors, "covered": r.covered} for r in rows],
            "totals": {"resources": len(rows), "covered": covered,
                       "percent": _pct(covered, len(rows)) if readable else 0.0},
        })  # fmt: skip
    covered = sum(1 for r in report.rows if r.covered)
    return {
        "format_version": FORMAT_VERSION,
        "project": report.project,
        "service": report.service,
        "scopes": scopes,
        "totals": {
            "resources": len(report.rows),
            "covered": covered,
            "percent": _pct(covered, len(report.rows)),
        },
        "selectors": [
            {
                "name": s.name,
                "expected": s.expected,
                "delivered": s.delivered,
                "percent": s.percent,
                "missing": s.missing,
                "matched": s.matched,
            }
            for s in report.selectors
        ],
        "unreadable": report.unreadable,
    }


def render_json(report: Report) -> str:
    return json.dumps(to_json(report), indent=2) + "\n"


def render_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["account", "region", "resource_arn", "service", "log_type", "expected", "delivered"])
    for r in report.rows:
        for lt, ok in r.log_types.items():
            w.writerow(
                [r.account, r.region, r.arn, r.service, lt, str(lt in r.expected).lower(), str(ok).lower()]
            )
    return buf.getvalue()


def _log_types(row: Row) -> str:
    return " ".join(
        f"{lt}{'*' if lt in row.expected else ''}:{'yes' if ok else 'no'}" for lt, ok in row.log_types.items()
    )


def _unread(report: Report) -> str:
    n = len(report.unreadable)
    return f"; {n} scope{'s' if n > 1 else ''} could not be read, not counted" if n else ""


def render_text(report: Report) -> str:
    doc = to_json(report)
    lines: list[str] = []
    by_scope = _scope_rows(report)
    for scope in doc["scopes"]:
        t = scope["totals"]
        if not scope["readable"]:
            lines.append(f"{scope['scope']}: could not be read: {report.unreadable[scope['scope']]}")
            continue
        lines.append(
            f"{scope['scope']}: {t['covered']} of {t['resources']} resources covered ({t['percent']}%)"
        )
        for row in by_scope.get((scope["account"], scope["region"]), []):
            lines.append(f"  {'ok ' if row.covered else 'NO '} {row.arn}  {_log_types(row)}")
    t = doc["totals"]
    lines.append(
        f"Total: {t['covered']} of {t['resources']} resources covered ({t['percent']}%){_unread(report)}"
    )
    for s in report.selectors:
        lines.append(
            f"DeliverySelector/{s.name}: {s.no_match}"
            if s.no_match
            else f"DeliverySelector/{s.name}: {s.delivered} of {s.expected} expected deliveries ({s.percent}%)"
        )
    lines.append("(* = expected by a selector)")
    lines.append(UNTAGGED)
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> str:
    doc = to_json(report)
    t = doc["totals"]
    out = [
        f"### Log delivery coverage: {t['covered']} of {t['resources']} resources ({t['percent']}%){_unread(report)}",
        "",
    ]
    if report.selectors:
        out += ["| selector | expected | delivered | coverage |", "|---|---:|---:|---:|"]
        out += [f"| `{s.name}` | {s.expected} | {s.delivered} | {'no match' if s.no_match else f'{s.percent}%'} |"
                for s in report.selectors]  # fmt: skip
        out.append("")
        out += [f"> `{s.name}`: {s.no_match}\n" for s in report.selectors if s.no_match]
    out += ["| scope | resource | log types | covered |", "|---|---|---|---|"]
    for r in report.rows:
        out.append(
            f"| {r.account}/{r.region} | `{r.arn}` | {_log_types(r)} | {'yes' if r.covered else '**no**'} |"
        )
    for name, why in sorted(report.unreadable.items()):
        out.append(f"\n> {name} could not be read: {why}")
    out.append(f"\n{UNTAGGED}")
    return "\n".join(out) + "\n"
