"""Desired vs live → changes, field by field (pure: no I/O).

Rules (see the README's plan section for the sources):
- DeliverySource: a new ``resourceArn`` or ``logType`` → replace; ``deliverySourceConfiguration`` → update.
- DeliveryDestination: a new ``outputFormat`` or ``deliveryDestinationType`` (which a destination ARN of another
  service implies) → replace; a same-service ``destinationResourceArn`` or ``roleArn`` → update.
- DeliveryDestinationPolicy: compared by meaning (``canonical_policy``) → update with a Put; dropped → delete.
- Delivery: identity is (source, destination ARN); a manifest handle that moves to another pair → replace;
  ``recordFields``, ``fieldDelimiter``, ``s3DeliveryConfiguration`` → update. A field the manifest leaves out is the
  server's (not compared), and a CloudFront suffixPath is compared without the prefix AWS adds on create.
- Tags: only the user's tags are compared; the ownership tag and live protect tags are not the user's.
- Cascades: replacing a source or destination replaces the deliveries on it (and re-puts the policy).
- Ownership: a live resource without our tag is an error unless ``adopt``; never deleted. Protected → no delete or
  replace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from . import iam
from .globs import address_matches
from .kinds import KINDS, Delivery, Policy, Source
from .kinds import FieldDiff as FieldDiff
from .kinds.base import dict_diffs
from .models import DERIVED, KIND_RANK, Kind, Resource, parse_destination_arn


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "noop"


@dataclass
class Change:
    action: Action
    before: Resource | None
    after: Resource | None
    reason: str = ""
    fields: list[FieldDiff] = field(default_factory=list)
    adopt: bool = False
    warnings: list[str] = field(default_factory=list)  # one line each, shown under the change

    @property
    def resource(self) -> Resource:
        r = self.after or self.before
        assert r is not None
        return r

    @property
    def kind(self) -> Kind:
        return self.resource.kind

    @property
    def address(self) -> str:
        return self.resource.address

    @property
    def sort_key(self) -> tuple[int, str]:
        return (KIND_RANK[self.kind], self.address)

    def tag_changes(self) -> tuple[dict[str, str], list[str]]:
        """(tags to set, tag keys to remove) for an in-place update."""
        before = self.before.tags if self.before else {}
        after = self.after.tags if self.after else {}
        to_set = {k: v for k, v in after.items() if before.get(k) != v}
        to_remove = sorted(k for k in before if k not in after)
        return to_set, to_remove

    def attr_fields(self) -> list[FieldDiff]:
        return [f for f in self.fields if not f.path.startswith("tags")]


@dataclass(frozen=True)
class DiffProblem:
    """Why the plan cannot be applied as is: the address it is about, and one line for humans (which names it)."""

    address: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class DiffResult:
    changes: list[Change]
    unmanaged: list[Resource]  # live resources in scope without our ownership tag (never touched)
    problems: list[DiffProblem]  # ownership and protection; the plan cannot be applied while any remain
    ignored: list[str] = field(default_factory=list)  # addresses or fields left out by ignore rules

    @property
    def errors(self) -> list[str]:
        """The problems' lines."""
        return [p.message for p in self.problems]


@dataclass(frozen=True)
class Ignore:
    address: str  # glob over account/region/Kind/name or Kind/name
    fields: tuple[str, ...] = ()

    def matches(self, resource: Resource) -> bool:
        return address_matches(resource.address, (self.address,))


# ---- field comparison (each kind's rules are in its module under kinds/) -------------------------------------


def create_fields(resource: Resource, deleted: bool = False) -> list[FieldDiff]:
    """Every field a create sets (``before`` None), or a delete removes (``after`` None, with ``deleted``), so JSON,
    text and markdown show the same: attributes in their own order, then ``tags.KEY`` sorted."""
    values = [(k, v) for k, v in resource.attrs.items() if v is not None and v != {} and k not in DERIVED]
    values.extend((f"tags.{k}", v) for k, v in sorted(resource.tags.items()))
    return [FieldDiff(k, v, None) if deleted else FieldDiff(k, None, v) for k, v in values]


def compare(desired: Resource, live: Resource) -> list[FieldDiff]:
    """Field diffs from live to desired, for the fields the manifest sets (the kind's), then the tags."""
    out = KINDS[desired.kind].compare(desired, live)
    out.extend(dict_diffs("tags", live.tags, desired.tags, only_after_keys=False))
    return out


def _layout_warning(change: Change) -> str | None:
    if change.before is None or change.after is None or change.kind not in KINDS:
        return None
    return KINDS[change.kind].update_warning(change.before, change.after, change.attr_fields())


