"""AWS's live DescribeConfigurationTemplates answer against the capability table (pure: no I/O).

``plan``, ``apply`` and ``drift`` ask AWS once per (region, service, log type, destination type) the manifests use
(``aws.Api.read_templates``, concurrently with the listings). Here the answers are turned into capabilities: the live
answer wins over the table (one plan note suggests ``make capabilities`` when they differ), the desired deliveries'
omitted fields are refilled with the live defaults, and every delivery is checked against what AWS returned. A key
whose call failed (denied, unavailable) falls back to the table with one plan note; it never fails the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from . import capabilities, defaults, delivery_rules
from .kinds import Delivery, DeliveryAttrs
from .models import Kind, Resource

Key = tuple[str, str, str, str, str]  # (account, region, service, log type, destination type)


def key_of(r: Resource) -> Key | None:
    """The template a desired delivery needs, or None when its source or destination type is unknown."""
    if r.kind is not Kind.DELIVERY:
        return None
    a = Delivery.typed(r)
    t = a.target
    if t is None or not t.sourceService or not a.deliveryDestinationType or not t.sourceLogType:
        return None
    return (r.account, r.region, t.sourceService, t.sourceLogType, a.deliveryDestinationType)


def keys_for(resources: list[Resource]) -> list[Key]:
    """One key per (region, service, log type, destination type), asked in the lowest account that needs it: the
    templates are AWS's description of the service in a region, the same for every account, so an organisation's
    hundreds of accounts cost one call per region, not one per account."""
    first: dict[tuple[str, ...], Key] = {}
    for k in sorted({k for r in resources if (k := key_of(r)) is not None}):
        first.setdefault(k[1:], k)
    return sorted(first.values())


@dataclass
class Outcome:
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # deliveries AWS's live answer refuses


def _pick(templates: list[dict[str, Any]], resource_arn: str) -> dict[str, Any] | None:
    """The template for this resource: the only one, or the one whose resourceType starts the ARN's resource."""
    if len(templates) == 1:
        return templates[0]
    parsed = capabilities.split_arn(resource_arn)
    resource = parsed[4] if parsed else ""
    matching = [t for t in templates if t.get("resourceType") and resource.startswith(str(t["resourceType"]))]
    return matching[0] if len(matching) == 1 else None


def live_caps(
    table_caps: capabilities.LogTypeCaps, dest_type: str, templates: list[dict[str, Any]], resource_arn: str
) -> capabilities.LogTypeCaps:
    """The table's capabilities with this destination type's part replaced by AWS's answer."""
    destinations = dict(table_caps.destinations)
    defaults_by_dest = dict(table_caps.defaults)
    mandatory, optional = table_caps.mandatory_fields, table_caps.optional_fields
    t = _pick(templates, resource_arn)
    if t is not None:  # no (unambiguous) template says nothing: the table stands
        destinations[dest_type] = tuple(t.get("allowedOutputFormats") or ())
        defaults_by_dest[dest_type] = dict(t.get("defaultDeliveryConfigValues") or {})
        if "allowedFields" in t:
            fields = [f for f in t["allowedFields"] if isinstance(f, dict) and "name" in f]
            mandatory = tuple(str(f["name"]) for f in fields if f.get("mandatory"))
            optional = tuple(str(f["name"]) for f in fields if not f.get("mandatory"))
    return replace(
        table_caps,
        destinations=destinations,
        defaults=defaults_by_dest,
        mandatory_fields=mandatory,
        optional_fields=optional,
    )


def _same(a: capabilities.LogTypeCaps, b: capabilities.LogTypeCaps, dest_type: str) -> bool:
    return (
        a.destinations.get(dest_type) == b.destinations.get(dest_type)
        and (
            a.allowed_fields is None
            or b.allowed_fields is None
            or set(a.allowed_fields) == set(b.allowed_fields)
        )
        and (a.allowed_fields is None or set(a.mandatory_fields or ()) == set(b.mandatory_fields or ()))
        and a.default_for(dest_type) == b.default_for(dest_type)
    )


