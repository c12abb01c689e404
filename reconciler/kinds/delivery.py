"""Delivery: a (source, destination) pair (``CreateDelivery``, ``UpdateDeliveryConfiguration``).

Identity is (account, region, source name, destination ARN); AWS gives a delivery no name, so the manifest handle is
kept in the ``reconciler:name`` tag. ``recordFields``, ``fieldDelimiter`` and ``s3DeliveryConfiguration`` are
updated in place; a field the manifest leaves out is the server's (filled from the template defaults at plan time,
see ``defaults.py``). A CloudFront-style suffixPath is compared without the prefix AWS adds on create (TF #40968).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Protocol, Self

from pydantic import Field, field_validator

from reconciler import capabilities, catalog, defaults
from reconciler.models import (
    DERIVED,
    FIELD_DELIMITER_MAX,
    RECORD_FIELD_MAX_LEN,
    RECORD_FIELD_MIN_LEN,
    RECORD_FIELDS_MAX,
    SUFFIX_PATH_MAX,
    SUFFIX_PATH_MIN,
    Kind,
    Resource,
    Strict,
    Tags,
    check_tags,
    parse_destination_arn,
)

from .base import (
    Attrs,
    Calls,
    ExportContext,
    FieldDiff,
    KindDef,
    destination_lock,
    dict_diffs,
    live_resource,
    source_lock,
    split_tags,
)
from .source import SourceAttrs

# The configuration: compared, updated in place (UpdateDeliveryConfiguration), the server's when omitted
CONFIG = ("recordFields", "fieldDelimiter", "s3DeliveryConfiguration")
# The fields AWS's configuration templates give defaults for (defaults.py fills and strips them)
TEMPLATE_DEFAULTED = ("recordFields", "fieldDelimiter", "s3DeliveryConfiguration")


class S3DeliveryConfiguration(Strict):
    suffixPath: str | None = Field(default=None, min_length=SUFFIX_PATH_MIN, max_length=SUFFIX_PATH_MAX)
    enableHiveCompatiblePath: bool | None = None


class DeliveryConfig(Strict):
    """A delivery's own fields: a manifest Delivery's, and the deliveries a DeliverySelector makes."""

    recordFields: (
        list[Annotated[str, Field(min_length=RECORD_FIELD_MIN_LEN, max_length=RECORD_FIELD_MAX_LEN)]] | None
    ) = Field(default=None, max_length=RECORD_FIELDS_MAX)
    fieldDelimiter: str | None = Field(default=None, max_length=FIELD_DELIMITER_MAX)
    s3DeliveryConfiguration: S3DeliveryConfiguration | None = None
    tags: Tags = Field(default_factory=dict)

    _t = field_validator("tags")(lambda cls, v: check_tags(v))


class DeliverySpec(DeliveryConfig):
    source: str = Field(description="A DeliverySource name in the manifests (same account and region).")
    destination: str = Field(
        description="A DeliveryDestination name in the manifests, or a delivery-destination ARN."
    )


@dataclass(frozen=True)
class Target:
    """What the manifests know about a desired delivery's source and destination (derived; never the user's)."""

    sourceService: str | None
    sourceResourceArn: str | None
    sourceLogType: str | None
    targetResourceArn: str | None
    targetOutputFormat: str | None
    targetAccount: str | None


@dataclass(frozen=True)
class DeliveryAttrs(Attrs):
    deliverySourceName: str
    deliveryDestinationArn: str
    deliveryDestinationType: str | None
    recordFields: list[str] | None
    fieldDelimiter: str | None
    s3DeliveryConfiguration: dict[str, Any] | None
    target: Target | None = None  # desired only
    defaulted: tuple[str, ...] = ()  # desired only: fields filled from the template defaults

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "deliverySourceName": self.deliverySourceName,
            "deliveryDestinationArn": self.deliveryDestinationArn,
            "deliveryDestinationType": self.deliveryDestinationType,
        }
        if self.target is not None:
            out.update(dataclasses.asdict(self.target))
        out.update({name: getattr(self, name) for name in CONFIG})
        if self.defaulted:
            out["defaulted"] = list(self.defaulted)
        return out

    @classmethod
    def from_mapping(cls, attrs: Mapping[str, Any]) -> Self:
        target = None
        if any(k in attrs for k in DERIVED if k != "defaulted"):
            target = Target(**{f.name: attrs.get(f.name) for f in dataclasses.fields(Target)})
        return cls(
            deliverySourceName=attrs.get("deliverySourceName", ""),
            deliveryDestinationArn=attrs.get("deliveryDestinationArn", ""),
            deliveryDestinationType=attrs.get("deliveryDestinationType"),
            recordFields=attrs.get("recordFields"),
            fieldDelimiter=attrs.get("fieldDelimiter"),
            s3DeliveryConfiguration=attrs.get("s3DeliveryConfiguration"),
            target=target,
            defaulted=tuple(attrs.get("defaulted") or ()),
        )


class Delivery(KindDef):
    kind = Kind.DELIVERY
    attrs = DeliveryAttrs
    compared = CONFIG
    server_defaulted = CONFIG
    identity_fields: ClassVar[tuple[str, ...]] = ("deliverySourceName", "deliveryDestinationArn")
    calls = Calls(
        create="CreateDelivery",
        update="UpdateDeliveryConfiguration",
        delete="DeleteDelivery",
        reads_before_create=("DescribeDeliveries",),
        read="GetDelivery",
        read_answer="delivery",
    )
    export_rank = 2
    handle_tagged = True

    @classmethod
    def typed(cls, r: Resource) -> DeliveryAttrs:
        return DeliveryAttrs.from_mapping(r.attrs)

    @staticmethod
    def endpoints(r: Resource) -> tuple[str, str]:
        """A delivery's source name and destination ARN: its identity within its account and region."""
        return str(r.attrs["deliverySourceName"]), str(r.attrs["deliveryDestinationArn"])

    @staticmethod
    def source_of(r: Resource) -> tuple[str, str, str]:
        """(account, region, source name) of a delivery's source."""
        return r.account, r.region, str(r.attrs["deliverySourceName"])

    @classmethod
    def lock_keys(cls, r: Resource) -> set[str]:
        source, dest = cls.endpoints(r)
        return {source_lock(r.account, r.region, source), destination_lock(dest)}

    @classmethod
    def read_params(cls, name: str, resource_id: str | None) -> dict[str, Any]:
        return {"id": resource_id}

    @classmethod
    def from_api(cls, account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
        return from_api(account, region, item, tags)

    @classmethod
    def delete_params(cls, r: Resource) -> dict[str, Any]:
        return {"id": r.id}

    @classmethod
    def compare_field(
        cls, name: str, want: Any, have: Any, desired: Resource, live: Resource
    ) -> list[FieldDiff]:
        if name == "s3DeliveryConfiguration" and isinstance(want, dict):
            have_d = dict(have or {})
            if added_suffix_prefix(desired, live) is not None:
                have_d["suffixPath"] = want["suffixPath"]  # prefix added by AWS on create (TF #40968)
            return dict_diffs(name, have_d, want, only_after_keys=True)
        return super().compare_field(name, want, have, desired, live)

    @classmethod
    def update_warning(cls, live: Resource, desired: Resource, attr_fields: list[FieldDiff]) -> str | None:
        return layout_warning(live, desired, attr_fields)

    @classmethod
    def write_params(cls, r: Resource, creating: bool = False) -> dict[str, Any]:
        """The configuration sent by CreateDelivery (``creating``) or UpdateDeliveryConfiguration."""
        a = DeliveryAttrs.from_mapping(r.attrs)
        # fields left to AWS's defaults are not sent on create (AWS fills them)
        defaulted = set(a.defaulted) if creating else set()
        params = {
            key: getattr(a, key)
            for key in CONFIG
            if key != "s3DeliveryConfiguration" and getattr(a, key) is not None and key not in defaulted
        }
        s3 = a.s3DeliveryConfiguration
        if creating and s3 is not None:
            kept = {k: v for k, v in s3.items() if f"s3DeliveryConfiguration.{k}" not in defaulted}
            s3 = kept or None
        if s3 is not None and a.deliveryDestinationType in ("S3", None):
            params["s3DeliveryConfiguration"] = s3  # never for a non-S3 destination (TF #46108)
        return params

    @classmethod
    def export_spec(cls, r: Resource, live: ExportContext) -> dict[str, Any]:
        a = DeliveryAttrs.from_mapping(r.attrs)
        dest_arn = str(a.deliveryDestinationArn)
        dest = live.dest_by_arn.get(dest_arn)
        same_scope = dest is not None and (dest.account, dest.region) == (r.account, r.region)
        unique = dest is not None and (same_scope or live.dest_names[dest.name] == 1)
        spec: dict[str, Any] = {
            "source": a.deliverySourceName,
            "destination": dest.name if dest is not None and unique else dest_arn,
        }
        # only what differs from AWS's defaults for the source's log type (omitted means the default)
        source = live.sources.get((r.account, r.region, str(a.deliverySourceName)))
        source_attrs = SourceAttrs.from_mapping(source.attrs) if source is not None else None
        caps = (
            capabilities.caps_for(source_attrs.resourceArn, str(source_attrs.logType))
            if source_attrs is not None
            else None
        )
        dest_resource = dest.attrs.get("destinationResourceArn") if dest is not None else None
        if caps is not None:
            spec.update(defaults.non_default(r.attrs, caps, dest_resource))
        for key in CONFIG:
            if (caps is None or key not in TEMPLATE_DEFAULTED) and getattr(a, key) is not None:
                spec[key] = getattr(a, key)
        return spec


def added_suffix_prefix(desired: Resource, live: Resource) -> str | None:
    """The prefix AWS added before the desired suffixPath on create, when the live path has one."""
    want = desired.attrs.get("s3DeliveryConfiguration") or {}
    have = live.attrs.get("s3DeliveryConfiguration") or {}
    if "suffixPath" not in want or "s3DeliveryConfiguration.suffixPath" in (
        desired.attrs.get("defaulted") or []
    ):
        return None
    known = catalog.suffix_prefix_added_on_create(
        str(desired.attrs.get("sourceResourceArn", "")), str(desired.attrs.get("sourceLogType", ""))
    )
    return defaults.added_prefix(str(have.get("suffixPath", "")), str(want["suffixPath"]), known)


def layout_warning(before: Resource, after: Resource, attr_fields: list[FieldDiff]) -> str | None:
    """An update sends the suffixPath without the prefix AWS added on create: objects move (CFN roadmap #2274)."""
    prefix = added_suffix_prefix(after, before)
    if prefix is None or not attr_fields:
        return None
    want = (DeliveryAttrs.from_mapping(after.attrs).s3DeliveryConfiguration or {})["suffixPath"]
    return (
        f"s3DeliveryConfiguration.suffixPath: UpdateDeliveryConfiguration sends {want!r} without the prefix "
        f"{prefix!r} AWS added on create, so new log objects land under {want!r} instead of {prefix + want!r}"
    )


class _Config(Protocol):
    """The delivery configuration fields of a manifest spec (a Delivery's or a DeliverySelector's ``delivery``)."""

    recordFields: list[str] | None
    fieldDelimiter: str | None
    s3DeliveryConfiguration: S3DeliveryConfiguration | None


def resource(
    account: str,
    region: str,
    name: str,
    source_name: str,
    destination_arn: str,
    destination_type: str | None,
    target: Target | None,
    spec: _Config,
    tags: dict[str, str],
    origin: str,
) -> Resource:
    """A desired delivery: the spec's fields, then the template defaults for the ones it leaves out."""
    s3 = spec.s3DeliveryConfiguration
    attrs = DeliveryAttrs(
        deliverySourceName=source_name,
        deliveryDestinationArn=destination_arn,
        deliveryDestinationType=destination_type,
        recordFields=list(spec.recordFields) if spec.recordFields is not None else None,
        fieldDelimiter=spec.fieldDelimiter,
        s3DeliveryConfiguration=s3.model_dump(exclude_none=True) if s3 is not None else None,
        target=target,
    ).as_dict()
    if target is not None:
        defaults.fill(
            attrs,
            catalog.caps_for(str(target.sourceResourceArn), str(target.sourceLogType)),
            target.targetResourceArn,
        )
    return Resource(Kind.DELIVERY, account, region, name, attrs, tags=tags, origin=origin)


def from_api(account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
    """A live delivery from ``GetDelivery``/``DescribeDeliveries`` and its tags; named by its handle tag."""
    live_tags = split_tags(tags)
    dest_arn = item.get("deliveryDestinationArn", "")
    parsed = parse_destination_arn(dest_arn)
    dest_name = parsed[2] if parsed else dest_arn.rsplit(":", 1)[-1]
    name = live_tags.handle or f"{item.get('deliverySourceName')}-to-{dest_name}"[:60]
    attrs = DeliveryAttrs(
        deliverySourceName=item.get("deliverySourceName") or "",
        deliveryDestinationArn=dest_arn,
        deliveryDestinationType=item.get("deliveryDestinationType"),
        recordFields=list(item.get("recordFields") or []),
        fieldDelimiter=item.get("fieldDelimiter", ""),
        s3DeliveryConfiguration=item.get("s3DeliveryConfiguration"),
    )
    return live_resource(Kind.DELIVERY, account, region, name, attrs, item, live_tags)
