"""Text, JSON and markdown views of plans, drift reports and apply results (returns strings; never prints)."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from typing import Any

from . import graph as graphmod
from .diff import Action, Change
from .drift import DriftReport
from .findings import Finding
from .models import Kind, Resource, canonical_policy
from .plan import Plan, calls_for, to_json
from .results import DONE, FAILED, NOT_STARTED, SKIPPED, ApplyResult

SYMBOL = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.NOOP: " ",
}
COLOR = {
    Action.CREATE: "32",
    Action.UPDATE: "33",
    Action.REPLACE: "35",
    Action.DELETE: "31",
    Action.NOOP: "0",
}
MARKDOWN_BUDGET = 65_000
MARKER = "<!-- reconciler-plan -->"


def _c(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _v(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def policy_diff_lines(before: Any, after: Any) -> list[str]:
    """A policy change as a unified diff of the two documents, pretty-printed with sorted keys and compared by
    meaning (``canonical_policy``); every line starts with ``+``, ``-`` or a space."""

    def lines(doc: Any) -> list[str]:
        if doc is None:
            return []
        return json.dumps(canonical_policy(doc), indent=2, sort_keys=True, default=str).splitlines()

    b, a = lines(before), lines(after)
    diff = list(difflib.unified_diff(b, a, lineterm="", n=max(len(a), len(b))))
    return [d for d in diff[2:] if not d.startswith("@@")]


def _field_lines(c: Change) -> list[tuple[str, str]]:
    """(marker, text) per line of a change's field diffs: ``+`` set, ``-`` removed, ``~`` changed (text view)."""
    items: list[tuple[str, str]] = []
    for f in c.fields:
        if f.path == "policy":
            items.append((" ", "policy:"))
            items.extend((d[0], "  " + d[1:]) for d in policy_diff_lines(f.before, f.after))
        elif f.before is None:
            items.append(("+", f"{f.path}: {_v(f.after)}"))
        elif f.after is None:
            items.append(("-", f"{f.path}: {_v(f.before)}"))
        else:
            items.append(("~", f"{f.path}: {_v(f.before)} → {_v(f.after)}"))
    return items


MARK_COLOR = {"+": "32", "-": "31", "~": "33", "!": "33", " ": "0"}


def change_lines(c: Change, color: bool = False, indent: str = "  ") -> list[str]:
    r = c.resource
    sym = SYMBOL[c.action]
    head = f"{indent}{_c(sym.rjust(3), COLOR[c.action], color)} {r.kind.value} {r.name}  ({r.account}/{r.region})"
    if c.reason:
        head += f"  # {c.reason}"
    lines = [head]
    if c.action is Action.DELETE and c.before is not None and c.before.id:
        lines.append(f"{indent}      id: {c.before.id}")
    for mark, text in _field_lines(c):
        shown = _c(mark, MARK_COLOR[mark], color) if mark != " " else " "
        lines.append(f"{indent}      {shown} {text}")
    for w in c.warnings:
        lines.append(f"{indent}      {_c('!', '33', color)} {w}")
    calls = calls_for(c)
    if calls:
        lines.append(f"{indent}      calls: {', '.join(calls)}")
    return lines


def owned_by(r: Resource) -> str:
    """Who owns a resource this project does not manage."""
    return f"owned by project {r.owner!r}" if r.owner else "no reconciler:project tag"


def diff_block_lines(c: Change) -> list[str]:
    """A change as the lines of a ```diff block: the first character is the marker GitHub colours (``+`` added,
    ``-`` removed, ``!`` a warning, a space for context), nothing indented before it."""
    lines: list[str] = []
    if c.reason.startswith("policy WIDENS access"):
        lines.append(f"! {c.reason}")
    if c.action is Action.DELETE and c.before is not None and c.before.id:
        lines.append(f"- id: {c.before.id}")
    for f in c.fields:
        if f.path == "policy":
            lines.append("  policy:")
            lines.extend(f"{d[0]}   {d[1:]}" for d in policy_diff_lines(f.before, f.after))
            continue
        if f.before is not None:
            lines.append(f"- {f.path}: {_v(f.before)}")
        if f.after is not None:
            lines.append(f"+ {f.path}: {_v(f.after)}")
    lines.extend(f"! {w}" for w in c.warnings)
    calls = calls_for(c)
    if calls:
        lines.append(f"  calls: {', '.join(calls)}")
    return lines


def continuity_loss(plan: Plan) -> int:
    """Deliveries the plan replaces: each one stops delivering logs between its delete and its create."""
    return sum(1 for c in plan.changes if c.action is Action.REPLACE and c.kind is Kind.DELIVERY)