def _replace_reason(kind: Kind, fields: list[FieldDiff], live: Resource, desired: Resource) -> str | None:
    return KINDS[kind].replace_reason(fields, live, desired)


# ---- the diff ------------------------------------------------------------------------------------------------


def diff(
    desired: list[Resource],
    live: list[Resource],
    project: str,
    *,
    prune: bool = True,
    adopt: bool = False,
    ignore: list[Ignore] | None = None,
) -> DiffResult:
    """Compare desired and live resources; return changes (unordered), unmanaged resources and problems.

    The steps, in order: classify (pair each desired resource with its live one, or the delivery its handle moved
    from; whole-resource ignore rules drop it here), ownership (not ours: an error, or adopted with ``adopt``),
    decide (compare fields, drop ignored field paths, create/update/replace), prune (ours and no longer named →
    delete), cascade (replaced parents replace their children), then the guards (protection, delete blockers,
    resource ARN slots, foreign deliveries)."""
    run = _Run(project, adopt, ignore or [])
    pairs, moved = _classify(run, desired, live)
    for d, current in pairs:
        if current is None:
            run.changes[d.key] = Change(Action.CREATE, None, d, "not in AWS", create_fields(d))
        elif current.key != d.key:  # the handle's delivery moved to another (source, destination) pair
            run.changes[d.key] = _moved_delivery(current, d)
        else:
            adopting = _ownership(run, d, current)
            if adopting is not None:
                _decide(run, d, current, adopting)
    if prune:
        _prune(run, live, {d.key for d in desired} | moved)
    else:
        _unmanaged(run, live, {d.key for d in desired} | moved)
    _cascade(run.changes, run.unchanged)
    _check_protected(run.changes, run.problems)
    _check_delete_blockers(run.changes, live, run.problems)
    _check_resource_arns(run.changes, live, run.problems)
    _warn_foreign_deliveries(run.changes, live)
    return DiffResult(
        sorted(run.changes.values(), key=lambda c: c.sort_key),
        sorted(run.unmanaged, key=lambda r: r.address),
        sorted(set(run.problems), key=lambda p: (p.message, p.address)),  # same order whatever the input's
        sorted(run.ignored),
    )


@dataclass
class _Run:
    """What one diff accumulates as its steps run."""

    project: str
    adopt: bool
    ignore: list[Ignore]
    changes: dict[str, Change] = field(default_factory=dict)
    unchanged: dict[str, tuple[Resource, Resource]] = field(
        default_factory=dict
    )  # no Change: most are in sync
    problems: list[DiffProblem] = field(default_factory=list)
    unmanaged: list[Resource] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _classify(
    run: _Run, desired: list[Resource], live: list[Resource]
) -> tuple[list[tuple[Resource, Resource | None]], set[str]]:
    """Each desired resource with the live one it becomes (None: created), and the keys of live deliveries whose
    manifest handle now names another (source, destination) pair. Resources ignored as a whole are left out."""
    live_by_key = {r.key: r for r in live}
    handles = _live_handles(live, {r.key for r in desired}, run.project)
    whole = [i for i in run.ignore if not i.fields]
    pairs: list[tuple[Resource, Resource | None]] = []
    moved: set[str] = set()
    for d in desired:
        if any(i.matches(d) for i in whole):
            run.ignored.append(d.address)
            continue
        current = live_by_key.get(d.key)
        if current is None and d.kind is Kind.DELIVERY:
            current = handles.get((d.account, d.region, d.name))
            if current is not None:
                moved.add(current.key)
        pairs.append((d, current))
    return pairs, moved


def _live_handles(
    live: list[Resource], desired_keys: set[str], project: str
) -> dict[tuple[str, str, str], Resource]:
    """Our live deliveries that no desired one matches, by manifest handle (account, region, name)."""
    return {
        (r.account, r.region, r.name): r
        for r in live
        if r.kind is Kind.DELIVERY and r.key not in desired_keys and r.owner == project
    }


def _moved_delivery(old: Resource, d: Resource) -> Change:
    fields = [
        FieldDiff(k, was, now)
        for k, was, now in zip(
            Delivery.identity_fields, Delivery.endpoints(old), Delivery.endpoints(d), strict=True
        )
        if was != now
    ]
    return Change(Action.REPLACE, old, d, "source/destination of a delivery cannot change", fields)


