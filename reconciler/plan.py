"""Order changes into an executable plan, list each change's API calls, and (de)serialise saved plans (pure).

Each change has one or two steps: ``delete`` (delete, and the first half of a replace) and ``apply`` (create,
update, second half of a replace). Edges, as in Terraform's graph with destroy edges reversed:

- a replace deletes before it creates;
- apply: source → deliveries on it; destination → its policy → deliveries into it;
- delete: deliveries → their source and destination; policy → its destination;
- a source deleted from a resource ARN → a source created on the same ARN (renames; one source per ARN per account);
- a delivery deleted from a source → deliveries created on that source (one delivery per source per type);
- destination → its DestinationGrant (grants: managed) → deliveries into it; deliveries deleted → the grant removed.

The order is ``graphlib.TopologicalSorter`` taken one node at a time, always the smallest ready node by (deletes
first, kind rank — reversed for deletes — then address), so it never depends on input order.
"""

from __future__ import annotations

import graphlib
import hashlib
import heapq
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import hints
from .diff import Action, Change, FieldDiff
from .errors import StalePlanError
from .findings import Finding
from .globs import address_matches as address_matches
from .globs import short_address
from .kinds import KINDS, Delivery, Grant, Source
from .models import KIND_RANK, Kind, Resource

FORMAT_VERSION = 1
_EMPTY: Mapping[str, Any] = MappingProxyType({})

DELETE, APPLY = "delete", "apply"
Step = tuple[int, str]  # (change index, phase)


@dataclass
class Plan:
    project: str
    changes: list[Change]  # in execution order (noops left out)
    steps: list[Step]  # in execution order
    deps: dict[Step, set[Step]]  # step -> steps that must finish first
    digest: str = ""
    fingerprints: dict[str, str] = field(
        default_factory=dict
    )  # change address -> live fingerprint at plan time
    api_calls: dict[str, int] = field(default_factory=dict)
    scopes: list[tuple[str, str]] = field(default_factory=list)
    unmanaged: list[Resource] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # sorted; see findings.py
    notes: list[str] = field(default_factory=list)  # plan-wide lines for humans (e.g. "prune off: ...")
    context: list[Resource] = field(
        default_factory=list
    )  # unchanged neighbours of the changes (for the picture)

    def summary(self) -> dict[str, int]:
        out = {a.value: 0 for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)}
        for c in self.changes:
            out[c.action.value] += 1
        return out

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def plan_digest(self) -> str:
        """What a reviewer approved: see ``changes_digest`` (not ``digest``, which is the manifests')."""
        return changes_digest(self.changes)


def change_identity(c: Change) -> dict[str, Any]:
    """The part of a change that ``changes_digest`` covers: what it does, not why or when it was planned."""
    return {
        "address": c.address,
        "action": c.action.value,
        "fields": [[f.path, f.before, f.after] for f in c.fields],
        "adopt": c.adopt,
    }


def json_change_identity(d: dict[str, Any]) -> dict[str, Any]:
    """``change_identity`` of a change in a JSON plan (``plan --format json`` or a saved plan)."""
    return {
        "address": d["address"],
        "action": d["action"],
        "fields": [[f["path"], f["before"], f["after"]] for f in d.get("fields", [])],
        "adopt": bool(d.get("adopt", False)),
    }


def _canonical(identity: dict[str, Any]) -> str:
    return json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)


def _digest(identities: list[dict[str, Any]]) -> str:
    items = sorted(_canonical(i) for i in identities)
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def changes_digest(changes: list[Change]) -> str:
    """A short digest of the changes only (address, action, field values, adoption), in a canonical order.

    Timings, API-call counts, live fingerprints, reasons and the manifests' file:line are left out, so the same
    changes planned twice (in the pull request, then on merge) give the same digest, and any other change does
    not. ``apply --expect-digest`` compares it. (``Plan.digest`` is another thing: the rendered manifests'.)
    """
    return _digest([change_identity(c) for c in changes])


def json_changes_digest(changes: list[dict[str, Any]]) -> str:
    return _digest([json_change_identity(d) for d in changes])


def digest_difference(reviewed: list[dict[str, Any]], current: list[Change]) -> list[str]:
    """One line per change that differs between a reviewed plan's changes (JSON) and the current ones."""
    before = {d["address"]: json_change_identity(d) for d in reviewed}
    now = {c.address: change_identity(c) for c in current}
    lines = (
        _difference(address, before.get(address), now.get(address))
        for address in sorted(set(before) | set(now))
    )
    return [line for line in lines if line is not None]


