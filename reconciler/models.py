"""Pydantic models of the manifest kinds, the normalised ``Resource`` that diff compares, and the API limits.

The limits are the botocore ``logs`` service model's; ``tests/test_models_limits.py`` reads the model and fails when
a number here drifts from it.
"""

from __future__ import annotations

import importlib
import re
import typing
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# ---- limits (botocore logs model) -------------------------------------------------------------------------
NAME_MIN, NAME_MAX, NAME_PATTERN = 1, 60, r"[\w-]*"
LOG_TYPE_MIN, LOG_TYPE_MAX, LOG_TYPE_PATTERN = 1, 255, r"[\w]*"
TAGS_MAX = 50
TAG_KEY_MIN, TAG_KEY_MAX = 1, 128
TAG_VALUE_MAX = 256
POLICY_MIN, POLICY_MAX = 1, 51200
RECORD_FIELDS_MAX, RECORD_FIELD_MIN_LEN, RECORD_FIELD_MAX_LEN = 128, 1, 64
FIELD_DELIMITER_MAX = 5
SUFFIX_PATH_MIN, SUFFIX_PATH_MAX = 1, 256
SOURCE_CONFIG_VALUE_MIN, SOURCE_CONFIG_VALUE_MAX = 1, 255
OUTPUT_FORMATS = ("json", "plain", "w3c", "raw", "parquet")
DESTINATION_TYPES = ("S3", "CWL", "FH", "XRAY")
DESCRIBE_LIMIT_MAX = 50

# Reserved tags
OWNER_TAG = "reconciler:project"  # ownership: the project's name
HANDLE_TAG = "reconciler:name"  # a delivery's manifest handle (deliveries have no name in AWS)
SELECTOR_TAG = "reconciler:selector"  # the DeliverySelector that made a source or delivery (set on create)
PROTECT_TAGS = ("protect", "reconciler:protect")  # a live protect tag blocks delete and replace
RESERVED_TAGS = (OWNER_TAG, HANDLE_TAG, SELECTOR_TAG)
UNPROTECTING_VALUES = ("false", "0", "no")


def is_protect_tag(key: str) -> bool:
    """``protect`` or ``reconciler:protect``, in any case (``Protect``, ``PROTECT``, ``Reconciler:Protect``)."""
    return key.strip().lower() in PROTECT_TAGS


def protects(value: str) -> bool:
    """A protect tag's value protects unless it is, trimmed and in any case, ``false``, ``0`` or ``no``."""
    return value.strip().lower() not in UNPROTECTING_VALUES


API_VERSION = "reconciler/v1"

_NAME_RE = re.compile(r"[\w-]+", re.ASCII)
_ACCOUNT_RE = re.compile(r"\d{12}")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_TAG_EXTRA = set("_.:/=+-@")


class Kind(StrEnum):
    SOURCE = "DeliverySource"
    DESTINATION = "DeliveryDestination"
    POLICY = "DeliveryDestinationPolicy"
    DELIVERY = "Delivery"
    GRANT = "DestinationGrant"  # grants: managed (grants.py): statements in bucket/key policies, Firehose tag


KIND_RANK = {Kind.SOURCE: 0, Kind.DESTINATION: 1, Kind.POLICY: 2, Kind.GRANT: 3, Kind.DELIVERY: 4}
# attrs kept on a Delivery for comparisons, defaults and template checks; not the user's (never shown as fields)
DERIVED = (
    "sourceService",
    "sourceResourceArn",
    "sourceLogType",
    "targetResourceArn",
    "targetOutputFormat",
    "targetAccount",
    "defaulted",
)


def _tag_chars_ok(text: str) -> bool:
    for ch in text:
        if ch in _TAG_EXTRA:
            continue
        cat = unicodedata.category(ch)
        if cat[0] in ("L", "N") or cat[0] == "Z":
            continue
        return False
    return True


