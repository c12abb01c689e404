"""DeliverySource: a resource that emits logs of one type (``PutDeliverySource``).

A new ``resourceArn`` or ``logType`` needs a replace (AWS rejects a Put that changes them);
``deliverySourceConfiguration`` is updated in place, compared key by key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from reconciler import catalog, hints
from reconciler.models import (
    LOG_TYPE_MAX,
    LOG_TYPE_MIN,
    SOURCE_CONFIG_VALUE_MAX,
    SOURCE_CONFIG_VALUE_MIN,
    Kind,
    Resource,
    Strict,
    Tags,
    check_tags,
    source_arn,
)

from .base import (
    Attrs,
    Calls,
    ExportContext,
    FieldDiff,
    KindDef,
    dict_diffs,
    live_resource,
    source_lock,
    split_tags,
)


class SourceSpec(Strict):
    logType: str = Field(description="A log type the source's service supports, e.g. APPLICATION_LOGS.")
    resourceArn: str = Field(description="ARN of the AWS resource that emits the logs.")
    deliverySourceConfiguration: dict[str, str] = Field(default_factory=dict)
    tags: Tags = Field(default_factory=dict)

    @field_validator("logType")
    @classmethod
    def _log_type(cls, v: str) -> str:
        if not (LOG_TYPE_MIN <= len(v) <= LOG_TYPE_MAX) or not re.fullmatch(r"\w+", v, re.ASCII):
            raise ValueError(f"must be {LOG_TYPE_MIN}-{LOG_TYPE_MAX} characters of letters, digits and '_'")
        return v

    @field_validator("resourceArn")
    @classmethod
    def _arn(cls, v: str) -> str:
        if catalog.split_arn(v) is None:
            raise ValueError(f"{v!r} is not an ARN")
        return v

    @field_validator("deliverySourceConfiguration")
    @classmethod
    def _config(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            for what, text in (("key", key), ("value", value)):
                if not (SOURCE_CONFIG_VALUE_MIN <= len(text) <= SOURCE_CONFIG_VALUE_MAX):
                    raise ValueError(
                        f"{what} {text[:40]!r} must be {SOURCE_CONFIG_VALUE_MIN}-{SOURCE_CONFIG_VALUE_MAX} characters"
                    )
        return v

    _t = field_validator("tags")(lambda cls, v: check_tags(v))

    @model_validator(mode="after")
    def _log_type_for_service(self) -> SourceSpec:
        allowed = catalog.log_types_for_arn(self.resourceArn)
        if allowed is None:
            parsed = catalog.split_arn(self.resourceArn)
            service = parsed[1] if parsed else "?"
            raise ValueError(f"resourceArn: service {service!r} cannot be a delivery source")
        if self.logType not in allowed:
            raise ValueError(
                f"logType: {self.logType!r} is not valid for this resource; valid: {', '.join(allowed)}"
                + hints.did_you_mean(self.logType, allowed)
            )
        return self


@dataclass(frozen=True)
class SourceAttrs(Attrs):
    resourceArn: str
    logType: str | None
    deliverySourceConfiguration: dict[str, str]


class Source(KindDef):
    kind = Kind.SOURCE
    attrs = SourceAttrs
    compared = ("resourceArn", "logType", "deliverySourceConfiguration")
    replaced_by: ClassVar[dict[str, str]] = {
        "resourceArn": "resourceArn cannot change in place",
        "logType": "logType cannot change in place",
    }
    calls = Calls(create="PutDeliverySource", update="PutDeliverySource", delete="DeleteDeliverySource",
                  read="GetDeliverySource", read_answer="deliverySource")  # fmt: skip
    export_rank = 0

    @classmethod
    def typed(cls, r: Resource) -> SourceAttrs:
        return SourceAttrs.from_mapping(r.attrs)

    @classmethod
    def lock_keys(cls, r: Resource) -> set[str]:
        return {source_lock(r.account, r.region, r.name)}

    @staticmethod
    def slot(r: Resource) -> tuple[str, str, str, str]:
        """What AWS keeps unique among delivery sources: (account, region, resource ARN, log type)."""
        return (r.account, r.region, str(r.attrs["resourceArn"]), str(r.attrs["logType"]))

    @classmethod
    def from_api(cls, account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
        return from_api(account, region, item, tags)

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


def from_api(account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
    """A live source from ``GetDeliverySource``/``DescribeDeliverySources`` and its tags."""
    arns = item.get("resourceArns") or [""]
    attrs = SourceAttrs(
        resourceArn=arns[0],
        logType=item.get("logType"),
        deliverySourceConfiguration=dict(item.get("deliverySourceConfiguration") or {}),
    )
    return live_resource(Kind.SOURCE, account, region, item["name"], attrs, item, split_tags(tags))