def _difference(address: str, b: dict[str, Any] | None, n: dict[str, Any] | None) -> str | None:
    """How one change differs between the reviewed plan (``b``) and now (``n``), or None when it does not."""
    if n is None:
        return f"  no longer planned: {b['action']} {address}" if b is not None else None
    if b is None:
        return f"  not reviewed: {n['action']} {address}"
    if _canonical(b) == _canonical(n):
        return None
    if b["action"] != n["action"]:
        return f"  differs: {address} ({b['action']} when reviewed, {n['action']} now)"
    paths = sorted(
        {f[0] for f in n["fields"] if f not in b["fields"]}
        | {f[0] for f in b["fields"] if f not in n["fields"]}
    )
    return f"  differs: {n['action']} {address} ({', '.join(paths) or 'adoption'})"


def calls_for(change: Change) -> list[str]:
    """The API calls a change makes, in order (its kind's ``calls_for``)."""
    return KINDS[change.kind].calls_for(change)


def phases(change: Change) -> list[str]:
    if change.action is Action.REPLACE:
        return [DELETE, APPLY]
    if change.action is Action.DELETE:
        return [DELETE]
    return [APPLY]


def _match(change: Change, patterns: list[str]) -> bool:
    return address_matches(change.resource.address, patterns)


_GOING = (Action.DELETE, Action.REPLACE)
Place = tuple[str, str, str]  # (account, region, name)


@dataclass
class _Steps:
    """Each change's steps and the edges between them (step -> steps that must finish first)."""

    changes: list[Change]
    deps: dict[Step, set[Step]] = field(default_factory=dict)
    sources_apply: dict[Place, int] = field(default_factory=dict)
    sources_delete: dict[Place, int] = field(default_factory=dict)
    dest_apply: dict[str, int] = field(default_factory=dict)  # by destination ARN
    dest_delete: dict[str, int] = field(default_factory=dict)
    policy_apply: dict[str, int] = field(default_factory=dict)
    source_slots_created: dict[tuple[str, str, str, str], list[int]] = field(default_factory=dict)
    deliveries_by_source: dict[Place, list[int]] = field(default_factory=dict)
    grants_by_dest: dict[str, list[int]] = field(default_factory=dict)

    def add(self, before: Step, after: Step) -> None:
        if before in self.deps and after in self.deps and before != after:
            self.deps[after].add(before)


def _index_steps(changes: list[Change]) -> _Steps:
    g = _Steps(changes, {(i, ph): set() for i, c in enumerate(changes) for ph in phases(c)})
    for i, c in enumerate(changes):
        index = _INDEX.get(c.kind)
        if index is not None:
            index(g, i, c)
    return g


def _going(c: Change) -> Resource | None:
    """What a delete or replace takes away."""
    return c.before if c.action in _GOING else None


def _index_source(g: _Steps, i: int, c: Change) -> None:
    if c.after is not None:
        g.sources_apply[(c.after.account, c.after.region, c.after.name)] = i
        if c.action in (Action.CREATE, Action.REPLACE):
            g.source_slots_created.setdefault(Source.slot(c.after), []).append(i)
    going = _going(c)
    if going is not None:
        g.sources_delete[(going.account, going.region, going.name)] = i


def _index_destination(g: _Steps, i: int, c: Change) -> None:
    if c.after is not None and c.after.arn:
        g.dest_apply[c.after.arn] = i
    going = _going(c)
    if going is not None and going.arn:
        g.dest_delete[going.arn] = i


def _index_policy(g: _Steps, i: int, c: Change) -> None:
    if c.after is not None and c.resource.arn:
        g.policy_apply[c.resource.arn] = i


def _index_delivery(g: _Steps, i: int, c: Change) -> None:
    if c.after is not None:
        g.deliveries_by_source.setdefault(_source_of(c.after), []).append(i)


def _index_grant(g: _Steps, i: int, c: Change) -> None:
    for dest in Grant.typed(c.resource).destinations:
        g.grants_by_dest.setdefault(str(dest), []).append(i)