def apply(
    desired: list[Resource],
    answers: dict[Key, list[dict[str, Any]]],
    failures: dict[Key, str],
) -> Outcome:
    """Use the live answers for the desired deliveries (refill defaults, check rules); notes for the plan. A
    delivery a selector made (never checked at validation, its resource is only known now) is checked against the
    capability table when AWS gave no template for it."""
    out = Outcome()
    differing: list[str] = []
    regional = {k[1:]: v for k, v in answers.items()}
    merged = _LiveCaps()
    for r in desired:
        key = key_of(r)
        if key is None:
            continue
        a = r.attrs
        table_caps = capabilities.caps_for(str(a.get("sourceResourceArn", "")), str(a["sourceLogType"]))
        if not regional.get(key[1:]) or table_caps is None:
            if r.selector:
                out.problems.extend(_check(r, key, None, "the capability table"))
            continue
        dest_type = key[4]
        caps, same = merged.of(table_caps, key, regional[key[1:]], str(a.get("sourceResourceArn", "")))
        if not same:
            differing.append(f"{key[2]} {key[3]} to {dest_type}")
        defaults.fill(a, caps, a.get("targetResourceArn"))
        out.problems.extend(_check(r, key, caps, "DescribeConfigurationTemplates"))
    if differing:
        shown = ", ".join(sorted(set(differing))[:3]) + (" ..." if len(set(differing)) > 3 else "")
        out.notes.append(
            f"AWS's DescribeConfigurationTemplates differs from the capability table for {shown}; the live answer "
            "is used. Run `make capabilities` to refresh reconciler/capabilities.json."
        )
    if failures:
        first = sorted(failures)[0]
        out.notes.append(
            f"warning: DescribeConfigurationTemplates could not be read ({failures[first]}; {len(failures)} "
            "template(s)); deliveries were checked against the capability table instead"
        )
    return out


class _LiveCaps:
    """``live_caps`` and ``_same`` once per (table capabilities, regional template key, template picked): an
    organisation's thousands of deliveries share a handful."""

    def __init__(self) -> None:
        # value: (the table's capabilities, kept so its id stays theirs; the live ones; same as the table's)
        self._seen: dict[tuple[int, tuple[str, ...], int], tuple[Any, capabilities.LogTypeCaps, bool]] = {}

    def of(
        self,
        table_caps: capabilities.LogTypeCaps,
        key: Key,
        templates: list[dict[str, Any]],
        resource_arn: str,
    ) -> tuple[capabilities.LogTypeCaps, bool]:
        picked = _pick(templates, resource_arn)
        memo = (id(table_caps), key[1:], id(picked))
        hit = self._seen.get(memo)
        if hit is None:
            caps = live_caps(table_caps, key[4], templates, resource_arn)
            hit = self._seen[memo] = (table_caps, caps, _same(caps, table_caps, key[4]))
        return hit[1], hit[2]


def _check(r: Resource, key: Key, caps: capabilities.LogTypeCaps | None, against: str) -> list[str]:
    """One delivery's problems against ``caps`` (None: the table), each naming the manifest line that made it:
    ``FILE:LINE: Delivery/NAME: spec.FIELD`` or, for a selector's, ``FILE:LINE: DeliverySelector/NAME:
    spec.delivery.FIELD`` and the delivery it made."""
    a = Delivery.typed(r)
    t = a.target
    user = _user_values(a)
    target = delivery_rules.Target(
        "the destination",
        key[4],
        t.targetOutputFormat if t is not None else None,
        t.targetAccount if t is not None else None,
    )
    found = delivery_rules.check_delivery(
        (t.sourceResourceArn if t is not None else None) or "",
        key[3],
        r.account,
        target,
        user["recordFields"],
        user["fieldDelimiter"],
        user["s3DeliveryConfiguration"],
        caps=caps,
    )
    origin = (r.origin or "").split(" ", 1)[0]
    out = []
    for path, message in found:
        dotted = ".".join(map(str, path))
        if r.selector:
            dotted = dotted if path[:1] == ("destination",) else f"delivery.{dotted}"
            out.append(f"{origin}: DeliverySelector/{r.selector}: spec.{dotted}: {message} "
                       f"(Delivery/{r.name} in {r.account}/{r.region}; {against})")  # fmt: skip
        else:
            out.append(f"{r.origin}: Delivery/{r.name}: spec.{dotted}: {message} ({against})")
    return out


def _user_values(a: DeliveryAttrs) -> dict[str, Any]:
    """The delivery fields the manifest set (defaulted ones are AWS's own and need no check)."""
    defaulted = set(a.defaulted)
    s3 = a.s3DeliveryConfiguration
    s3_user = (
        {k: v for k, v in s3.items() if f"s3DeliveryConfiguration.{k}" not in defaulted}
        if isinstance(s3, dict)
        else None
    )
    return {
        "recordFields": None if "recordFields" in defaulted else a.recordFields,
        "fieldDelimiter": None if "fieldDelimiter" in defaulted else a.fieldDelimiter,
        "s3DeliveryConfiguration": s3_user or None,
    }