def _ownership(run: _Run, d: Resource, current: Resource) -> bool | None:
    """False: ours; True: taken over (``adopt`` and no owner); None: not ours to touch (a problem is recorded)."""
    owner = current.owner
    if owner == run.project:
        return False
    if owner is None and run.adopt:
        return True
    if owner is None:
        message = (
            f"{d.address} ({d.origin}) already exists in AWS without the reconciler:project tag; "
            "re-run with --adopt to take it over"
        )
    else:
        message = f"{d.address} ({d.origin}) is owned by project {owner!r}; refusing to touch it"
    run.problems.append(DiffProblem(d.address, message))
    return None


def _ignore_fields(run: _Run, d: Resource, fields: list[FieldDiff]) -> list[FieldDiff]:
    """The field diffs left once the ignore rules that match ``d`` drop their paths (and what they dropped)."""
    for rule in run.ignore:
        if not rule.fields or not rule.matches(d):
            continue
        kept = [f for f in fields if not any(f.path == p or f.path.startswith(p + ".") for p in rule.fields)]
        run.ignored.extend(f"{d.address}:{f.path}" for f in fields if f not in kept)
        fields = kept
    return fields


def _decide(run: _Run, d: Resource, current: Resource, adopting: bool) -> None:
    """Update, replace or nothing, for a desired resource that is live and ours (or being adopted)."""
    fields = _ignore_fields(run, d, compare(d, current))
    # a field AWS cannot change in place forces a replace, adopted or not (a Put of it would be refused)
    reason = _replace_reason(d.kind, fields, current, d) if fields else None
    if adopting and d.kind is not Kind.POLICY and not reason:
        run.changes[d.key] = Change(
            Action.UPDATE, current, d, "adopt: add the ownership tag", fields, adopt=True
        )
        return
    if not fields:
        run.unchanged[d.key] = (current, d)
        return
    if reason:
        change = Change(Action.REPLACE, current, d, reason, fields)
    else:
        change = Change(Action.UPDATE, current, d, _update_reason(d, current, fields), fields)
        warning = _layout_warning(change)
        if warning is not None:
            change.warnings.append(warning)
    change.adopt = adopting  # a policy taken over with its destination
    run.changes[d.key] = change


def _update_reason(d: Resource, current: Resource, fields: list[FieldDiff]) -> str:
    if d.kind is Kind.POLICY:
        wider = iam.grants(Policy.typed(d).policy) - iam.grants(Policy.typed(current).policy)
        if wider:
            grants = "; ".join(f"{p} {a} on {r}" for p, a, r, _ in sorted(wider)[:3])
            return f"policy WIDENS access: allows {grants}"
    return ", ".join(sorted({f.path.split(".")[0] for f in fields})) + " changed"


def _unmanaged(run: _Run, live: list[Resource], named: set[str]) -> None:
    """Live resources no manifest names and that are not ours: reported, never touched."""
    for r in live:
        if r.key not in named and r.owner != run.project and r.kind is not Kind.POLICY:
            run.unmanaged.append(r)


def _prune(run: _Run, live: list[Resource], named: set[str]) -> None:
    """Ours and no longer named → delete; a policy goes with its destination (no separate delete)."""
    _unmanaged(run, live, named)
    doomed = [r for r in live if r.key not in named and r.owner == run.project]
    deleted_destinations = {(r.account, r.region, r.name) for r in doomed if r.kind is Kind.DESTINATION}
    for r in doomed:
        if r.kind is Kind.POLICY and (r.account, r.region, r.name) in deleted_destinations:
            continue
        run.changes[r.key] = Change(
            Action.DELETE, r, None, "not in the manifests (prune)", create_fields(r, True)
        )


def _cascade(changes: dict[str, Change], unchanged: dict[str, tuple[Resource, Resource]]) -> None:
    """Replacing a source or destination replaces the deliveries on it and re-puts the destination's policy."""
    replaced_sources = {
        (c.resource.account, c.resource.region, c.resource.name)
        for c in changes.values()
        if c.kind is Kind.SOURCE and c.action is Action.REPLACE
    }
    replaced_dest_arns = {
        c.resource.arn: c.resource
        for c in changes.values()
        if c.kind is Kind.DESTINATION and c.action is Action.REPLACE
    }
    if not replaced_sources and not replaced_dest_arns:
        return

    def why(r: Resource) -> str | None:
        if r.kind is Kind.DELIVERY:
            src = Delivery.source_of(r)
            if src in replaced_sources:
                return f"its DeliverySource/{src[2]} is replaced"
            dest = replaced_dest_arns.get(Delivery.endpoints(r)[1])
            if dest is not None:
                return f"its DeliveryDestination/{dest.name} is replaced"
        elif r.kind is Kind.POLICY and r.arn in replaced_dest_arns:
            return f"its DeliveryDestination/{r.name} is replaced"
        return None

    for ch in changes.values():
        if ch.action is Action.UPDATE and (reason := why(ch.resource)) is not None:
            ch.action, ch.reason = Action.REPLACE, reason
    for key, (live, desired) in unchanged.items():
        if (reason := why(desired)) is not None:
            changes[key] = Change(Action.REPLACE, live, desired, reason)