def one_line_summary(plan: Plan) -> str:
    """What a reviewer scans in one second: ``2 create · 1 update · 1 replace (destroys logs continuity for 3
    deliveries) · 0 delete · 1 finding``."""
    s = plan.summary()
    replace = f"{s['replace']} replace"
    lost = continuity_loss(plan)
    if lost:
        replace += f" (destroys logs continuity for {lost} deliver{'y' if lost == 1 else 'ies'})"
    n = len(plan.findings)
    parts = [f"{s['create']} create", f"{s['update']} update", replace, f"{s['delete']} delete"]
    parts.append(f"{n} finding{'' if n == 1 else 's'}")
    return " · ".join(parts)


def summary_line(plan: Plan) -> str:
    if plan.empty:
        return "No changes."
    s = plan.summary()
    return f"Plan: {s['create']} to create, {s['update']} to update, {s['replace']} to replace, {s['delete']} to delete."


def plan_text(plan: Plan, color: bool = False) -> str:
    lines: list[str] = [*plan.notes]
    if plan.notes:
        lines.append("")
    by_address: dict[str, list[Finding]] = {}
    for f in plan.findings:
        by_address.setdefault(f.address, []).append(f)
    shown: set[str] = set()
    if plan.changes:
        lines.append("Changes, in the order they will run:")
        for c in plan.changes:
            lines.extend(change_lines(c, color))
            for f in by_address.get(c.address, []):
                lines.append(
                    f"        {_c('!', '31' if f.severity.value == 'error' else '33', color)} {f.message}"
                )
                if f.fix:
                    lines.append(f"          fix: {f.fix}")
            if c.address in by_address:
                shown.add(c.address)
        lines.append("")
    if plan.unmanaged:
        lines.append(f"Not managed by this project (never touched): {len(plan.unmanaged)}")
        for r in plan.unmanaged[:20]:
            lines.append(f"    {r.address}  ({owned_by(r)})")
        if len(plan.unmanaged) > 20:
            lines.append(f"    ... and {len(plan.unmanaged) - 20} more")
        lines.append("")
    lines.extend(_finding_lines(plan.findings, color, shown))
    if not plan.empty:
        lines.append(
            f"Plan digest: {plan.plan_digest} (apply exactly these changes: --expect-digest {plan.plan_digest})"
        )
    lines.append(_c(summary_line(plan), "1", color))
    return "\n".join(lines) + "\n"


def _finding_lines(findings: list[Finding], color: bool, shown: set[str] | None = None) -> list[str]:
    """The findings section; those already shown under their change are counted, not repeated."""
    if not findings:
        return []
    lines = [f"Findings: {len(findings)}"]
    for f in findings:
        if shown and f.address in shown:
            continue
        where = f"{f.address}: " if f.address else ""
        mark = _c("!", "31" if f.severity.value == "error" else "33", color)
        lines.append(f"  {mark} {f.severity.value} {f.code} {where}{f.message}")
        if f.fix:
            lines.append(f"      fix: {f.fix}")
    if shown:
        n = sum(1 for f in findings if f.address in shown)
        if n:
            lines.append(f"  ({n} shown under their change above)")
    lines.append("")
    return lines