_INDEX: dict[Kind, Callable[[_Steps, int, Change], None]] = {
    Kind.SOURCE: _index_source,
    Kind.DESTINATION: _index_destination,
    Kind.POLICY: _index_policy,
    Kind.DELIVERY: _index_delivery,
    Kind.GRANT: _index_grant,
}


def _source_of(delivery: Resource) -> Place:
    return Delivery.source_of(delivery)


def _edges(changes: list[Change]) -> dict[Step, set[Step]]:
    g = _index_steps(changes)
    for i, c in enumerate(changes):
        if c.action is Action.REPLACE:
            g.add((i, DELETE), (i, APPLY))  # a replace deletes before it creates
        for edges in _EDGES.get(c.kind, ()):
            edges(g, i, c)
    return g.deps


def _grant_edges(g: _Steps, i: int, c: Change) -> None:
    """A grant is written after the destinations it serves."""
    if c.after is None:
        return
    for dest in Grant.typed(c.resource).destinations:
        if dest in g.dest_apply:
            g.add((g.dest_apply[dest], APPLY), (i, APPLY))


def _source_slot_edges(g: _Steps, i: int, c: Change) -> None:
    """A source deleted from a (resource ARN, log type) before one is created on it (one source per slot)."""
    going = _going(c)
    if going is not None:
        for j in g.source_slots_created.get(Source.slot(going), []):
            g.add((i, DELETE), (j, APPLY))


def _policy_edges(g: _Steps, i: int, c: Change) -> None:
    """A policy is put after its destination, and deleted before it."""
    arn = c.resource.arn
    if not arn:
        return
    if arn in g.dest_apply:
        g.add((g.dest_apply[arn], APPLY), (i, APPLY))
    if arn in g.dest_delete:
        g.add((i, DELETE), (g.dest_delete[arn], DELETE))


def _delivery_grant_edges(g: _Steps, i: int, c: Change) -> None:
    """A delivery is created after its destination's grant; deleted before a grant that is removed."""
    if c.after is not None:
        for j in g.grants_by_dest.get(Delivery.endpoints(c.after)[1], []):
            if g.changes[j].after is not None:
                g.add((j, APPLY), (i, APPLY))
    going = _going(c)
    if going is not None:
        for j in g.grants_by_dest.get(Delivery.endpoints(going)[1], []):
            if g.changes[j].action is Action.DELETE:
                g.add((i, DELETE), (j, DELETE))


def _delivery_apply_edges(g: _Steps, i: int, c: Change) -> None:
    """A delivery is created after its source, its destination and the destination's policy."""
    if c.after is None:
        return
    dest = Delivery.endpoints(c.after)[1]
    for parents in (g.dest_apply, g.policy_apply):
        if dest in parents:
            g.add((parents[dest], APPLY), (i, APPLY))
    src = _source_of(c.after)
    if src in g.sources_apply:
        g.add((g.sources_apply[src], APPLY), (i, APPLY))


def _delivery_delete_edges(g: _Steps, i: int, c: Change) -> None:
    """A delivery is deleted before its source and destination, and before deliveries are created on its source
    (one delivery per source and destination type)."""
    going = _going(c)
    if going is None:
        return
    src, dest = _source_of(going), Delivery.endpoints(going)[1]
    if src in g.sources_delete:
        g.add((i, DELETE), (g.sources_delete[src], DELETE))
    if dest in g.dest_delete:
        g.add((i, DELETE), (g.dest_delete[dest], DELETE))
    for j in g.deliveries_by_source.get(src, []):
        g.add((i, DELETE), (j, APPLY))


_EDGES: dict[Kind, tuple[Callable[[_Steps, int, Change], None], ...]] = {
    Kind.GRANT: (_grant_edges,),
    Kind.SOURCE: (_source_slot_edges,),
    Kind.POLICY: (_policy_edges,),
    Kind.DELIVERY: (_delivery_grant_edges, _delivery_apply_edges, _delivery_delete_edges),
}


def _step_key(changes: list[Change], step: Step) -> tuple[int, int, str]:
    c = changes[step[0]]
    rank = KIND_RANK[c.kind]
    if step[1] == DELETE:
        return (0, 4 - rank, c.address)
    return (1, rank, c.address)