def check_name(value: str) -> str:
    # The model's pattern [\w-]* is a Java regex: \w is ASCII there.
    if not (NAME_MIN <= len(value) <= NAME_MAX):
        raise ValueError(f"must be {NAME_MIN}-{NAME_MAX} characters, got {len(value)}")
    if not _NAME_RE.fullmatch(value):
        raise ValueError("may contain only ASCII letters, digits, '_' and '-'")
    return value


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > TAGS_MAX:
        raise ValueError(f"at most {TAGS_MAX} tags, got {len(tags)}")
    for key, value in tags.items():
        if not (TAG_KEY_MIN <= len(key) <= TAG_KEY_MAX):
            raise ValueError(f"tag key {key[:40]!r} must be {TAG_KEY_MIN}-{TAG_KEY_MAX} characters")
        if not _tag_chars_ok(key):
            raise ValueError(f"tag key {key!r} has characters outside letters, digits, spaces and _.:/=+-@")
        if key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r}: the aws: prefix is reserved")
        if key in RESERVED_TAGS:
            raise ValueError(f"tag key {key!r} is reserved for the reconciler")
        if len(value) > TAG_VALUE_MAX:
            raise ValueError(f"tag {key!r}: value must be at most {TAG_VALUE_MAX} characters")
        if not _tag_chars_ok(value):
            raise ValueError(
                f"tag {key!r}: value has characters outside letters, digits, spaces and _.:/=+-@"
            )
    return tags