def _finding_bullets(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    out = [f"**Findings: {len(findings)}**", ""]
    for f in findings:
        where = f"`{f.address}`: " if f.address else ""
        fix = f" — fix: {f.fix}" if f.fix else ""
        out.append(f"- **{f.severity.value}** `{f.code}` {where}{f.message}{fix}")
    out.append("")
    return out


def plan_json(plan: Plan) -> str:
    return json.dumps(to_json(plan, full=False), indent=2, default=str) + "\n"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _details(c: Change) -> str:
    r = c.resource
    body = "\n".join(diff_block_lines(c))
    title = (
        f"{SYMBOL[c.action]} <code>{r.kind.value}/{r.name}</code> ({r.account}/{r.region}) — {c.action.value}"
    )
    if c.reason:
        title += f": {_html(c.reason)}"
    block = f"\n\n```diff\n{body}\n```\n" if body else "\n\n"
    return f"<details><summary>{title}</summary>{block}</details>\n"


DIGEST_MARKER = "<!-- reconciler-plan-digest: {} -->"


def plan_graph(plan: Plan, max_nodes: int = graphmod.MAX_NODES) -> graphmod.Graph:
    """The plan's picture: its changes and their unchanged neighbours (``Plan.context``), folded to a readable size."""
    return graphmod.cap(graphmod.build(plan.changes, plan.context), max_nodes)


def graph_markdown(plan: Plan) -> str:
    """The Mermaid block of a plan comment, with the legend and what was folded."""
    g = plan_graph(plan)
    text = f"```mermaid\n{graphmod.mermaid(g)}```\n<sub>{graphmod.LEGEND}</sub>"
    if g.folded:
        text += f"<br/><sub>{g.folded}.</sub>"
    return text


def plan_markdown(plan: Plan, title: str = "reconciler plan", budget: int = MARKDOWN_BUDGET) -> str:
    head = _plan_markdown_head(plan, title)
    if plan.empty:
        return "\n".join(head) + "\n"
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for c in plan.changes:
        r = c.resource
        counts[(r.account, r.region, r.kind.value, c.action.value)] += 1
    head += ["| account | region | kind | action | count |", "|---|---|---|---|---|"]
    for (acct, region, kind, action), n in sorted(counts.items()):
        head.append(f"| {acct} | {region} | {kind} | {action} | {n} |")
    head.append("")
    destructive = [c for c in plan.changes if c.action in (Action.DELETE, Action.REPLACE)]
    others = [c for c in plan.changes if c.action not in (Action.DELETE, Action.REPLACE)]
    if destructive:
        head.append(f"**Destructive changes: {len(destructive)}** (listed first)")
        head.append("")
    return _within_budget("\n".join(head) + "\n", destructive + others, budget)


def _plan_markdown_head(plan: Plan, title: str) -> list[str]:
    """The comment's marker, title, summary, picture (when there are changes), findings and notes."""
    digest = plan.plan_digest
    head = [MARKER, DIGEST_MARKER.format(digest), f"### {title}", "", f"**{one_line_summary(plan)}**", ""]
    if plan.empty:
        head += [summary_line(plan), ""]
    else:
        head += [
            graph_markdown(plan),
            "",
            f"{summary_line(plan)} Plan digest `{digest}`: the merge applies exactly these changes "
            f"(`reconciler apply --expect-digest {digest}`) or stops.",
            "",
        ]
    head += _finding_bullets(plan.findings)
    head += [f"> {n}" for n in plan.notes] + ([""] if plan.notes else [])
    return head


def _within_budget(text: str, ordered: list[Change], budget: int) -> str:
    """Each change's details after ``text`` while the comment stays within ``budget``; then how many were left out."""
    footer_room = 300
    shown = 0
    for c in ordered:
        block = _details(c)
        if len(text) + len(block) + footer_room > budget:
            break
        text += block
        shown += 1
    if shown < len(ordered):
        text += (
            f"\n_{len(ordered) - shown} of {len(ordered)} changes not shown to stay within GitHub's comment size; "
            "the full plan is in the JSON artifact._\n"
        )
    return text


def apply_text(result: ApplyResult, color: bool = False) -> str:
    lines = []
    for r in result.results:
        if r.status == DONE:
            continue
        label = {FAILED: _c("FAILED", "31", color), NOT_STARTED: _c("not started", "33", color)}.get(
            r.status, _c("skipped", "33", color)
        )
        lines.append(f"  {label} {r.change.action.value} {r.change.address}: {r.error}")
    total = sum(result.api_calls.values())
    not_started = f", {result.count(NOT_STARTED)} not started" if result.interrupted else ""
    lines.append(
        f"Apply: {result.count(DONE)} done, {result.count(FAILED)} failed, {result.count(SKIPPED)} skipped"
        f"{not_started} in {result.seconds:.1f}s ({total} API requests)."
        + (" Interrupted: no new change was started." if result.interrupted else "")
    )
    return "\n".join(lines) + "\n"


def apply_json(result: ApplyResult) -> str:
    doc = {
        "format_version": 1,
        "summary": {
            s: result.count(s)
            for s in (DONE, FAILED, SKIPPED, *([NOT_STARTED] if result.interrupted else []))
        },
        **({"interrupted": True} if result.interrupted else {}),
        "results": [
            {
                "address": r.change.address,
                "action": r.change.action.value,
                "status": r.status,
                "error": r.error,
                "seconds": round(r.seconds, 3),
                "verified": r.verified,
            }
            for r in result.results
        ],
        "api_calls": {
            "total": sum(result.api_calls.values()),
            "by_operation": dict(sorted(result.api_calls.items())),
        },
    }
    return json.dumps(doc, indent=2) + "\n"


def drift_text(rep: DriftReport, color: bool = False) -> str:
    lines = []
    for e in rep.entries:
        code = {"changed": "33", "missing": "31", "unexpected": "35", "conflict": "31"}[e.status]
        oob = f" [{e.out_of_band} out of band]" if e.out_of_band else ""
        lines.append(f"  {_c(e.status.upper(), code, color)} {e.address}{oob}: {e.reason}")
        for f in e.fields:
            lines.append(f"      {f.path}: live {_v(f.before)}, manifest {_v(f.after)}")
    for scope, error in sorted(rep.unreadable.items()):
        lines.append(f"  {_c('UNREADABLE', '31', color)} {scope}: {error}")
    if rep.unmanaged:
        lines.append(f"Unmanaged in scope (informational): {len(rep.unmanaged)}")
        lines.extend(f"    {r.address}  ({owned_by(r)})" for r in rep.unmanaged[:50])
    for rule in rep.expired_rules:
        lines.append(
            f"Expired ignore rule (no longer applied): {rule.address} until {rule.until} ({rule.reason})"
        )
    if rep.ignored:
        lines.append(f"Ignored by rules: {len(rep.ignored)}")
    lines.extend(_finding_lines(rep.findings, color))
    if rep.unreadable:
        lines.append(
            _c(f"Drift check incomplete: {len(rep.unreadable)} scope(s) could not be read.", "1", color)
        )
    elif rep.entries:
        lines.append(_c(f"Drift: {len(rep.entries)} resource(s) out of sync.", "1", color))
    elif rep.failing_findings:
        lines.append(_c(f"Drift: {len(rep.failing_findings)} error finding(s) (--strict).", "1", color))
    else:
        lines.append(_c("In sync.", "1", color))
    return "\n".join(lines) + "\n"


def drift_json(rep: DriftReport) -> str:
    doc = {
        "format_version": 1,
        "in_sync": rep.exit_code == 0,
        "exit_code": rep.exit_code,
        "drift": [e.to_json() for e in rep.entries],
        "unreadable": rep.unreadable,
        "unmanaged": [r.address for r in rep.unmanaged],
        "ignored": rep.ignored,
        "expired_ignore_rules": [r.model_dump() for r in rep.expired_rules],
        "findings": [f.to_json() for f in rep.findings],
    }
    return json.dumps(doc, indent=2) + "\n"


DRIFT_MARKER = "<!-- reconciler-drift -->"


def _cell(text: str) -> str:
    return _html(text).replace("|", "\\|").replace("\n", " ")


def drift_markdown(rep: DriftReport, budget: int = MARKDOWN_BUDGET) -> str:
    """What ``drift_text`` says, for an issue: status, field values live vs manifest, unreadable and unmanaged."""
    head = [DRIFT_MARKER, "### reconciler drift", ""]
    if rep.unreadable:
        head.append(
            f"**Incomplete: {len(rep.unreadable)} scope(s) could not be read**; nothing is claimed about them:"
        )
        head.extend(f"- `{s}`: {_cell(e)}" for s, e in sorted(rep.unreadable.items()))
        head.append("")
    head.append(f"**{len(rep.entries)} resource(s) out of sync.**" if rep.entries else "**In sync.**")
    head.append("")
    head += _finding_bullets(rep.findings)
    if rep.entries:
        head += [
            "| status | resource | out of band | live → manifest |",
            "|---|---|---|---|",
        ]
    text = _drift_rows("\n".join(head) + "\n", rep, budget)
    if rep.unmanaged:
        text = _unmanaged_details(text, rep.unmanaged, budget)
    if rep.ignored:
        text += f"\nIgnored by rules: {len(rep.ignored)}.\n"
    for rule in rep.expired_rules:
        text += f"\n- expired ignore rule `{rule.address}` (until {rule.until}, no longer applied): {_cell(rule.reason)}"
    return text + "\n"


def _drift_rows(text: str, rep: DriftReport, budget: int) -> str:
    shown = 0
    for e in rep.entries:
        values = "<br>".join(
            f"`{_cell(f.path)}`: live `{_cell(_v(f.before))}`, manifest `{_cell(_v(f.after))}`"
            for f in e.fields
        )
        row = f"| {e.status} | `{e.address}` | {e.out_of_band or '?'} | {values or _cell(e.reason)} |\n"
        if len(text) + len(row) + 2000 > budget:
            break
        text += row
        shown += 1
    if shown < len(rep.entries):
        text += f"\n_{len(rep.entries) - shown} more not shown to stay within the comment size._\n"
    return text


def _unmanaged_details(text: str, unmanaged: list[Resource], budget: int) -> str:
    text += f"\n<details><summary>Unmanaged in scope (informational, never touched): {len(unmanaged)}</summary>\n\n"
    listed = 0
    for r in unmanaged:
        line = f"- `{r.address}` ({owned_by(r)})\n"
        if len(text) + len(line) + 600 > budget:
            break
        text += line
        listed += 1
    if listed < len(unmanaged):
        text += f"- ... and {len(unmanaged) - listed} more\n"
    return text + "</details>\n"