def order(changes: list[Change]) -> tuple[list[Change], list[Step], dict[Step, set[Step]]]:
    """Changes and steps in execution order, with each step's dependencies (indexes into the returned list)."""
    base = sorted(changes, key=lambda c: c.sort_key)
    deps = _edges(base)
    sorter: graphlib.TopologicalSorter[Step] = graphlib.TopologicalSorter(deps)
    sorter.prepare()
    ready: list[tuple[tuple[int, int, str], Step]] = []
    steps: list[Step] = []
    while sorter.is_active():
        for s in sorter.get_ready():
            heapq.heappush(ready, (_step_key(base, s), s))
        _, step = heapq.heappop(ready)
        steps.append(step)
        sorter.done(step)
    first: dict[int, int] = {}
    for pos, (idx, _) in enumerate(steps):
        first.setdefault(idx, pos)
    new_index = {old: new for new, old in enumerate(sorted(first, key=lambda i: first[i]))}
    ordered = [base[old] for old in sorted(first, key=lambda i: first[i])]
    steps = [(new_index[i], ph) for i, ph in steps]
    new_deps = {(new_index[i], ph): {(new_index[j], q) for j, q in d} for (i, ph), d in deps.items()}
    return ordered, steps, new_deps


def build(
    changes: list[Change],
    project: str,
    *,
    targets: Sequence[str] = (),
    excludes: Sequence[str] = (),
    digest: str = "",
    fingerprints: Mapping[str, str] = _EMPTY,
    api_calls: Mapping[str, int] = _EMPTY,
    scopes: Sequence[tuple[str, str]] = (),
    unmanaged: Sequence[Resource] = (),
    options: Mapping[str, Any] = _EMPTY,
    findings: Sequence[Finding] = (),
    notes: Sequence[str] = (),
    context: Sequence[Resource] = (),
) -> Plan:
    """The plan: non-noop changes (filtered by --target/--exclude, keeping what targets depend on), ordered."""
    active = [c for c in changes if c.action is not Action.NOOP]
    if targets or excludes:
        active = select(active, list(targets), list(excludes))
    ordered, steps, deps = order(active)
    return Plan(
        project=project,
        changes=ordered,
        steps=steps,
        deps=deps,
        digest=digest,
        fingerprints={c.address: fingerprints.get(c.address, "absent") for c in ordered},
        api_calls=dict(sorted(api_calls.items())),
        scopes=sorted(scopes),
        unmanaged=list(unmanaged),
        options=dict(options),
        findings=sorted(findings),
        notes=list(notes),
        context=list(context),
    )


def select(changes: list[Change], targets: list[str], excludes: list[str]) -> list[Change]:
    """The changes --target/--exclude keep, with what the kept ones depend on (Terraform's -target semantics),
    unless excluded."""
    ordered, _, deps = order(changes)

    def wanted(c: Change) -> bool:
        return (not targets or _match(c, targets)) and not (excludes and _match(c, excludes))

    selected = {i for i, c in enumerate(ordered) if wanted(c)}
    stack = list(selected)
    while stack:
        i = stack.pop()
        needed = {j for ph in phases(ordered[i]) for j, _ in deps.get((i, ph), set())}
        for j in sorted(needed - selected):
            if not (excludes and _match(ordered[j], excludes)):
                selected.add(j)
                stack.append(j)
    return [c for i, c in enumerate(ordered) if i in selected]


# ---- (de)serialisation ---------------------------------------------------------------------------------------


def change_to_json(c: Change, full: bool = False) -> dict[str, Any]:
    r = c.resource
    out: dict[str, Any] = {
        "address": r.address,
        "kind": r.kind.value,
        "name": r.name,
        "account": r.account,
        "region": r.region,
        "action": c.action.value,
        "reason": c.reason,
        "fields": [f.to_json() for f in c.fields],
        "calls": calls_for(c),
    }
    if c.after is not None and c.after.origin:
        out["origin"] = c.after.origin
    if r.selector:
        out["selector"] = r.selector
    if c.adopt:
        out["adopt"] = True
    if c.warnings:
        out["warnings"] = c.warnings
    if full:
        out["before"] = c.before.to_json() if c.before else None
        out["after"] = c.after.to_json() if c.after else None
    return out


