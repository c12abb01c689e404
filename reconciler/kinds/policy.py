"""DeliveryDestinationPolicy: the IAM document on a destination that lets other accounts deliver into it.

Compared by meaning (``canonical_policy``); updated with a Put; a dropped policy is deleted. It has no tags (its
owner and protection are its destination's) and goes with its destination: a replaced destination takes it away, so
only the Put remains.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.models import Kind, Resource, canonical_policy, destination_arn

from .base import Attrs, Calls, FieldDiff, KindDef, destination_lock


@dataclass(frozen=True)
class PolicyAttrs(Attrs):
    policy: Any  # the IAM policy document (a JSON object; {"__unparsed__": text} when AWS's text is not JSON)


class Policy(KindDef):
    kind = Kind.POLICY
    attrs = PolicyAttrs
    compared = ("policy",)
    owned = False
    calls = Calls(
        create="PutDeliveryDestinationPolicy",
        update="PutDeliveryDestinationPolicy",
        delete="DeleteDeliveryDestinationPolicy",
        tagged=False,
        replace_deletes=False,
        read="GetDeliveryDestinationPolicy",
        read_answer="policy",
    )

    @classmethod
    def typed(cls, r: Resource) -> PolicyAttrs:
        return PolicyAttrs.from_mapping(r.attrs)

    @classmethod
    def lock_keys(cls, r: Resource) -> set[str]:
        return {destination_lock(str(r.arn))}

    @classmethod
    def read_params(cls, name: str, resource_id: str | None) -> dict[str, Any]:
        return {"deliveryDestinationName": name}

    @classmethod
    def compare_field(
        cls, name: str, want: Any, have: Any, desired: Resource, live: Resource
    ) -> list[FieldDiff]:
        if canonical_policy(have) == canonical_policy(want):
            return []
        return [FieldDiff("policy", have, want)]

    @classmethod
    def write_params(cls, r: Resource) -> dict[str, Any]:
        a = PolicyAttrs.from_mapping(r.attrs)
        return {
            "deliveryDestinationName": r.name,
            "deliveryDestinationPolicy": json.dumps(a.policy, sort_keys=True),
        }

    @classmethod
    def delete_params(cls, r: Resource) -> dict[str, Any]:
        return {"deliveryDestinationName": r.name}


def resource(account: str, region: str, name: str, policy: dict[str, Any], origin: str) -> Resource:
    """A desired policy (from a destination's manifest document)."""
    arn = destination_arn(account, region, name)
    return Resource(
        Kind.POLICY, account, region, name, PolicyAttrs(policy=policy).as_dict(), arn=arn, origin=origin
    )


def from_api(account: str, region: str, name: str, arn: str, out: dict[str, Any]) -> Resource | None:
    """A live policy from ``GetDeliveryDestinationPolicy``'s answer (None: the destination has none)."""
    text = (out.get("policy") or {}).get("deliveryDestinationPolicy")
    if not text:
        return None  # {"policy": {}} after a delete means no policy (LS)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = {"__unparsed__": text}
    return Resource(Kind.POLICY, account, region, name, PolicyAttrs(policy=doc).as_dict(), arn=arn)
