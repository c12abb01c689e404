"""DeliverySelector: one manifest that becomes a source and a delivery for every live resource it matches (pure).

A selector names a resource type (``service:type`` as in ARNs), tag filters, a log type and a destination. At plan
time the reconciler discovers the matching resources in each of the project's scopes (``aws.Api.discover``: the
Resource Groups Tagging API's ``GetResources``, 100 per page) and ``expand`` turns each match into a
``DeliverySource`` and a ``Delivery``, exactly as if they were written by hand. The expansion is deterministic:
matches sorted by ARN, names derived from the resource (``<selector>-<resource id>``, characters AWS refuses
replaced by ``-``); a name longer than 60 characters, or one that collides with another name in its scope (a
manifest's or another match's), is cut and given an 8-character hash of the resource ARN and log type. A name a live
source of the same resource and log type already has (the base or the hashed one) is kept, so a match that starts
or stops colliding never renames what exists (no delete and re-create). A resource
that a manifest already covers with the same log type is left to the manifest (explicit wins). A resource two
selectors match with the same log type stays with the selector its live source names (``reconciler:selector``)
while that one still matches it; otherwise the first selector by name takes it. A resource that
stops matching leaves the expansion, so the plan prunes its source and delivery like any owned resource.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .diff import Change
from .kinds import Destination, Source
from .kinds import delivery as delivery_kind
from .kinds import source as source_kind
from .models import (
    NAME_MAX,
    Kind,
    Resource,
    SelectorSpec,
    destination_arn,
    parse_destination_arn,
    tags_match,
)

Match = tuple[str, dict[str, str]]  # (resource ARN, its tags)
Key = tuple[str, str, str]  # (selector name, account, region)

_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_HASH = 8


@dataclass(frozen=True)
class Selector:
    name: str
    spec: SelectorSpec
    origin: str  # file:line

    @property
    def label(self) -> str:
        return f"DeliverySelector/{self.name}"

    @property
    def service(self) -> str:
        return self.spec.resourceType.split(":", 1)[0]

    @property
    def type_path(self) -> str:
        return self.spec.resourceType.split(":", 1)[1]

    @property
    def type_filter(self) -> str:
        """The tagging API's ResourceTypeFilter: ``service:first-segment`` (it has no finer types)."""
        return f"{self.service}:{re.split('[/:]', self.type_path, maxsplit=1)[0]}"

    def in_scope(self, account: str, region: str) -> bool:
        spec = self.spec
        return (not spec.accounts or account in spec.accounts) and (
            not spec.regions or region in spec.regions
        )

    def matches(self, arn: str, tags: dict[str, str]) -> bool:
        """The exact resource type (the tagging API filters only by its first segment) and every tag filter."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[2] != self.service:
            return False
        resource = parts[5]
        if not (resource.startswith(self.type_path + "/") or resource.startswith(self.type_path + ":")):
            return False
        return tags_match(self.spec.tags, tags)

    def resource_id(self, arn: str) -> str:
        resource = arn.split(":", 5)[5]
        return resource[len(self.type_path) + 1 :] or resource


def discovery_jobs(
    selectors: list[Selector], scopes: list[tuple[str, str]]
) -> list[tuple[Key, list[str], list[dict[str, Any]]]]:
    """(key, resource type filter, tag filters) for every selector in every scope it covers."""
    return [
        ((s.name, account, region), [s.type_filter], list(s.spec.tag_filters()))
        for s in sorted(selectors, key=lambda s: s.name)
        for account, region in sorted(scopes)
        if s.in_scope(account, region)
    ]


def scope_notes(selectors: list[Selector], scopes: list[tuple[str, str]]) -> list[str]:
    """A selector's ``accounts``/``regions`` that none of the scopes read has (a typo, an account left out of the
    project or excluded from the organisation): it discovers nothing there, which the plan says; and a selector
    without tag filters, which still cannot find resources that never had a tag."""
    accounts, regions = {a for a, _ in scopes}, {r for _, r in scopes}
    out = []
    for sel in sorted(selectors, key=lambda s: s.name):
        unknown = [f"account {a}" for a in sel.spec.accounts if a not in accounts]
        unknown += [f"region {r}" for r in sel.spec.regions if r not in regions]
        if unknown:
            covers = "" if any(sel.in_scope(a, r) for a, r in scopes) else "; it covers none of them"
            out.append(f"{sel.origin}: {sel.label}: {', '.join(unknown)} not among the scopes read{covers}")
        if not sel.spec.tags:
            out.append(f"{sel.origin}: {sel.label}: {UNTAGGED_NOTE}")
    return out


UNTAGGED_NOTE = (
    "no tag filter, yet resources that never had a tag are not matched (the Resource Groups Tagging API does not "
    "return them)"
)


# a selector whose type and tag filters matched no resource in any scope read (plan and coverage say it alike)
NO_MATCH = "matched no resource; check its resourceType and tags"


def hashed_name(base: str, arn: str, log_type: str) -> str:
    digest = hashlib.sha256(f"{arn}|{log_type}".encode()).hexdigest()[:_HASH]
    return f"{base[: NAME_MAX - _HASH - 1].rstrip('-_')}-{digest}"


def base_name(selector: Selector, arn: str) -> str:
    slug = _NOT_NAME.sub("-", selector.resource_id(arn)).strip("-") or "resource"
    return f"{selector.name}-{slug}"


@dataclass
class Expansion:
    resources: list[Resource] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    matched: dict[str, int] = field(
        default_factory=dict
    )  # selector name -> resources it expanded into sources
    skipped: dict[str, int] = field(
        default_factory=dict
    )  # selector name -> matches a manifest already covers
    yielded: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # selector name -> {selector that took the same resource and log type (its live one, else first by name): n}

    def notes(self) -> list[str]:
        out = []
        for name in sorted(self.matched):
            if not (self.matched[name] or self.skipped.get(name) or self.yielded.get(name)):
                out.append(f"DeliverySelector/{name}: {NO_MATCH}")  # a typo in a tag key or value, say
                continue
            line = f"DeliverySelector/{name}: {self.matched[name]} matching resources"
            more = [f"{n} more already covered by a manifest"] if (n := self.skipped.get(name)) else []
            more += [
                f"{n} more taken by DeliverySelector/{o}"
                for o, n in sorted(self.yielded.get(name, {}).items())
            ]
            if more:
                line += f" ({'; '.join(more)})"
            out.append(line)
        return out


@dataclass
class _Desired:
    """What the manifests already declare, as the expansion needs it."""

    taken: dict[tuple[str, str], set[str]]  # scope -> source and delivery names in use
    covered: set[tuple[str, str, str]]  # (account, resource ARN, log type)
    destinations: dict[tuple[str, str, str], Resource]  # (account, region, name) -> destination
    dest_by_arn: dict[str, Resource]

    @classmethod
    def of(cls, desired: list[Resource]) -> _Desired:
        out = cls(defaultdict(set), set(), {}, {})
        for r in desired:
            if r.kind in (Kind.SOURCE, Kind.DELIVERY):
                out.taken[(r.account, r.region)].add(r.name)
            if r.kind is Kind.SOURCE:
                a = Source.typed(r)
                out.covered.add((r.account, a.resourceArn, str(a.logType)))
            if r.kind is Kind.DESTINATION:
                out.destinations[(r.account, r.region, r.name)] = r
                out.dest_by_arn[destination_arn(r.account, r.region, r.name)] = r
        return out


Planned = dict[
    tuple[str, str], list[tuple[Selector, str, str]]
]  # scope -> (selector, resource ARN, base name)


# scope -> live source name -> (resource ARN, log type, the selector named by its reconciler:selector tag)
LiveNames = dict[tuple[str, str], dict[str, tuple[str, str, str | None]]]


def live_names(live: list[Resource]) -> LiveNames:
    """The names live delivery sources have, per scope, with the resource and log type each names and the selector
    that made it (its ``reconciler:selector`` tag; None for a hand-made source or one made before the tag)."""
    out: LiveNames = defaultdict(dict)
    for r in live:
        if r.kind is Kind.SOURCE:
            a = Source.typed(r)
            out[(r.account, r.region)][r.name] = (a.resourceArn, str(a.logType), r.selector)
    return out


def expand(
    selectors: list[Selector],
    discovered: dict[Key, list[Match]],
    desired: list[Resource],
    default_tags: dict[str, str],
    live: LiveNames | None = None,
) -> Expansion:
    """Sources and deliveries for every match, deterministic whatever the order of the inputs; ``live`` (the names
    live sources have, and the selector each was made by) keeps an existing source's name when a collision starts or
    ends, and keeps a resource with the selector that delivers it while that selector still matches it."""
    exp = Expansion()
    known = _Desired.of(desired)
    planned = _plan_matches(selectors, discovered, known.covered, exp, live or {})
    for (account, region), items in sorted(planned.items()):
        taken = known.taken[(account, region)]
        have = (live or {}).get((account, region), {})
        for (sel, arn, _), name in zip(items, _names(items, taken, have), strict=True):
            if name in taken:
                exp.problems.append(
                    f"{sel.origin}: {sel.label}: the name {name!r} derived for {arn} is already used in "
                    f"{account}/{region}"
                )
                continue
            taken.add(name)
            dest = _destination(sel, account, region, known.destinations, known.dest_by_arn, exp)
            if dest is not None:
                exp.resources.extend(_resources(sel, account, region, name, arn, dest, default_tags))
    exp.problems = sorted(set(exp.problems))
    return exp


def _plan_matches(
    selectors: list[Selector],
    discovered: dict[Key, list[Match]],
    covered: set[tuple[str, str, str]],
    exp: Expansion,
    live: LiveNames,
) -> Planned:
    """Every (scope, selector, match), sorted. A resource + log type two selectors match stays with the one its live
    source was made by (its ``reconciler:selector`` tag) while that one still matches it, so a new selector never
    moves it (a delete and re-create, a gap in the logs); otherwise the first selector by name takes it."""
    by_name = {s.name: s for s in selectors}
    found: list[tuple[str, str, Selector, str]] = []  # (account, region, selector, ARN), sorted by selector
    matching: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (account, ARN, log type) -> selectors
    for key in sorted(discovered):
        name, account, region = key
        sel = by_name.get(name)
        if sel is None:
            continue
        exp.matched.setdefault(name, 0)
        for arn, tags in sorted(discovered[key]):
            if sel.matches(arn, tags):
                found.append((account, region, sel, arn))
                matching[(account, arn, sel.spec.logType)].add(name)
    kept = _holders(live, matching)
    holder = {ident: s for ident, s in kept.items() if ident not in covered}  # a manifest's wins over both
    planned: Planned = defaultdict(list)
    owner: dict[tuple[str, str, str], str] = {}  # (account, ARN, log type) -> the selector that took it
    for account, region, sel, arn in found:
        name, ident = sel.name, (account, arn, sel.spec.logType)
        took = owner.get(ident) or holder.get(ident, name)
        if took != name:  # another selector took it, or its live source's selector keeps it
            taken = exp.yielded.setdefault(name, {})
            taken[took] = taken.get(took, 0) + 1
            continue
        if ident in owner:  # this one, for a region-less ARN seen in two regions
            continue
        if ident in covered:
            exp.skipped[name] = exp.skipped.get(name, 0) + 1
            continue
        owner[ident] = name
        planned[(account, region)].append((sel, arn, base_name(sel, arn)))
        exp.matched[name] += 1
    return planned


def _holders(
    live: LiveNames, matching: dict[tuple[str, str, str], set[str]]
) -> dict[tuple[str, str, str], str]:
    """(account, ARN, log type) -> the selector a live source of it names in its ``reconciler:selector`` tag, when
    that selector still matches it (the first by name if, oddly, two live sources name two such selectors)."""
    out: dict[tuple[str, str, str], str] = {}
    for (account, _), sources in sorted(live.items()):
        for arn, log_type, selector in sources.values():
            ident = (account, arn, log_type)
            if selector is not None and selector in matching.get(ident, ()):
                out[ident] = min(out.get(ident, selector), selector)
    return out


def _names(
    items: list[tuple[Selector, str, str]], taken: set[str], live: dict[str, tuple[str, str, str | None]]
) -> list[str]:
    """One scope's derived names: the name a live source of the same resource and log type already has (base or
    hashed), else the base name, or a hashed one when it is too long or clashes."""
    kept: dict[int, str] = {}
    for i, (sel, arn, base) in enumerate(items):
        for name in (base, hashed_name(base, arn, sel.spec.logType)):
            if (
                len(name) <= NAME_MAX
                and name not in taken
                and live.get(name, ())[:2] == (arn, sel.spec.logType)
            ):
                kept[i] = name
                break
    used = set(kept.values())
    counts: dict[str, int] = defaultdict(int)
    for i, (_, _, base) in enumerate(items):
        if i not in kept:
            counts[base] += 1
    names: list[str] = []
    for i, (sel, arn, base) in enumerate(items):
        clash = len(base) > NAME_MAX or counts[base] > 1 or base in taken or base in used
        names.append(kept.get(i) or (hashed_name(base, arn, sel.spec.logType) if clash else base))
    return names


Dest = tuple[str, Resource | None]  # (destination ARN, the manifests' DeliveryDestination when they have it)


def _resources(
    sel: Selector,
    account: str,
    region: str,
    name: str,
    arn: str,
    dest: Dest,
    default_tags: dict[str, str],
) -> tuple[Resource, Resource]:
    """The source and the delivery of one match; the delivery knows its source and destination as a manifest
    Delivery does (template defaults filled, and checked against AWS's live templates in ``live_templates``)."""
    dest_arn, dest_r = dest
    spec = sel.spec
    origin = f"{sel.origin} {sel.label}"
    source = source_kind.resource(account, region, name, arn, spec.logType, spec.source.deliverySourceConfiguration,
                                  {**default_tags, **spec.source.tags}, origin)  # fmt: skip
    source.selector = sel.name
    da = Destination.typed(dest_r) if dest_r is not None else None
    parsed = parse_destination_arn(dest_arn)
    target = delivery_kind.Target(
        sourceService=sel.service,
        sourceResourceArn=arn,
        sourceLogType=spec.logType,
        targetResourceArn=da.destinationResourceArn if da is not None else None,
        targetOutputFormat=da.outputFormat if da is not None else None,
        targetAccount=parsed[1] if parsed is not None else None,
    )
    dest_type = da.deliveryDestinationType if da is not None else None
    delivery = delivery_kind.resource(account, region, name, name, dest_arn, dest_type, target, spec.delivery,
                                      {**default_tags, **spec.delivery.tags}, origin)  # fmt: skip
    delivery.selector = sel.name
    return source, delivery


def _destination(
    sel: Selector,
    account: str,
    region: str,
    destinations: dict[tuple[str, str, str], Resource],
    dest_by_arn: dict[str, Resource],
    exp: Expansion,
) -> Dest | None:
    target = sel.spec.destination
    if target.startswith("arn:"):
        dest = dest_by_arn.get(target)
        parsed = parse_destination_arn(target)
        if parsed is None:
            exp.problems.append(
                f"{sel.origin}: {sel.label}: destination: {target!r} is not a delivery-destination ARN"
            )
            return None
        return target, dest
    found = destinations.get((account, region, target))
    if found is None:
        exp.problems.append(
            f"{sel.origin}: {sel.label}: destination: no DeliveryDestination named {target!r} in {account}/{region}, "
            "where the selector matches resources"
        )
        return None
    dtype = str(Destination.typed(found).deliveryDestinationType)
    if sel.spec.delivery.s3DeliveryConfiguration is not None and dtype != "S3":
        exp.problems.append(
            f"{sel.origin}: {sel.label}: delivery.s3DeliveryConfiguration: only for S3 destinations; {target} is {dtype}"
        )
        return None
    return destination_arn(account, region, target), found


def annotate(changes: list[Change]) -> None:
    """Say in each change's reason which selector produced it: the desired resource's selector, or for a prune the
    one named by the live resource's ``reconciler:selector`` tag (set on create), even when that selector is gone."""
    for ch in changes:
        name = ch.resource.selector
        if name:
            ch.reason = f"{ch.reason} (DeliverySelector/{name})"
