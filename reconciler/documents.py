"""The manifest documents: one pydantic model per ``kind:`` (the specs are in their kind's module under ``kinds/``),
the DeliverySelector, and the JSON Schemas written from them."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from . import catalog
from .kinds.delivery import DeliveryConfig, DeliverySpec
from .kinds.destination import DestinationSpec
from .kinds.source import SourceSpec
from .models import (
    ORG_KEY,
    TAG_FILTER_FORMS,
    Metadata,
    ProjectFile,
    Strict,
    TagFilter,
    Tags,
    _account,
    _region,
    check_tag_filter,
    check_tags,
    tag_filters,
)


class _Doc(Strict):
    apiVersion: Literal["reconciler/v1"]
    metadata: Metadata


class DeliverySourceDoc(_Doc):
    kind: Literal["DeliverySource"]
    spec: SourceSpec


class DeliveryDestinationDoc(_Doc):
    kind: Literal["DeliveryDestination"]
    spec: DestinationSpec


class DeliveryDoc(_Doc):
    kind: Literal["Delivery"]
    spec: DeliverySpec


class SelectorSource(Strict):
    deliverySourceConfiguration: dict[str, str] = Field(default_factory=dict)
    tags: Tags = Field(default_factory=dict)

    _t = field_validator("tags")(lambda cls, v: check_tags(v))


class SelectorDelivery(DeliveryConfig):
    """The fields of the deliveries a selector makes: a Delivery's own, without source and destination."""


_RESOURCE_TYPE_RE = re.compile(r"([a-z0-9-]+):([A-Za-z0-9/_-]+)", re.ASCII)


def selector_log_types(resource_type: str) -> tuple[str, ...] | None:
    """Log types the catalogue allows for ``service:type`` (e.g. ``elasticloadbalancing:loadbalancer/app``)."""
    m = _RESOURCE_TYPE_RE.fullmatch(resource_type)
    if m is None:
        return None
    service, rest = m.groups()
    for sep in ("/", ":"):
        found = catalog.log_types_for_arn(f"arn:aws:{service}:us-east-1:000000000000:{rest}{sep}x")
        if found is not None:
            return found
    return None


class SelectorSpec(Strict):
    resourceType: str = Field(
        description="service:type of the resources to match, as in ARNs (e.g. elasticloadbalancing:loadbalancer/app, "
        "events:event-bus); a service that can be a delivery source."
    )
    logType: str = Field(description="The log type each matched resource delivers.")
    tags: TagFilter = Field(
        default_factory=dict, description=f"Tag filters, all required: {TAG_FILTER_FORMS}."
    )
    destination: str = Field(
        description="A DeliveryDestination name in each matched resource's account and region, or a "
        "delivery-destination ARN."
    )
    accounts: list[str] = Field(
        default_factory=list, description="Only these accounts (default: the project's)."
    )
    regions: list[str] = Field(
        default_factory=list, description="Only these regions (default: the project's)."
    )
    source: SelectorSource = Field(default_factory=SelectorSource)
    delivery: SelectorDelivery = Field(default_factory=SelectorDelivery)

    _a = field_validator("accounts", mode="before")(
        lambda cls, v: [_account(a) for a in v] if isinstance(v, list) else v
    )
    _t = field_validator("tags", mode="before")(lambda cls, v: check_tag_filter(v))

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        return [_region(r) for r in v]

    @model_validator(mode="after")
    def _type(self) -> SelectorSpec:
        allowed = selector_log_types(self.resourceType)
        if allowed is None:
            raise ValueError(
                f"resourceType: {self.resourceType!r} is not service:type of a service that can be a delivery source"
            )
        if self.logType not in allowed:
            raise ValueError(
                f"logType: {self.logType!r} is not valid for {self.resourceType}; valid: {', '.join(allowed)}"
            )
        return self

    def tag_filters(self) -> list[dict[str, Any]]:
        """The Resource Groups Tagging API's TagFilters."""
        return tag_filters(self.tags)


class DeliverySelectorDoc(_Doc):
    kind: Literal["DeliverySelector"]
    spec: SelectorSpec


DOC_MODELS: dict[str, type[_Doc]] = {
    "DeliverySource": DeliverySourceDoc,
    "DeliveryDestination": DeliveryDestinationDoc,
    "Delivery": DeliveryDoc,
    "DeliverySelector": DeliverySelectorDoc,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per manifest kind and one for the project file."""
    out: dict[str, dict[str, Any]] = {}
    for kind, model in DOC_MODELS.items():
        schema = model.model_json_schema()
        schema["$id"] = f"https://reconciler.dev/schemas/{kind}.json"
        schema["title"] = kind
        out[kind] = schema
    any_doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://reconciler.dev/schemas/manifest.json",
        "title": "reconciler manifest document",
        "oneOf": [{"$ref": f"{kind}.schema.json"} for kind in DOC_MODELS],
    }
    out["manifest"] = any_doc
    project = ProjectFile.model_json_schema()
    project["title"] = "reconciler.yaml"
    # accounts.fromOrganization lives under accounts in the file (ProjectFile._org_accounts moves it)
    org = project["properties"].pop("accountsFromOrganization")
    org_ref = next(o for o in org.get("anyOf", [org]) if "$ref" in o)
    project["properties"]["accounts"]["properties"] = {ORG_KEY: org_ref}
    overlay = project["$defs"]["EnvironmentOverlay"]["properties"]  # an environment's replaces the base one
    overlay.pop("accountsFromOrganization")
    overlay["accounts"]["properties"] = {ORG_KEY: org_ref}
    out["project"] = project
    return out