def to_json(plan: Plan, full: bool = True) -> dict[str, Any]:
    """The JSON plan (``format_version`` 1); ``full`` adds what ``apply PLANFILE`` needs. A saved plan stores its
    changes, not their steps and dependencies: ``from_json`` recomputes those (and ignores any an older file has)."""
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "project": plan.project,
        "summary": plan.summary(),
        "changes": [change_to_json(c, full) for c in plan.changes],
        "unmanaged": [r.address for r in plan.unmanaged],
        "unmanaged_owners": {r.address: r.owner for r in plan.unmanaged if r.owner},
        "api_calls": {"total": sum(plan.api_calls.values()), "by_operation": plan.api_calls},
        "scopes": [f"{a}/{r}" for a, r in plan.scopes],
        "prune": bool(plan.options.get("prune", True)),
        "findings": [f.to_json() for f in plan.findings],
        "notes": plan.notes,
        "plan_digest": plan.plan_digest,
    }
    if full:
        doc["manifest_digest"] = plan.digest
        doc["fingerprints"] = plan.fingerprints
        doc["options"] = plan.options
        doc["context"] = [r.to_json() for r in plan.context]
    return doc


def is_plan_document(text: str) -> bool:
    """A saved plan is recognised by its content (a JSON object with ``format_version`` and ``changes``), never by
    its file name; a manifest, even one written as JSON, has neither."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return False
    try:
        doc = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(doc, dict) and "format_version" in doc and "changes" in doc


_NEEDS = {
    Action.CREATE: (False, True),
    Action.UPDATE: (True, True),
    Action.REPLACE: (True, True),
    Action.DELETE: (True, False),
}  # (before, after) each action needs


def change_from_json(c: dict[str, Any]) -> Change:
    """A change of a saved plan, with the before/after resources its action needs (ValueError otherwise)."""
    change = Change(
        Action(c["action"]),
        Resource.from_json(c["before"]) if c.get("before") else None,
        Resource.from_json(c["after"]) if c.get("after") else None,
        c.get("reason", ""),
        [FieldDiff(f["path"], f["before"], f["after"]) for f in c.get("fields", [])],
        bool(c.get("adopt", False)),
        [str(w) for w in c.get("warnings", [])],
    )
    need_before, need_after = _NEEDS.get(change.action, (False, False))
    lacking = (need_before and change.before is None) or (need_after and change.after is None)
    if change.action is Action.NOOP or lacking:
        raise ValueError(f"{change.action.value} of {change.address} lacks its before/after resource")
    return change


def from_json(doc: Any) -> Plan:
    """A saved plan; its steps and dependencies always follow from its changes (a file's are never trusted)."""
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
        version = doc.get("format_version") if isinstance(doc, dict) else None
        raise StalePlanError(
            f"unknown plan format_version {version!r} (this reconciler reads {FORMAT_VERSION})"
        )
    try:
        changes, steps, deps = order([change_from_json(c) for c in doc["changes"]])
        return Plan(
            project=doc["project"],
            changes=changes,
            steps=steps,
            deps=deps,
            digest=doc.get("manifest_digest", ""),
            fingerprints=dict(doc.get("fingerprints", {})),
            scopes=[tuple(s.split("/", 1)) for s in doc.get("scopes", [])],
            options=dict(doc.get("options", {})),
            findings=[Finding.from_json(f) for f in doc.get("findings", [])],
            notes=[str(n) for n in doc.get("notes", [])],
            context=[Resource.from_json(r) for r in doc.get("context", [])],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StalePlanError(f"the plan file is malformed: {type(exc).__name__}: {exc}") from None


def dumps(plan: Plan) -> str:
    return json.dumps(to_json(plan, full=True), indent=2, sort_keys=False, default=str)


def unmatched_patterns(option: str, patterns: list[str], resources: list[Resource]) -> list[str]:
    """One line per ``--target``/``--exclude`` pattern that matches no desired or live resource, with the closest
    addresses (a pattern that matches nothing is a typo far more often than an intent)."""
    addresses = sorted({r.address for r in resources})
    lines = []
    for pattern in patterns:
        if any(address_matches(a, (pattern,)) for a in addresses):
            continue
        pool = addresses if pattern.count("/") >= 2 else sorted({short_address(a) for a in addresses})
        near = hints.closest(pattern, pool, n=3, cutoff=0.4)
        tail = f"; closest: {', '.join(near)}" if near else ("; there are no resources" if not pool else "")
        lines.append(f"{option} {pattern!r} matches no resource in the manifests or in AWS{tail}")
    return lines
