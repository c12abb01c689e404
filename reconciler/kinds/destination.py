"""DeliveryDestination: where deliveries write (``PutDeliveryDestination``).

A new ``outputFormat`` or ``deliveryDestinationType`` (which a destination ARN of another service implies) needs a
replace; a same-service ``destinationResourceArn`` or a ``roleArn`` is updated in place. An omitted ``outputFormat``
is the server's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from reconciler import catalog
from reconciler.iam import public_statements
from reconciler.models import Kind, Resource, destination_arn

from .base import Attrs, Calls, ExportContext, FieldDiff, KindDef


@dataclass(frozen=True)
class DestinationAttrs(Attrs):
    OPTIONAL: ClassVar[tuple[str, ...]] = ("grants",)

    deliveryDestinationType: str | None
    outputFormat: str | None
    destinationResourceArn: str | None
    roleArn: str | None
    grants: str | None = None  # desired only: managed/unmanaged (grants.py reads it; not compared)


class Destination(KindDef):
    kind = Kind.DESTINATION
    rank = 1
    attrs = DestinationAttrs
    compared = ("deliveryDestinationType", "outputFormat", "destinationResourceArn", "roleArn")
    replaced_by: ClassVar[dict[str, str]] = {
        "outputFormat": "outputFormat cannot change in place",
        "deliveryDestinationType": "deliveryDestinationType cannot change in place",
    }
    server_defaulted = ("outputFormat",)
    calls = Calls(
        create="PutDeliveryDestination", update="PutDeliveryDestination", delete="DeleteDeliveryDestination"
    )
    export_rank = 1

    @classmethod
    def replace_reason(cls, fields: list[FieldDiff], live: Resource, desired: Resource) -> str | None:
        reason = super().replace_reason(fields, live, desired)
        if reason:
            return reason
        b = live.attrs.get("destinationResourceArn")
        a = desired.attrs.get("destinationResourceArn")
        if b != a and catalog.destination_type_for_arn(str(b)) != catalog.destination_type_for_arn(str(a)):
            return "destinationResourceArn moves to another service"
        return None

    @classmethod
    def write_params(cls, r: Resource) -> dict[str, Any]:
        a = DestinationAttrs.from_mapping(r.attrs)
        params: dict[str, Any] = {"name": r.name, "deliveryDestinationType": a.deliveryDestinationType}
        if a.outputFormat:
            params["outputFormat"] = a.outputFormat
        if a.destinationResourceArn:
            params["deliveryDestinationConfiguration"] = {"destinationResourceArn": a.destinationResourceArn}
        if a.roleArn:
            params["roleArn"] = a.roleArn
        return params

    @classmethod
    def export_spec(cls, r: Resource, live: ExportContext) -> dict[str, Any]:
        a = DestinationAttrs.from_mapping(r.attrs)
        spec: dict[str, Any] = {}
        if a.deliveryDestinationType == "XRAY":
            spec["deliveryDestinationType"] = "XRAY"
        for key, value in (
            ("outputFormat", a.outputFormat),
            ("destinationResourceArn", a.destinationResourceArn),
            ("roleArn", a.roleArn),
        ):
            if value:
                spec[key] = value
        policy = live.policies.get((r.account, r.region, r.name))
        if policy is not None:
            spec["policy"] = policy.attrs["policy"]
            if public_statements(policy.attrs["policy"]):
                spec["allowPublicPolicy"] = True  # exported as found; review before adopting
        return spec


def resource(
    account: str,
    region: str,
    name: str,
    destination_type: str,
    output_format: str | None,
    destination_resource_arn: str | None,
    role_arn: str | None,
    grants: str | None,
    tags: dict[str, str],
    origin: str,
) -> Resource:
    """A desired destination (from a manifest document)."""
    attrs = DestinationAttrs(
        deliveryDestinationType=destination_type,
        outputFormat=output_format,
        destinationResourceArn=destination_resource_arn,
        roleArn=role_arn,
        grants=grants,
    )
    return Resource(
        Kind.DESTINATION,
        account,
        region,
        name,
        attrs.as_dict(),
        tags=tags,
        arn=destination_arn(account, region, name),
        origin=origin,
    )
