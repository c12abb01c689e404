"""Live resources → manifest documents, so hand-built delivery setups can be adopted (pure; no I/O)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .iam import public_statements
from .models import API_VERSION, Kind, Resource


def documents(resources: list[Resource]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Manifest documents per (account, region), in a stable order."""
    policies = {(r.account, r.region, r.name): r for r in resources if r.kind is Kind.POLICY}
    dest_names = Counter(r.name for r in resources if r.kind is Kind.DESTINATION)
    dest_by_arn = {r.arn: r for r in resources if r.kind is Kind.DESTINATION}
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    order = {Kind.SOURCE: 0, Kind.DESTINATION: 1, Kind.DELIVERY: 2}
    for r in sorted(
        (r for r in resources if r.kind in order), key=lambda r: (order[r.kind], r.account, r.region, r.name)
    ):
        spec: dict[str, Any] = {}
        if r.kind is Kind.SOURCE:
            spec = {"logType": r.attrs["logType"], "resourceArn": r.attrs["resourceArn"]}
            if r.attrs.get("deliverySourceConfiguration"):
                spec["deliverySourceConfiguration"] = r.attrs["deliverySourceConfiguration"]
        elif r.kind is Kind.DESTINATION:
            if r.attrs.get("deliveryDestinationType") == "XRAY":
                spec["deliveryDestinationType"] = "XRAY"
            for key in ("outputFormat", "destinationResourceArn", "roleArn"):
                if r.attrs.get(key):
                    spec[key] = r.attrs[key]
            policy = policies.get((r.account, r.region, r.name))
            if policy is not None:
                spec["policy"] = policy.attrs["policy"]
                if public_statements(policy.attrs["policy"]):
                    spec["allowPublicPolicy"] = True  # exported as found; review before adopting
        else:
            dest_arn = str(r.attrs["deliveryDestinationArn"])
            dest = dest_by_arn.get(dest_arn)
            same_scope = dest is not None and (dest.account, dest.region) == (r.account, r.region)
            unique = dest is not None and (same_scope or dest_names[dest.name] == 1)
            spec = {
                "source": r.attrs["deliverySourceName"],
                "destination": dest.name if dest is not None and unique else dest_arn,
            }
            for key in ("recordFields", "fieldDelimiter", "s3DeliveryConfiguration"):
                if r.attrs.get(key) is not None:
                    spec[key] = r.attrs[key]
        if r.tags:
            spec["tags"] = dict(sorted(r.tags.items()))
        doc = {
            "apiVersion": API_VERSION,
            "kind": r.kind.value,
            "metadata": {"name": r.name, "account": r.account, "region": r.region},
            "spec": spec,
        }
        out.setdefault((r.account, r.region), []).append(doc)
    return out