def _account(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and not _ACCOUNT_RE.fullmatch(value):
        raise ValueError("must be a 12-digit account id (quote it in YAML)")
    return value


def _region(value: Any) -> Any:
    if isinstance(value, str) and not _REGION_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a region name like us-east-1")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)


Tags = dict[str, str]
# Tag filters (a selector's resources, the organisation's accounts): key: value, key: [any, of, these], key: [] any
TagFilter = dict[str, str | list[str]]
TAG_FILTER_FORMS = "key: value, key: [any, of, these], or key: [] for any value"


def check_tag_filter(value: Any) -> Any:
    """One line per misshapen filter (pydantic would give one per member of the union)."""
    if not isinstance(value, dict):
        return value
    for key, want in value.items():
        for v in want if isinstance(want, list) else [want]:
            if not isinstance(v, str):
                got = (
                    "a mapping"
                    if isinstance(v, dict)
                    else "a nested list"
                    if isinstance(v, list)
                    else repr(v)
                )
                raise ValueError(
                    f"tag {key!r}: {got} is not a tag value (quote numbers and booleans in YAML); {TAG_FILTER_FORMS}"
                )
    return value


def tag_filters(tags: TagFilter) -> list[dict[str, Any]]:
    """Tag filters in the Resource Groups Tagging API's TagFilters shape (no ``Values``: any value)."""
    out: list[dict[str, Any]] = []
    for key, value in sorted(tags.items()):
        values = [value] if isinstance(value, str) else list(value)
        out.append({"Key": key, "Values": values} if values else {"Key": key})
    return out


def tags_match(tags: TagFilter, have: dict[str, str]) -> bool:
    """``have`` carries every filtered key, with one of its values when the filter names any (called per
    discovered resource: it reads the filter as it is rather than building ``tag_filters``)."""
    for key, want in tags.items():
        if key not in have:
            return False
        values = [want] if isinstance(want, str) else want
        if values and have[key] not in values:
            return False
    return True


class Metadata(Strict):
    name: str = Field(description="Unique per kind, account and region; for a Delivery, a handle for humans.")
    account: str | None = Field(
        default=None, description="12-digit account id; default from the project file."
    )
    region: str | None = Field(default=None, description="Region; default from the project file.")

    _n = field_validator("name")(lambda cls, v: check_name(v))
    _a = field_validator("account", mode="before")(lambda cls, v: _account(v))
    _r = field_validator("region")(lambda cls, v: _region(v))


# ---- the normalised resource that diff compares -------------------------------------------------------------


@dataclass(slots=True)
class Resource:
    """One resource, desired or live, in the shape diff compares.

    ``attrs`` holds the comparable fields only (server-only fields are kept aside in ``arn``/``id``); ``tags`` are the
    user's tags with the reserved ones removed. For a Delivery, ``name`` is the manifest handle and identity is
    (account, region, source name, destination ARN).
    """

    kind: Kind
    account: str
    region: str
    name: str
    attrs: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    arn: str | None = None
    id: str | None = None
    origin: str | None = None  # "file:line" for desired resources
    owner: str | None = None  # live: value of the ownership tag
    protected: bool = False  # live: carries a protect tag
    extra_tags: dict[str, str] = field(default_factory=dict)  # live: tags we do not manage (protect)
    selector: str | None = None  # the DeliverySelector that made it (desired: expansion; live: SELECTOR_TAG)

    address: str = field(init=False, repr=False, compare=False)
    key: str = field(init=False, repr=False, compare=False)  # identity; a string hashes once

    def __post_init__(self) -> None:
        # identity, computed once: diff looks these up for every resource
        self.address = f"{self.account}/{self.region}/{self.kind.value}/{self.name}"
        if self.kind is Kind.DELIVERY:
            pair = f"{self.attrs['deliverySourceName']}|{self.attrs['deliveryDestinationArn']}"
            self.key = f"{self.account}|{self.region}|{self.kind.value}|{pair}"
        else:
            self.key = f"{self.account}|{self.region}|{self.kind.value}|{self.name}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "account": self.account,
            "region": self.region,
            "name": self.name,
            "attrs": self.attrs,
            "tags": self.tags,
        }
        for key in ("arn", "id", "origin", "owner", "selector"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.protected:
            out["protected"] = True
        if self.extra_tags:
            out["extra_tags"] = self.extra_tags
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Resource:
        return cls(
            kind=Kind(data["kind"]),
            account=data["account"],
            region=data["region"],
            name=data["name"],
            attrs=data["attrs"],
            tags=data.get("tags", {}),
            arn=data.get("arn"),
            id=data.get("id"),
            origin=data.get("origin"),
            owner=data.get("owner"),
            protected=bool(data.get("protected", False)),
            extra_tags=data.get("extra_tags", {}),
            selector=data.get("selector"),
        )


def source_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{account}:delivery-source:{name}"


def destination_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{account}:delivery-destination:{name}"


_DEST_ARN_RE = re.compile(
    r"arn:aws[\w-]*:logs:([a-z0-9-]+):(\d{12}):delivery-destination:([\w-]{1,60})", re.ASCII
)


def parse_destination_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of a delivery-destination ARN, or None."""
    m = _DEST_ARN_RE.fullmatch(arn)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def canonical_policy(policy: Any) -> Any:
    """An IAM document in a form where equal meaning gives equal value (TF #21968).

    Keys sorted; a single string and a one-item list are the same; lists of strings are sets; a single statement
    object is a one-item list.
    """

    def norm(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: norm(v, k) for k, v in sorted(value.items())}
        if isinstance(value, list):
            items = [norm(v, key) for v in value]
            if all(isinstance(i, str) for i in items):
                uniq = sorted(set(items))
                return uniq[0] if len(uniq) == 1 and key != "Statement" else uniq
            return items
        return value

    doc = norm(policy)
    if isinstance(doc, dict) and isinstance(doc.get("Statement"), dict):
        doc["Statement"] = [doc["Statement"]]
    return doc


if TYPE_CHECKING:  # the names below, for the type checker (at run time they are looked up on first use)
    from .documents import (
        DOC_MODELS as DOC_MODELS,
    )
    from .documents import (
        DeliveryDestinationDoc as DeliveryDestinationDoc,
    )
    from .documents import (
        DeliveryDoc as DeliveryDoc,
    )
    from .documents import (
        DeliverySelectorDoc as DeliverySelectorDoc,
    )
    from .documents import (
        DeliverySourceDoc as DeliverySourceDoc,
    )
    from .documents import (
        SelectorDelivery as SelectorDelivery,
    )
    from .documents import (
        SelectorSource as SelectorSource,
    )
    from .documents import (
        SelectorSpec as SelectorSpec,
    )
    from .documents import (
        json_schemas as json_schemas,
    )
    from .documents import (
        selector_log_types as selector_log_types,
    )
    from .kinds.delivery import DeliverySpec as DeliverySpec
    from .kinds.delivery import S3DeliveryConfiguration as S3DeliveryConfiguration
    from .kinds.destination import DestinationSpec as DestinationSpec
    from .kinds.source import SourceSpec as SourceSpec

_MOVED = {
    "SourceSpec": "reconciler.kinds.source",
    "DestinationSpec": "reconciler.kinds.destination",
    "S3DeliveryConfiguration": "reconciler.kinds.delivery",
    "DeliverySpec": "reconciler.kinds.delivery",
    **dict.fromkeys(
        (
            "DeliverySourceDoc",
            "DeliveryDestinationDoc",
            "DeliveryDoc",
            "SelectorSource",
            "SelectorDelivery",
            "SelectorSpec",
            "DeliverySelectorDoc",
            "DOC_MODELS",
            "selector_log_types",
            "json_schemas",
        ),
        "reconciler.documents",
    ),
}


def __getattr__(name: str) -> Any:
    """The manifest spec models moved to their kind's module (``kinds/``), the documents to ``documents.py``."""
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- the project file ----------------------------------------------------------------------------------------


class AccountAccess(Strict):
    roleArn: str | None = None
    profile: str | None = None
    externalId: str | None = None


_OU_RE = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
_ROOT_RE = re.compile(r"r-[0-9a-z]{4,32}")
_ROLE_NAME_RE = re.compile(r"[\w+=,.@/-]{1,64}", re.ASCII)
DEFAULT_ORG_ROLE = "OrganizationAccountAccessRole"  # what AWS Organizations creates in accounts it creates


class OrganizationAccounts(Strict):
    """``accounts.fromOrganization``: the member accounts of organisational units, resolved at plan time."""

    ous: list[str] = Field(
        default_factory=list, description="Organisational unit ids (ou-...), read recursively."
    )
    roots: list[str] = Field(
        default_factory=list, description="Root ids (r-...): every account in the organisation."
    )
    exclude: list[str] = Field(default_factory=list, description="Account ids left out.")
    roleName: str = Field(
        default=DEFAULT_ORG_ROLE, description="Assumed in each account as arn:aws:iam::<id>:role/<roleName>."
    )
    externalId: str | None = None
    tags: TagFilter = Field(
        default_factory=dict,
        description=f"Only accounts carrying all these tags, as a selector's tag filters: {TAG_FILTER_FORMS}.",
    )

    _t = field_validator("tags", mode="before")(lambda cls, v: check_tag_filter(v))

    @field_validator("ous")
    @classmethod
    def _ous(cls, v: list[str]) -> list[str]:
        for ou in v:
            if not _OU_RE.fullmatch(ou):
                raise ValueError(f"{ou!r} is not an organisational unit id like ou-ab12-cd34ef56")
        return v

    @field_validator("roots")
    @classmethod
    def _roots(cls, v: list[str]) -> list[str]:
        for root in v:
            if not _ROOT_RE.fullmatch(root):
                raise ValueError(f"{root!r} is not a root id like r-ab12")
        return v

    @field_validator("exclude", mode="before")
    @classmethod
    def _exclude(cls, v: Any) -> Any:
        return [_account(a) for a in v] if isinstance(v, list) else v

    @field_validator("roleName")
    @classmethod
    def _role(cls, v: str) -> str:
        if not _ROLE_NAME_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not an IAM role name")
        return v

    @model_validator(mode="after")
    def _parents(self) -> OrganizationAccounts:
        if not self.ous and not self.roots:
            raise ValueError("name at least one organisational unit (ous) or root (roots)")
        return self


ORG_KEY = "fromOrganization"  # the key under ``accounts:``


class IgnoreRule(Strict):
    address: str = Field(description="Glob over account/region/Kind/name (or Kind/name).")
    fields: list[str] = Field(
        default_factory=list, description="Field paths to ignore; empty means all fields."
    )
    reason: str
    until: str | None = Field(default=None, description="ISO date after which the rule stops applying.")


class LockConfig(Strict):
    dynamodbTable: str
    region: str | None = None
    account: str | None = None
    leaseSeconds: int = 900


class Timeouts(Strict):
    renderSeconds: float = Field(
        default=10.0, gt=0, le=600, description="Wall time allowed to render one manifest file (jinja)."
    )
    connectSeconds: float = Field(
        default=5.0, gt=0, le=120, description="TCP connect timeout of each AWS request."
    )
    unreachableSeconds: float = Field(
        default=30.0,
        ge=0,
        le=600,
        description="How long connection errors (refused, unreachable, timed out) are retried before giving up.",
    )


def _regions(value: Any) -> Any:
    if isinstance(value, list):
        for v in value:
            _region(v)
    return value


def _org_accounts(data: Any) -> Any:
    """``accounts.fromOrganization`` moved to ``accountsFromOrganization`` (``accounts`` maps ids to access)."""
    if isinstance(data, dict) and isinstance(data.get("accounts"), dict) and ORG_KEY in data["accounts"]:
        data = dict(data)
        accounts = dict(data["accounts"])
        data["accountsFromOrganization"] = accounts.pop(ORG_KEY)
        data["accounts"] = accounts
    return data


class EnvironmentOverlay(Strict):
    region: str | None = None
    regions: list[str] | None = None
    account: str | None = None
    accounts: dict[str, AccountAccess] = Field(default_factory=dict)
    defaultTags: Tags = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    manifests: str | list[str] | None = None
    # ``accounts.fromOrganization`` of this environment (replaces the base one), moved here before validation
    accountsFromOrganization: OrganizationAccounts | None = None

    _a = field_validator("account", mode="before")(lambda cls, v: _account(v))
    _r = field_validator("region")(lambda cls, v: _region(v))
    _rs = field_validator("regions")(lambda cls, v: _regions(v))
    _o = model_validator(mode="before")(lambda cls, data: _org_accounts(data))


class ProjectFile(Strict):
    project: str = Field(
        description="Project name; every resource created is tagged reconciler:project=<name>."
    )
    region: str
    regions: list[str] | None = Field(
        default=None,
        description="Every region the project may own resources in (default: [region]); plan, prune and drift "
        "read all of them.",
    )
    account: str | None = None
    accounts: dict[str, AccountAccess] = Field(default_factory=dict)
    defaultTags: Tags = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    environments: dict[str, EnvironmentOverlay] = Field(default_factory=dict)
    manifests: str | list[str] = "manifests/"
    ignore: list[IgnoreRule] = Field(default_factory=list)
    lock: LockConfig | None = None
    grants: Literal["managed", "unmanaged"] = Field(
        default="unmanaged",
        description="managed: keep each destination's grant to the log delivery service in place (DestinationGrant).",
    )
    strict: bool = Field(
        default=False,
        description="Error findings (e.g. a delivery that will deliver nothing) fail plan/apply (exit 1) and drift (exit 2).",
    )
    timeouts: Timeouts = Field(default_factory=Timeouts)
    # ``accounts.fromOrganization``, moved here before validation (see _org_accounts)
    accountsFromOrganization: OrganizationAccounts | None = None

    _a = field_validator("account", mode="before")(lambda cls, v: _account(v))
    _r = field_validator("region")(lambda cls, v: _region(v))
    _rs = field_validator("regions")(lambda cls, v: _regions(v))
    _t = field_validator("defaultTags")(lambda cls, v: check_tags(v))

    @model_validator(mode="before")
    @classmethod
    def _org_accounts(cls, data: Any) -> Any:
        return _org_accounts(data)

    @field_validator("project")
    @classmethod
    def _project(cls, v: str) -> str:
        if not v or len(v) > TAG_VALUE_MAX or not _tag_chars_ok(v):
            raise ValueError("must be 1-256 characters allowed in a tag value")
        return v

    @field_validator("accounts", mode="before")
    @classmethod
    def _account_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(_account(k)): val for k, val in v.items()}
        return v


def model_at(model: type[BaseModel], path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the fields at ``path`` (through lists, dict values and optionals), if any."""
    ann: Any = model
    for part in path:
        ann = _step(ann, part)
        if ann is None:
            return None
    return _unwrap_model(ann)


def _step(ann: Any, part: str | int) -> Any:
    origin = typing.get_origin(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        info = ann.model_fields.get(str(part))
        return info.annotation if info is not None else None
    if origin is dict:
        return typing.get_args(ann)[1]
    if origin is list:
        return typing.get_args(ann)[0]
    for arg in typing.get_args(ann):  # an optional or a union: the first member that has the part
        if arg is not type(None):
            found = _step(arg, part)
            if found is not None:
                return found
    return None


def _unwrap_model(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    if typing.get_origin(ann) in (dict, list):
        return None
    for arg in typing.get_args(ann):
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None
