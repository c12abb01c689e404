"""DeliverySource: a resource that emits logs of one type (``PutDeliverySource``).

A new ``resourceArn`` or ``logType`` needs a replace (AWS rejects a Put that changes them);
``deliverySourceConfiguration`` is updated in place, compared key by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from reconciler.models import Kind, Resource, source_arn

from .base import Attrs, Calls, ExportContext, FieldDiff, KindDef, dict_diffs


@dataclass(frozen=True)
class SourceAttrs(Attrs):
    resourceArn: str
    logType: str | None
    deliverySourceConfiguration: dict[str, str]


class Source(KindDef):
    kind = Kind.SOURCE
    rank = 0
    attrs = SourceAttrs
    compared = ("resourceArn", "logType", "deliverySourceConfiguration")
    replaced_by: ClassVar[dict[str, str]] = {
        "resourceArn": "resourceArn cannot change in place",
        "logType": "logType cannot change in place",
    }
    calls = Calls(create="PutDeliverySource", update="PutDeliverySource", delete="DeleteDeliverySource")
    export_rank = 0

    @classmethod
    def compare_field(
        cls, name: str, want: Any, have: Any, desired: Resource, live: Resource
    ) -> list[FieldDiff]:
        if name == "deliverySourceConfiguration":
            return dict_diffs(name, dict(have or {}), dict(want or {}), only_after_keys=False)
        return super().compare_field(name, want, have, desired, live)

    @classmethod
    def write_params(cls, r: Resource) -> dict[str, Any]:
        a = SourceAttrs.from_mapping(r.attrs)
        params: dict[str, Any] = {"name": r.name, "resourceArn": a.resourceArn, "logType": a.logType}
        if a.deliverySourceConfiguration:
            params["deliverySourceConfiguration"] = a.deliverySourceConfiguration
        return params

    @classmethod
    def export_spec(cls, r: Resource, live: ExportContext) -> dict[str, Any]:
        a = SourceAttrs.from_mapping(r.attrs)
        spec: dict[str, Any] = {"logType": a.logType, "resourceArn": a.resourceArn}
        if a.deliverySourceConfiguration:
            spec["deliverySourceConfiguration"] = a.deliverySourceConfiguration
        return spec


def resource(
    account: str,
    region: str,
    name: str,
    resource_arn: str,
    log_type: str,
    config: dict[str, str],
    tags: dict[str, str],
    origin: str,
) -> Resource:
    """A desired source (from a manifest document or a selector)."""
    attrs = SourceAttrs(resourceArn=resource_arn, logType=log_type, deliverySourceConfiguration=dict(config))
    return Resource(
        Kind.SOURCE,
        account,
        region,
        name,
        attrs.as_dict(),
        tags=tags,
        arn=source_arn(account, region, name),
        origin=origin,
    )
