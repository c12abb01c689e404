"""Fingerprints of live resources, and the checks of a saved plan against a fresh read before it is applied (pure).

A plan records, per change, the fingerprint of the live resource it touches; ``apply PLANFILE`` reads live state
again and refuses when any of them moved (``check_fresh``) or when a hand-edited plan would touch what the project
may not (``check_owned``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from .diff import Action, Change
from .errors import StalePlanError
from .models import Resource
from .plan import Plan

Scope = tuple[str, str]  # (account, region)


def fingerprint(resource: Resource | None) -> str:
    """A digest of a live resource as read (``absent`` when it does not exist)."""
    if resource is None:
        return "absent"
    data = resource.to_json()
    data.pop("origin", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def fingerprints(changes: list[Change], live: list[Resource]) -> dict[str, str]:
    """Per change address, the fingerprint of the live resource it touches (``absent`` when there is none)."""
    by_key = {r.key: r for r in live}
    out = {}
    for c in changes:
        r = c.before or c.after
        assert r is not None
        out[c.address] = fingerprint(by_key.get(r.key))
    return out


def stale_entries(plan: Plan, live: list[Resource], unreadable: Iterable[Scope] = ()) -> list[str]:
    """What changed in AWS since the plan was made (empty when the plan is still fresh)."""
    out = []
    unreadable = set(unreadable)
    now_by_address = fingerprints(plan.changes, live)
    for c in plan.changes:
        r = c.before or c.after
        assert r is not None
        if (r.account, r.region) in unreadable:
            out.append(f"{c.address}: its scope could not be read")
            continue
        expected = plan.fingerprints.get(c.address, "absent")
        now = now_by_address[c.address]
        if now != expected:
            what = "created" if expected == "absent" else ("deleted" if now == "absent" else "changed")
            out.append(f"{c.address}: {what} since the plan was made")
    return out


def _not_ours(plan: Plan, c: Change, by_key: dict[str, Resource], adopt: bool) -> str | None:
    """Why a change may not touch one of its sides (owned by another project, or by none), or None."""
    for side in (c.before, c.after):
        current = by_key.get(side.key) if side is not None else None
        if current is None or current.owner == plan.project:
            continue
        if current.owner is None and adopt and c.adopt and c.action is Action.UPDATE:
            continue  # planned with --adopt: it gets our tag
        who = (
            f"owned by project {current.owner!r}"
            if current.owner
            else "not owned by this project (no reconciler:project tag)"
        )
        return f"{c.address}: the plan would {c.action.value} it, but it is {who}"
    return None


def ownership_problems(plan: Plan, live: list[Resource]) -> list[str]:
    """What a (possibly hand-edited) saved plan would do to resources that are not this project's, or protected,
    judged against the fresh read. Each change's ``before`` is replaced by the live resource it names, so a delete or
    update acts on what is live, never on ids or owners written in the file."""
    by_key = {r.key: r for r in live}
    adopt = bool(plan.options.get("adopt"))
    out = []
    for c in plan.changes:
        problem = _not_ours(plan, c, by_key, adopt)
        if problem is not None:
            out.append(problem)
            continue
        current = by_key.get(c.before.key) if c.before is not None else None
        if current is None:
            continue  # a create, or gone since the plan: the freshness check reports it
        if current.protected and c.action in (Action.DELETE, Action.REPLACE):
            out.append(f"{c.address}: the plan would {c.action.value} it, but {protection_text(current)}")
        c.before = current
    return out


def protection_text(r: Resource) -> str:
    tag = ", ".join(f"{k}={v}" for k, v in sorted(r.extra_tags.items())) or "protect"
    return f"it is protected by its live tag {tag}"


def check_owned(plan: Plan, live: list[Resource]) -> None:
    problems = ownership_problems(plan, live)
    if problems:
        raise StalePlanError("the saved plan touches what this project may not; nothing was written:\n  "
                             + "\n  ".join(problems))  # fmt: skip


def check_fresh(plan: Plan, live: list[Resource], unreadable: Iterable[Scope] = ()) -> None:
    stale = stale_entries(plan, live, unreadable)
    if stale:
        raise StalePlanError("the saved plan is stale; nothing was written:\n  " + "\n  ".join(stale))
