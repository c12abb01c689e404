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

import fnmatch
from dataclasses import dataclass, field
from enum import StrEnum

from . import iam
from .kinds import KINDS
from .kinds import FieldDiff as FieldDiff
from .kinds.base import dict_diffs
from .models import DERIVED, KIND_RANK, Kind, Resource


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


@dataclass
class DiffResult:
    changes: list[Change]
    unmanaged: list[Resource]  # live resources in scope without our ownership tag (never touched)
    errors: list[str]  # ownership and protection problems; the plan cannot be applied while any remain
    ignored: list[str] = field(default_factory=list)  # addresses or fields left out by ignore rules


@dataclass(frozen=True)
class Ignore:
    address: str  # glob over account/region/Kind/name or Kind/name
    fields: tuple[str, ...] = ()

    def matches(self, resource: Resource) -> bool:
        short = f"{resource.kind.value}/{resource.name}"
        return fnmatch.fnmatchcase(resource.address, self.address) or fnmatch.fnmatchcase(short, self.address)


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
    """Compare desired and live resources; return changes (unordered), unmanaged resources and errors."""
    ignore = ignore or []
    live_by_key = {r.key: r for r in live}
    desired_keys = {r.key for r in desired}
    changes: dict[str, Change] = {}
    unchanged: dict[str, tuple[Resource, Resource]] = {}
    errors: list[str] = []
    unmanaged: list[Resource] = []
    ignored: list[str] = []

    # a live policy carries its destination's owner and protection (aws.read_live sets them; it has no tags)
    # deliveries whose manifest handle now names another (source, destination) pair
    live_handles: dict[tuple[str, str, str], Resource] = {}
    for r in live:
        if r.kind is Kind.DELIVERY and r.key not in desired_keys and r.owner == project:
            live_handles[(r.account, r.region, r.name)] = r
    moved: set[str] = set()

    whole = [i for i in ignore if not i.fields]
    partial = [i for i in ignore if i.fields]
    for d in desired:
        if whole and any(i.matches(d) for i in whole):
            ignored.append(d.address)
            continue
        current = live_by_key.get(d.key)
        if current is None:
            old = live_handles.get((d.account, d.region, d.name)) if d.kind is Kind.DELIVERY else None
            if old is not None:
                moved.add(old.key)
                fields = [
                    FieldDiff(k, old.attrs.get(k), d.attrs.get(k))
                    for k in ("deliverySourceName", "deliveryDestinationArn")
                    if old.attrs.get(k) != d.attrs.get(k)
                ]
                changes[d.key] = Change(
                    Action.REPLACE, old, d, "source/destination of a delivery cannot change", fields
                )
            else:
                changes[d.key] = Change(Action.CREATE, None, d, "not in AWS", create_fields(d))
            continue
        owner = current.owner
        adopting = False
        if owner != project:
            if owner is None and adopt:
                adopting = True
            elif owner is None:
                errors.append(
                    f"{d.address} ({d.origin}) already exists in AWS without the reconciler:project tag; "
                    "re-run with --adopt to take it over"
                )
                continue
            else:
                errors.append(f"{d.address} ({d.origin}) is owned by project {owner!r}; refusing to touch it")
                continue
        fields = compare(d, current)
        for rule_f in (i for i in partial if i.matches(d)) if partial else ():
            kept = [
                f for f in fields if not any(f.path == p or f.path.startswith(p + ".") for p in rule_f.fields)
            ]
            if len(kept) != len(fields):
                ignored.extend(f"{d.address}:{f.path}" for f in fields if f not in kept)
            fields = kept
        if adopting and d.kind is not Kind.POLICY:
            changes[d.key] = Change(
                Action.UPDATE, current, d, "adopt: add the ownership tag", fields, adopt=True
            )
            continue
        if not fields:
            unchanged[d.key] = (current, d)  # no Change object: most of a large estate is in sync
            continue
        reason = _replace_reason(d.kind, fields, current, d)
        if d.kind is Kind.POLICY and not reason:
            wider = iam.grants(d.attrs.get("policy")) - iam.grants(current.attrs.get("policy"))
            if wider:
                grants = "; ".join(f"{p} {a} on {r}" for p, a, r, _ in sorted(wider)[:3])
                reason_w = f"policy WIDENS access: allows {grants}"
                changes[d.key] = Change(Action.UPDATE, current, d, reason_w, fields, adopt=adopting)
                continue
        if reason:
            changes[d.key] = Change(Action.REPLACE, current, d, reason, fields)
        else:
            paths = ", ".join(sorted({f.path.split(".")[0] for f in fields}))
            changes[d.key] = Change(Action.UPDATE, current, d, f"{paths} changed", fields)
            warning = _layout_warning(changes[d.key])
            if warning is not None:
                changes[d.key].warnings.append(warning)
        if adopting and d.key in changes:
            changes[d.key].adopt = True  # a policy taken over with its destination

    deleted_destinations = set()
    for r in live:
        if r.key in desired_keys or r.key in moved:
            continue
        if r.owner != project:
            if r.kind is not Kind.POLICY:
                unmanaged.append(r)
            continue
        if not prune:
            continue
        if r.kind is Kind.DESTINATION:
            deleted_destinations.add((r.account, r.region, r.name))
        changes[r.key] = Change(
            Action.DELETE, r, None, "not in the manifests (prune)", create_fields(r, True)
        )
    # a policy goes with its destination: no separate delete
    for key, ch in list(changes.items()):
        r = ch.resource
        if (
            ch.action is Action.DELETE
            and r.kind is Kind.POLICY
            and (r.account, r.region, r.name) in deleted_destinations
        ):
            del changes[key]

    _cascade(changes, unchanged)

    for ch in changes.values():
        if ch.action in (Action.DELETE, Action.REPLACE) and ch.before is not None and ch.before.protected:
            tag = ", ".join(f"{k}={v}" for k, v in sorted(ch.before.extra_tags.items())) or "protect"
            errors.append(
                f"{ch.address} is protected by its live tag {tag}; refusing to {ch.action.value} it. To go ahead, "
                f"remove the tag in AWS, or leave it out with --exclude '{ch.address}'"
            )
    _check_delete_blockers(changes, live, errors)
    _check_resource_arns(changes, live, errors)
    _warn_foreign_deliveries(changes, live)
    return DiffResult(
        sorted(changes.values(), key=lambda c: c.sort_key),
        sorted(unmanaged, key=lambda r: r.address),
        sorted(set(errors)),  # the same errors in the same order, whatever the input order
        sorted(ignored),
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
            src = (r.account, r.region, str(r.attrs["deliverySourceName"]))
            if src in replaced_sources:
                return f"its DeliverySource/{src[2]} is replaced"
            dest = replaced_dest_arns.get(str(r.attrs["deliveryDestinationArn"]))
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


def _check_resource_arns(changes: dict[str, Change], live: list[Resource], errors: list[str]) -> None:
    """AWS allows one source per (resource ARN, log type) per account and region: a new source may take that pair
    only from a source we delete (aws-cdk PR #36314: two log types of one resource work, the same one twice fails)."""
    creating = [
        c for c in changes.values() if c.kind is Kind.SOURCE and c.action in (Action.CREATE, Action.REPLACE)
    ]
    if not creating:
        return
    leaving = {
        c.before.key for c in changes.values() if c.action in (Action.DELETE, Action.REPLACE) and c.before
    }
    holders = {source_slot(r): r for r in live if r.kind is Kind.SOURCE}
    for c in creating:
        assert c.after is not None
        holder = holders.get(source_slot(c.after))
        if holder is not None and holder.key != c.after.key and holder.key not in leaving:
            errors.append(
                f"{c.address} ({c.after.origin}): resourceArn is already used for {c.after.attrs['logType']} by "
                f"{holder.address} (owner: {holder.owner or 'none'}; not being deleted); AWS allows one delivery "
                "source per resource ARN and log type"
            )


def source_slot(r: Resource) -> tuple[str, str, str, str]:
    """What AWS keeps unique among delivery sources: (account, region, resource ARN, log type)."""
    return (r.account, r.region, str(r.attrs["resourceArn"]), str(r.attrs["logType"]))


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
        others = sorted(iam.accounts_allowed(policy.attrs.get("policy")) - {ch.resource.account})
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


def _check_delete_blockers(changes: dict[str, Change], live: list[Resource], errors: list[str]) -> None:
    """A source or destination cannot be deleted while a delivery we will not delete still uses it."""
    going = {
        (c.resource.account, c.resource.region, c.kind, c.resource.name)
        for c in changes.values()
        if c.action in (Action.DELETE, Action.REPLACE) and c.kind in (Kind.SOURCE, Kind.DESTINATION)
    }
    if not going:
        return
    leaving = {
        c.before.key
        for c in changes.values()
        if c.action in (Action.DELETE, Action.REPLACE) and c.before is not None
    }
    for r in live:
        if r.kind is not Kind.DELIVERY or r.key in leaving:
            continue
        src = (r.account, r.region, Kind.SOURCE, str(r.attrs["deliverySourceName"]))
        parts = str(r.attrs["deliveryDestinationArn"]).split(":")
        dst = (parts[4], parts[3], Kind.DESTINATION, parts[-1]) if len(parts) >= 7 else None
        for target in (src, dst):
            if target is not None and target in going:
                errors.append(
                    f"{target[0]}/{target[1]}/{target[2].value}/{target[3]} cannot be deleted: the delivery "
                    f"{r.address} ({r.id}) still uses it and is not being deleted"
                )