def _check_protected(changes: dict[str, Change], problems: list[DiffProblem]) -> None:
    """A live protect tag refuses a delete or replace."""
    for ch in changes.values():
        if ch.action in (Action.DELETE, Action.REPLACE) and ch.before is not None and ch.before.protected:
            tag = ", ".join(f"{k}={v}" for k, v in sorted(ch.before.extra_tags.items())) or "protect"
            problems.append(
                DiffProblem(
                    ch.address,
                    f"{ch.address} is protected by its live tag {tag}; refusing to {ch.action.value} it. To go "
                    f"ahead, remove the tag in AWS, or leave it out with --exclude '{ch.address}'",
                )
            )


def _leaving(changes: dict[str, Change]) -> set[str]:
    """Keys of the live resources a delete or replace takes away."""
    return {
        c.before.key
        for c in changes.values()
        if c.action in (Action.DELETE, Action.REPLACE) and c.before is not None
    }


def _check_resource_arns(
    changes: dict[str, Change], live: list[Resource], problems: list[DiffProblem]
) -> None:
    """AWS allows one source per (resource ARN, log type) per account and region: a new source may take that pair
    only from a source we delete (aws-cdk PR #36314: two log types of one resource work, the same one twice fails)."""
    creating = [
        c.after
        for c in changes.values()
        if c.kind is Kind.SOURCE and c.action in (Action.CREATE, Action.REPLACE) and c.after is not None
    ]
    if not creating:
        return
    leaving = _leaving(changes)
    holders = {Source.slot(r): r for r in live if r.kind is Kind.SOURCE}
    for after in creating:
        holder = holders.get(Source.slot(after))
        if holder is None or holder.key == after.key or holder.key in leaving:
            continue
        problems.append(
            DiffProblem(
                after.address,
                f"{after.address} ({after.origin}): resourceArn is already used for {Source.typed(after).logType} by "
                f"{holder.address} (owner: {holder.owner or 'none'}; not being deleted); AWS allows one delivery "
                "source per resource ARN and log type",
            )
        )


def _warn_foreign_deliveries(changes: dict[str, Change], live: list[Resource]) -> None:
    """A destination whose policy lets other accounts deliver may hold deliveries this project cannot see; AWS then
    refuses to delete it, so its replace would fail (and apply puts back what it removed)."""
    policies = {r.arn: r for r in live if r.kind is Kind.POLICY}
    for ch in changes.values():
        if ch.kind is not Kind.DESTINATION or ch.action not in (Action.REPLACE, Action.DELETE):
            continue
        policy = policies.get(ch.resource.arn)
        if policy is None:
            continue
        others = sorted(iam.accounts_allowed(Policy.typed(policy).policy) - {ch.resource.account})
        if others:
            who = (
                "any account"
                if "*" in others
                else "account" + ("s " if len(others) > 1 else " ") + ", ".join(others)
            )
            ch.warnings.append(
                f"its policy lets {who} deliver into it: if they have deliveries here, DeleteDeliveryDestination "
                f"fails and this {ch.action.value} cannot finish"
            )


def _check_delete_blockers(
    changes: dict[str, Change], live: list[Resource], problems: list[DiffProblem]
) -> None:
    """A source or destination cannot be deleted while a delivery we will not delete still uses it."""
    going = {
        (c.resource.account, c.resource.region, c.kind, c.resource.name)
        for c in changes.values()
        if c.action in (Action.DELETE, Action.REPLACE) and c.kind in (Kind.SOURCE, Kind.DESTINATION)
    }
    if not going:
        return
    leaving = _leaving(changes)
    for r in live:
        if r.kind is not Kind.DELIVERY or r.key in leaving:
            continue
        source_name, dest_arn = Delivery.endpoints(r)
        src = (r.account, r.region, Kind.SOURCE, source_name)
        parts = parse_destination_arn(dest_arn)
        dst = (parts[1], parts[0], Kind.DESTINATION, parts[2]) if parts is not None else None
        for target in (src, dst):
            if target is not None and target in going:
                address = f"{target[0]}/{target[1]}/{target[2].value}/{target[3]}"
                problems.append(
                    DiffProblem(
                        address,
                        f"{address} cannot be deleted: the delivery {r.address} ({r.id}) still uses it and is not "
                        "being deleted",
                    )
                )
