"""DeliveryDestination: where deliveries write (``PutDeliveryDestination``).

A new ``outputFormat`` or ``deliveryDestinationType`` (which a destination ARN of another service implies) needs a
replace; a same-service ``destinationResourceArn`` or a ``roleArn`` is updated in place. An omitted ``outputFormat``
is the server's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from reconciler import catalog, iam
from reconciler.iam import public_statements
from reconciler.models import (
    POLICY_MAX,
    POLICY_MIN,
    Kind,
    Resource,
    Strict,
    Tags,
    check_tags,
    destination_arn,
)

from .base import Attrs, Calls, ExportContext, FieldDiff, KindDef, destination_lock, live_resource, split_tags
from .policy import PolicyAttrs


class DestinationSpec(Strict):
    deliveryDestinationType: Literal["S3", "CWL", "FH", "XRAY"] | None = Field(
        default=None, description="Derived from destinationResourceArn for S3/CWL/FH; required for XRAY."
    )
    outputFormat: Literal["json", "plain", "w3c", "raw", "parquet"] | None = None
    destinationResourceArn: str | None = None
    roleArn: str | None = Field(default=None, description="XRAY only: the role CloudWatch Logs assumes.")
    policy: dict[str, Any] | None = Field(
        default=None, description="IAM policy document for cross-account delivery."
    )
    allowPublicPolicy: bool = Field(
        default=False, description="Allow a policy that lets any principal deliver."
    )
    grants: Literal["managed", "unmanaged"] | None = Field(
        default=None,
        description="managed: keep the delivery service's grant in the bucket/key policy or the Firehose tag "
        "(default: the project file's grants).",
    )
    tags: Tags = Field(default_factory=dict)

    _t = field_validator("tags")(lambda cls, v: check_tags(v))

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        try:
            text = json.dumps(v, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"is not a JSON document: {exc}") from None
        if not (POLICY_MIN <= len(text) <= POLICY_MAX):
            raise ValueError(f"must be {POLICY_MIN}-{POLICY_MAX} characters of JSON, got {len(text)}")
        if "Statement" not in v:
            raise ValueError("an IAM policy document needs a Statement")
        return v

    @model_validator(mode="after")
    def _type_rules(self) -> DestinationSpec:
        if self.deliveryDestinationType == "XRAY":
            if self.destinationResourceArn is not None:
                raise ValueError("destinationResourceArn: must be omitted for an XRAY destination")
            if self.outputFormat is not None:
                raise ValueError("outputFormat: must be omitted for an XRAY destination")
        else:
            if self.destinationResourceArn is None:
                raise ValueError("destinationResourceArn: required unless deliveryDestinationType is XRAY")
            derived = catalog.destination_type_for_arn(self.destinationResourceArn)
            if derived is None:
                raise ValueError(
                    "destinationResourceArn: must be an S3 bucket, CloudWatch Logs log group or Firehose stream ARN"
                )
            if self.deliveryDestinationType is not None and self.deliveryDestinationType != derived:
                raise ValueError(
                    f"deliveryDestinationType: {self.deliveryDestinationType} does not match the ARN's service ({derived})"
                )
            if self.roleArn is not None:
                raise ValueError("roleArn: only XRAY destinations take a roleArn")
        if self.policy is not None:
            case = iam.case_problems(self.policy)
            if case:
                raise ValueError(f"policy: {case[0]}")
            public = iam.public_statements(self.policy)
            if public and not self.allowPublicPolicy:
                index, why = public[0]
                raise ValueError(
                    f"policy: Statement[{index}] lets anyone deliver: {why}; set allowPublicPolicy: true if intended"
                )
        return self

    @property
    def resolved_type(self) -> str:
        if self.deliveryDestinationType is not None:
            return self.deliveryDestinationType
        assert self.destinationResourceArn is not None
        derived = catalog.destination_type_for_arn(self.destinationResourceArn)
        assert derived is not None
        return derived


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
    attrs = DestinationAttrs
    compared = ("deliveryDestinationType", "outputFormat", "destinationResourceArn", "roleArn")
    replaced_by: ClassVar[dict[str, str]] = {
        "outputFormat": "outputFormat cannot change in place",
        "deliveryDestinationType": "deliveryDestinationType cannot change in place",
    }
    server_defaulted = ("outputFormat",)
    calls = Calls(
        create="PutDeliveryDestination",
        update="PutDeliveryDestination",
        delete="DeleteDeliveryDestination",
        read="GetDeliveryDestination",
        read_answer="deliveryDestination",
    )
    export_rank = 1

    @classmethod
    def typed(cls, r: Resource) -> DestinationAttrs:
        return DestinationAttrs.from_mapping(r.attrs)

    @classmethod
    def lock_keys(cls, r: Resource) -> set[str]:
        return {destination_lock(str(r.arn))}

    @classmethod
    def from_api(cls, account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
        return from_api(account, region, item, tags)

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
            document = PolicyAttrs.from_mapping(policy.attrs).policy
            spec["policy"] = document
            if public_statements(document):
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


def from_api(account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
    """A live destination from ``GetDeliveryDestination``/``DescribeDeliveryDestinations`` and its tags."""
    config = item.get("deliveryDestinationConfiguration") or {}
    attrs = DestinationAttrs(
        deliveryDestinationType=item.get("deliveryDestinationType"),
        outputFormat=item.get("outputFormat"),
        destinationResourceArn=config.get("destinationResourceArn"),
        roleArn=item.get("roleArn"),
    )
    return live_resource(Kind.DESTINATION, account, region, item["name"], attrs, item, split_tags(tags))
