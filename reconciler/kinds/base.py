"""What every kind module provides, and the pieces they share (pure: no I/O).

A kind module (``source.py``, ``destination.py``, ``policy.py``, ``delivery.py``) holds everything the reconciler
knows about one kind of resource: its typed attributes (a frozen dataclass), which fields are compared, which force a
replace and why, which the server fills, the manifest spec → resource and AWS response → resource conversions, the
write parameters, the exported manifest document and the API calls. ``diff``, ``plan``, ``apply`` and ``export``
look the kind up in ``KINDS`` instead of branching on it.

``Resource.attrs`` is the attributes' mapping form (``Attrs.as_dict``): what saved plans and the JSON output carry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from reconciler.models import HANDLE_TAG, OWNER_TAG, SELECTOR_TAG, Kind, Resource, is_protect_tag, protects

if TYPE_CHECKING:
    from reconciler.diff import Change


@dataclass
class FieldDiff:
    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Attrs:
    """Base of the typed attributes: the mapping form is the fields in order, without absent optional ones."""

    OPTIONAL: ClassVar[tuple[str, ...]] = ()  # left out of the mapping form when None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in self.OPTIONAL:
                continue
            out[f.name] = value
        return out

    @classmethod
    def from_mapping(cls, attrs: Mapping[str, Any]) -> Self:
        """The typed attributes of a resource's mapping form (a key left out reads as None)."""
        return cls(**{f.name: attrs.get(f.name) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class Calls:
    """The API calls of a kind: create (after the reads it makes first), update of attributes, delete."""

    create: str
    update: str
    delete: str
    reads_before_create: tuple[str, ...] = ()
    tagged: bool = True  # takes Tag/UntagResource (a policy has no tags)
    replace_deletes: bool = True  # a replace deletes first (a policy goes with its destination instead)
    read: str = ""  # the Get* that reads one back (verify after a write)
    read_answer: str = ""  # the key of the Get*'s answer that holds the resource


class KindDef:
    """One kind: class attributes describe its fields; methods convert. Subclassed once per kind module."""

    kind: ClassVar[Kind]
    attrs: ClassVar[type[Attrs]]
    compared: ClassVar[tuple[str, ...]]  # fields diff compares, in this order
    replaced_by: ClassVar[dict[str, str]] = {}  # field -> why a change of it needs a replace
    server_defaulted: ClassVar[tuple[str, ...]] = ()  # left to the server when the manifest omits them
    calls: ClassVar[Calls]
    owned: ClassVar[bool] = (
        True  # carries the ownership tag (a policy has no tags: it follows its destination)
    )
    handle_tagged: ClassVar[bool] = False  # AWS gives it no name: the manifest handle goes in a tag
    export_rank: ClassVar[int | None] = None  # exported as a document, in this order (None: not)

    @classmethod
    def typed(cls, r: Resource) -> Attrs:
        return cls.attrs.from_mapping(r.attrs)

    # ---- diff
    @classmethod
    def compare(cls, desired: Resource, live: Resource) -> list[FieldDiff]:
        """Field diffs from live to desired of the compared fields (tags are compared by diff)."""
        out: list[FieldDiff] = []
        for name in cls.compared:
            want = desired.attrs.get(name)
            have = live.attrs.get(name)
            if want is None and name in cls.server_defaulted:
                continue  # left to the server (defaults)
            out.extend(cls.compare_field(name, want, have, desired, live))
        return out

    @classmethod
    def compare_field(
        cls, name: str, want: Any, have: Any, desired: Resource, live: Resource
    ) -> list[FieldDiff]:
        return [FieldDiff(name, have, want)] if want != have else []

    @classmethod
    def replace_reason(cls, fields: list[FieldDiff], live: Resource, desired: Resource) -> str | None:
        for f in fields:
            reason = cls.replaced_by.get(f.path)
            if reason:
                return reason
        return None

    @classmethod
    def update_warning(cls, live: Resource, desired: Resource, attr_fields: list[FieldDiff]) -> str | None:
        """A line to show under an in-place update, when it does more than it seems to."""
        return None

    # ---- plan and apply
    @classmethod
    def calls_for(cls, change: Change) -> list[str]:
        """The API calls a change of this kind makes, in order (what the plan shows under each change)."""
        calls, action = cls.calls, change.action.value
        create = [*calls.reads_before_create, calls.create]
        if action == "create":
            return create
        if action == "delete":
            return [calls.delete]
        if action == "replace":
            # a policy is replaced only with its destination (diff's cascade), which takes it away: the Put remains
            return [calls.delete, *create] if calls.replace_deletes else [calls.create]
        if action == "update":
            out: list[str] = []
            if change.attr_fields():
                out.append(calls.update)
            to_set, to_remove = change.tag_changes()
            if calls.tagged and (to_set or change.adopt):
                out.append("TagResource")
            if calls.tagged and to_remove:
                out.append("UntagResource")
            return out
        return []

    @classmethod
    def lock_keys(cls, r: Resource) -> set[str]:
        """What a write of ``r`` touches: two writes sharing a key never run at once (TF #42194)."""
        return {f"{cls.kind.value}:{r.account}/{r.region}/{r.name}"}

    @classmethod
    def read_params(cls, name: str, resource_id: str | None) -> dict[str, Any]:
        """The parameters of ``calls.read`` for one resource (by name, or by id where AWS gives no name)."""
        return {"name": name}

    @classmethod
    def from_api(cls, account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
        """A live resource from the answer of ``calls.read`` or a listing, and its tags."""
        raise NotImplementedError(f"{cls.kind.value} is not read from a listing")

    @classmethod
    def write_params(cls, r: Resource) -> dict[str, Any]:
        """The parameters of the create/put call (without tags)."""
        raise NotImplementedError

    @classmethod
    def delete_params(cls, r: Resource) -> dict[str, Any]:
        return {"name": r.name}

    # ---- export
    @classmethod
    def export_spec(cls, r: Resource, live: ExportContext) -> dict[str, Any]:
        raise NotImplementedError


def source_lock(account: str, region: str, name: str) -> str:
    """The lock key of a source's writes (its deliveries' writes take it too)."""
    return f"src:{account}/{region}/{name}"


def destination_lock(arn: str) -> str:
    """The lock key of a destination's writes (its policy's and its deliveries' writes take it too)."""
    return f"dst:{arn}"


@dataclass
class ExportContext:
    """The other live resources an exported document refers to."""

    resources: list[Resource]
    policies: dict[tuple[str, str, str], Resource] = dataclasses.field(default_factory=dict)
    dest_by_arn: dict[str | None, Resource] = dataclasses.field(default_factory=dict)
    dest_names: dict[str, int] = dataclasses.field(default_factory=dict)
    sources: dict[tuple[str, str, str], Resource] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for r in self.resources:
            if r.kind is Kind.POLICY:
                self.policies[(r.account, r.region, r.name)] = r
            elif r.kind is Kind.DESTINATION:
                self.dest_names[r.name] = self.dest_names.get(r.name, 0) + 1
                self.dest_by_arn[r.arn] = r
            elif r.kind is Kind.SOURCE:
                self.sources[(r.account, r.region, r.name)] = r


@dataclass(frozen=True)
class LiveTags:
    """A live resource's tags, split: the user's, the ownership tag, the delivery handle, the protect tags."""

    user: dict[str, str]
    owner: str | None
    handle: str | None
    protected: bool
    extra: dict[str, str]  # the protect tags (not the user's to manage)
    selector: str | None = None  # the DeliverySelector that made it


def split_tags(tags: dict[str, str]) -> LiveTags:
    user = dict(tags)
    owner = user.pop(OWNER_TAG, None)
    handle = user.pop(HANDLE_TAG, None)
    selector = user.pop(SELECTOR_TAG, None)
    extra = {k: user.pop(k) for k in [k for k in user if is_protect_tag(k)]}
    return LiveTags(user, owner, handle, any(protects(v) for v in extra.values()), extra, selector)


def live_resource(
    kind: Kind, account: str, region: str, name: str, attrs: Attrs, item: dict[str, Any], tags: LiveTags
) -> Resource:
    """A resource as read from AWS (``item`` is the API's description of it)."""
    return Resource(
        kind,
        account,
        region,
        name,
        attrs.as_dict(),
        tags=tags.user,
        arn=item.get("arn"),
        id=item.get("id"),
        owner=tags.owner,
        protected=tags.protected,
        extra_tags=tags.extra,
        selector=tags.selector,
    )


def dict_diffs(
    path: str, before: dict[str, Any], after: dict[str, Any], only_after_keys: bool
) -> list[FieldDiff]:
    out = []
    keys = sorted(after) if only_after_keys else sorted(set(before) | set(after))
    for k in keys:
        b, a = before.get(k), after.get(k)
        if b != a:
            out.append(FieldDiff(f"{path}.{k}", b, a))
    return out
