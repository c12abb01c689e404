"""Fidelity fixes: moto's CloudWatch Logs delivery API made to behave like real AWS.

moto 5.2.5 implements the delivery operations but differs from AWS in ways that would hide bugs (see the README's
emulator section, which lists each difference and its source). ``install()`` replaces moto's handlers for the
delivery family (and the tag operations) in ``moto.logs.responses.LogsResponse`` with the ones below, which keep
their state on moto's own per-account, per-region ``LogsBackend`` objects and use moto's tagging service, account
resolution (STS AssumeRole) and reset. Everything else in moto is untouched. Works in-process (``mock_aws``) and in
the HTTP server alike, because both dispatch to ``LogsResponse``.

Facts are from the reference the project keeps (``aws-behaviors``): model = botocore's service model, TF = the
Terraform AWS provider and its issues, LS = LocalStack snapshots recorded against AWS. "Unconfirmed" marks
behaviour coded defensively where no primary source was found.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import string
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.logs.models import logs_backends
from moto.logs.responses import LogsResponse

from reconciler import catalog, iam
from reconciler.models import parse_destination_arn

from . import templates

_lock = threading.RLock()
_installed = False

# Knobs tests can flip to reproduce known AWS quirks.
OPTIONS: dict[str, Any] = {
    # DescribeDeliveries returns only id, arn, source name and destination ARN (aws-cli #10002, open).
    "sparse_describe_deliveries": False,
    # DescribeConfigurationTemplates answers that differ from the capability table (see templates.py)
    "template_overrides": [],
}


class _Err(JsonRESTError):
    code = 400

    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(error_type, message)
        self.code = status


def not_found(message: str) -> _Err:
    return _Err("ResourceNotFoundException", message)


def conflict(message: str) -> _Err:
    return _Err("ConflictException", message)


def validation(message: str) -> _Err:
    return _Err("ValidationException", message)


def too_many_tags() -> _Err:
    return _Err("TooManyTagsException", "A resource can have no more than 50 tags.")  # model


def access_denied(message: str) -> _Err:
    return _Err("AccessDeniedException", message)


# ---- state ---------------------------------------------------------------------------------------------------


@dataclass
class Source:
    name: str
    arn: str
    resource_arn: str
    log_type: str
    config: dict[str, str]

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "arn": self.arn,
            "resourceArns": [self.resource_arn],
            "service": self.resource_arn.split(":")[2],
            "logType": self.log_type,
            "status": "ACTIVE",
        }
        if self.config:
            out["deliverySourceConfiguration"] = dict(self.config)
        return out


@dataclass
class Destination:
    name: str
    arn: str
    type: str
    output_format: str | None
    resource_arn: str | None
    role_arn: str | None
    policy: str | None = None

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "arn": self.arn, "deliveryDestinationType": self.type}
        if self.output_format is not None:
            out["outputFormat"] = self.output_format
        if self.resource_arn is not None:
            out["deliveryDestinationConfiguration"] = {"destinationResourceArn": self.resource_arn}
        if self.role_arn is not None:
            out["roleArn"] = self.role_arn
        return out


@dataclass
class Delivery:
    id: str
    arn: str
    source_name: str
    destination_arn: str
    destination_type: str
    record_fields: list[str]
    field_delimiter: str | None  # None: no fieldDelimiter key (CloudFront to S3 on AWS, LS)
    s3: dict[str, Any] | None
    source_arn: str = ""
    log_type: str = ""
    source_account: str = ""
    dest_format: str | None = None
    dest_account: str = ""

    def view(self, sparse: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "arn": self.arn,
            "deliverySourceName": self.source_name,
            "deliveryDestinationArn": self.destination_arn,
        }
        if sparse:
            return out
        out["deliveryDestinationType"] = self.destination_type
        out["recordFields"] = list(self.record_fields)
        if self.field_delimiter is not None:
            out["fieldDelimiter"] = self.field_delimiter
        if self.s3 is not None:
            out["s3DeliveryConfiguration"] = dict(self.s3)
        return out


@dataclass
class State:
    sources: dict[str, Source] = field(default_factory=dict)
    destinations: dict[str, Destination] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)


def state_of(backend: Any) -> State:
    st = backend.__dict__.get("_reconciler_state")
    if st is None:
        st = backend.__dict__.setdefault("_reconciler_state", State())
    return st  # type: ignore[no-any-return]


def _all_states(region: str) -> list[tuple[str, State]]:
    out = []
    for account_id, per_region in list(dict.items(logs_backends)):
        backend = dict.get(per_region, region)
        if backend is not None:
            out.append((account_id, state_of(backend)))
    return out


# ---- helpers -------------------------------------------------------------------------------------------------


def _page(key: str, items: list[dict[str, Any]], limit: Any, token: Any) -> dict[str, Any]:
    """One page of a Describe* answer under ``key``, with an opaque ``nextToken`` when more remain."""
    if limit is None:
        limit = 50
    if not isinstance(limit, int) or not 1 <= limit <= 50:
        raise validation(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value between 1 and 50"
        )
    start = 0
    if token is not None:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()).decode())
            start = int(decoded["o"])
            if decoded["w"] != key or start < 0:
                raise ValueError
        except Exception:
            raise _Err("InvalidParameterException", "The specified nextToken is invalid.") from None
    out: dict[str, Any] = {key: items[start : start + limit]}
    if start + limit < len(items):
        raw = json.dumps({"o": start + limit, "w": key}).encode()
        out["nextToken"] = base64.urlsafe_b64encode(raw).decode()
    return out


def _new_id() -> str:
    rnd = random.SystemRandom()
    return "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(16))


def policy_allows(policy_text: str | None, account: str, action: str, resource: str) -> bool:
    """Does a destination policy let ``account`` do ``action`` on ``resource``? (guide: cross-account example)

    The reconciler's own statement reader (``reconciler.iam``): exact-case elements, an explicit Deny wins,
    ``NotPrincipal`` lets in everyone it does not list, ``NotAction``/``NotResource`` are honoured."""
    if not policy_text:
        return False
    try:
        policy = json.loads(policy_text)
    except ValueError:
        return False
    return iam.allows(policy, account, action, resource)


_DELIVERY_ARN_KINDS = ("delivery-source", "delivery-destination", "delivery")


def _resource_exists(arn: str) -> bool | None:
    """True/False for a delivery-family ARN, None for any other ARN (left to moto)."""
    parts = arn.split(":", 6)
    if len(parts) < 7 or parts[2] != "logs" or parts[5] not in _DELIVERY_ARN_KINDS:
        return None
    region, account, kind, name = parts[3], parts[4], parts[5], parts[6]
    per_region = dict.get(logs_backends, account)
    backend = dict.get(per_region, region) if per_region is not None else None
    if backend is None:
        return False
    st = state_of(backend)
    if kind == "delivery-source":
        return name in st.sources
    if kind == "delivery-destination":
        return name in st.destinations
    return name in st.deliveries


# ---- the handlers --------------------------------------------------------------------------------------------


class DeliveryHandlers:
    """Methods grafted onto LogsResponse; ``self`` is the LogsResponse of the current request."""

    current_account: str
    region: str
    logs_backend: Any

    def _get_param(self, name: str, if_none: Any = None) -> Any:  # provided by LogsResponse
        raise NotImplementedError

    def _state(self) -> State:
        return state_of(self.logs_backend)

    def _tags_param(self) -> dict[str, str] | None:
        tags = self._get_param("tags")
        return tags or None

    # sources
    def put_delivery_source(self) -> str:
        name = self._get_param("name")
        resource_arn = self._get_param("resourceArn")
        log_type = self._get_param("logType")
        config = self._get_param("deliverySourceConfiguration") or {}
        tags = self._tags_param()
        allowed = catalog.log_types_for_arn(resource_arn or "")
        if allowed is None:
            raise not_found("Cannot access provided service.")  # LS, recorded on AWS
        if log_type not in allowed:  # LS, validated on AWS: not a ValidationException
            raise not_found("Cannot access provided service.")
        if tags is not None and len(tags) > 50:
            raise too_many_tags()
        with _lock:
            st = self._state()
            existing = st.sources.get(name)
            if existing is not None:
                if tags:  # TF #43572
                    raise conflict("Tags can only be provided when a resource is being created, not updated.")
                if existing.resource_arn != resource_arn:  # TF RequiresReplace; message from AWS
                    raise conflict(
                        "Update to existing Delivery Source with new ResourceId is not allowed. "
                        "Please create a new Delivery Source instead."
                    )
                if existing.log_type != log_type:  # unconfirmed: TF forces replacement, we reject to match
                    raise conflict(
                        "Update to existing Delivery Source with new LogType is not allowed. "
                        "Please create a new Delivery Source instead."
                    )
            else:
                for other in st.sources.values():
                    # one source per (resource ARN, log type) per account and region (aws-cdk PR #36314)
                    if other.resource_arn == resource_arn and other.log_type == log_type:
                        raise conflict(
                            "This ResourceId has already been used in another Delivery Source in this account."
                        )
            arn = f"arn:aws:logs:{self.region}:{self.current_account}:delivery-source:{name}"
            src = Source(name, arn, resource_arn, log_type, dict(config))
            st.sources[name] = src
            if tags and existing is None:
                self.logs_backend.tag_resource(arn, tags)
        view = src.view()
        if tags and existing is None:
            view["tags"] = dict(tags)  # PutDeliverySource echoes the tags it created with (LS)
        return json.dumps({"deliverySource": view})

    def get_delivery_source(self) -> str:
        name = self._get_param("name")
        src = self._state().sources.get(name)
        if src is None:
            raise not_found("Requested Delivery Source does not exist in this account.")
        return json.dumps({"deliverySource": src.view()})

    def describe_delivery_sources(self) -> str:
        arns = self._get_param("resourceArns")
        if arns is not None and len(arns) > 20:
            raise validation("resourceArns must have at most 20 items")
        items = [s.view() for s in self._state().sources.values() if arns is None or s.resource_arn in arns]
        return json.dumps(
            _page("deliverySources", items, self._get_param("limit"), self._get_param("nextToken"))
        )

    def delete_delivery_source(self) -> str:
        name = self._get_param("name")
        with _lock:
            st = self._state()
            src = st.sources.get(name)
            if src is None:
                raise not_found("Requested Delivery Source does not exist in this account.")
            if any(d.source_name == name for d in st.deliveries.values()):  # model docs: ConflictException
                raise conflict("Delivery Source is in use by one or more Deliveries; delete them first.")
            del st.sources[name]
            self.logs_backend.tagger.delete_all_tags_for_resource(src.arn)
        return "{}"

    # destinations
    def put_delivery_destination(self) -> str:
        name = self._get_param("name")
        output_format = self._get_param("outputFormat")
        config = self._get_param("deliveryDestinationConfiguration")
        dest_type = self._get_param("deliveryDestinationType")
        role_arn = self._get_param("roleArn")
        tags = self._tags_param()
        if tags is not None and len(tags) > 50:
            raise too_many_tags()
        resource_arn = (config or {}).get("destinationResourceArn")
        if dest_type == "XRAY":
            if resource_arn:
                raise validation("deliveryDestinationConfiguration is not supported for XRAY destinations.")
            if output_format:
                raise validation("outputFormat is not supported for XRAY destinations.")
            derived = "XRAY"
        else:
            if not resource_arn:
                raise validation("deliveryDestinationConfiguration with destinationResourceArn is required.")
            derived_or_none = catalog.destination_type_for_arn(resource_arn)
            if derived_or_none is None:
                raise validation("The destinationResourceArn is not a supported destination.")
            if dest_type is not None and dest_type != derived_or_none:
                raise validation("deliveryDestinationType does not match the destinationResourceArn.")
            derived = derived_or_none
            if role_arn:
                raise validation("roleArn is only supported for XRAY destinations.")
        with _lock:
            st = self._state()
            existing = st.destinations.get(name)
            if existing is not None:
                if tags:  # TF #43572
                    raise conflict("Tags can only be provided when a resource is being created, not updated.")
                if (
                    output_format is not None and existing.output_format != output_format
                ):  # TF, CFN createOnly
                    raise validation(
                        "Update to existing Delivery Destination with new Output Format is not allowed. "
                        "Please create a new Delivery Destination instead."
                    )
                if (
                    existing.type != derived
                ):  # unconfirmed message; TF forces replacement on a change of service
                    raise validation(
                        "Update to existing Delivery Destination with new Delivery Destination Type is not allowed. "
                        "Please create a new Delivery Destination instead."
                    )
                if output_format is None:
                    output_format = (
                        existing.output_format
                    )  # unconfirmed: an omitted format keeps the current one
            arn = f"arn:aws:logs:{self.region}:{self.current_account}:delivery-destination:{name}"
            dest = Destination(name, arn, derived, output_format, resource_arn, role_arn)
            if existing is not None:
                dest.policy = existing.policy
            st.destinations[name] = dest
            if tags and existing is None:
                self.logs_backend.tag_resource(arn, tags)
        return json.dumps({"deliveryDestination": dest.view()})

    def get_delivery_destination(self) -> str:
        name = self._get_param("name")
        dest = self._state().destinations.get(name)
        if dest is None:
            raise not_found("Requested Delivery Destination does not exist in this account.")
        return json.dumps({"deliveryDestination": dest.view()})

    def describe_delivery_destinations(self) -> str:
        names = self._get_param("names")
        if names is not None and len(names) > 20:
            raise validation("names must have at most 20 items")
        items = [d.view() for d in self._state().destinations.values() if names is None or d.name in names]
        return json.dumps(
            _page("deliveryDestinations", items, self._get_param("limit"), self._get_param("nextToken"))
        )

    def delete_delivery_destination(self) -> str:
        name = self._get_param("name")
        with _lock:
            st = self._state()
            dest = st.destinations.get(name)
            if dest is None:
                raise not_found("Requested Delivery Destination does not exist in this account.")
            for _, other in _all_states(self.region):  # deliveries from any account count
                if any(d.destination_arn == dest.arn for d in other.deliveries.values()):
                    raise conflict(
                        "Delivery Destination is in use by one or more Deliveries; delete them first."
                    )
            del st.destinations[name]
            self.logs_backend.tagger.delete_all_tags_for_resource(dest.arn)
        return "{}"

    # policies
    def put_delivery_destination_policy(self) -> str:
        name = self._get_param("deliveryDestinationName")
        policy = self._get_param("deliveryDestinationPolicy")
        try:
            json.loads(policy)
        except (TypeError, ValueError):
            raise validation("The policy document is not valid JSON.") from None
        with _lock:
            dest = self._state().destinations.get(name)
            if dest is None:
                raise not_found("Requested Delivery Destination does not exist in this account.")
            dest.policy = policy
        return json.dumps({"policy": {"deliveryDestinationPolicy": policy}})

    def get_delivery_destination_policy(self) -> str:
        name = self._get_param("deliveryDestinationName")
        dest = self._state().destinations.get(name)
        if dest is None:
            raise not_found("Requested Delivery Destination does not exist in this account.")
        if dest.policy is None:
            return json.dumps({"policy": {}})  # LS, validated on AWS: no error, an empty policy
        return json.dumps({"policy": {"deliveryDestinationPolicy": dest.policy}})

    def delete_delivery_destination_policy(self) -> str:
        name = self._get_param("deliveryDestinationName")
        with _lock:
            dest = self._state().destinations.get(name)
            if dest is None:
                raise not_found("Requested Delivery Destination does not exist in this account.")
            dest.policy = None
        return "{}"

    # deliveries
    def _find_destination(self, arn: str) -> Destination:
        parts = parse_destination_arn(arn or "")
        if parts is None:
            raise validation("deliveryDestinationArn is not a delivery destination ARN.")
        region, account, name = parts
        backend = logs_backends[account][region]  # the destination's own account (cross-account)
        dest = state_of(backend).destinations.get(name)
        if dest is None:
            raise not_found("Requested Delivery Destination does not exist in this account.")
        if account != self.current_account and not policy_allows(
            dest.policy, self.current_account, "logs:CreateDelivery", dest.arn
        ):
            raise access_denied(
                f"User with account {self.current_account} is not authorized to perform logs:CreateDelivery "
                f"on resource {dest.arn}"
            )
        return dest

    def create_delivery(self) -> str:
        source_name = self._get_param("deliverySourceName")
        dest_arn = self._get_param("deliveryDestinationArn")
        record_fields = self._get_param("recordFields")
        delimiter = self._get_param("fieldDelimiter")
        s3 = self._get_param("s3DeliveryConfiguration")
        tags = self._tags_param()
        if tags is not None and len(tags) > 50:
            raise too_many_tags()
        with _lock:
            st = self._state()
            src = st.sources.get(source_name)
            if src is None:
                raise not_found("Requested Delivery Source does not exist in this account.")
            dest = self._find_destination(dest_arn)
            if s3 is not None and dest.type != "S3":  # TF #46108, #48527
                raise validation("Provided delivery configuration is invalid for the destination type.")
            for d in st.deliveries.values():
                if d.source_name == source_name and d.destination_arn == dest_arn:
                    raise conflict("The specified Delivery already exists")
                if (
                    d.source_name == source_name and d.destination_type == dest.type
                ):  # moto; unconfirmed on AWS
                    raise conflict(
                        "Delivery already exists for this Delivery Source with the same Delivery Destination Type."
                    )
            dest_account = dest.arn.split(":")[4]
            problem = templates.delivery_problem(
                src.resource_arn,
                src.log_type,
                self.current_account,
                dest.type,
                dest.output_format,
                dest_account,
                record_fields,
                delimiter,
                s3,
            )
            if problem is not None:
                raise validation(problem)
            found = templates.delivery_defaults(
                src.resource_arn, src.log_type, dest.type, dest.resource_arn, OPTIONS["template_overrides"]
            )
            s3_final: dict[str, Any] | None = None
            if dest.type == "S3":
                s3_final = dict(found.get("s3DeliveryConfiguration") or {"enableHiveCompatiblePath": False})
                if s3:
                    s3_final.update(s3)
                    if "suffixPath" in s3:  # TF #40968: the service's prefix on create only
                        s3_final["suffixPath"] = templates.on_create_suffix_path(
                            src.resource_arn, src.log_type, dest.resource_arn, s3["suffixPath"]
                        )
            delivery_id = _new_id()
            delivery = Delivery(
                id=delivery_id,
                arn=f"arn:aws:logs:{self.region}:{self.current_account}:delivery:{delivery_id}",
                source_name=source_name,
                destination_arn=dest_arn,
                destination_type=dest.type,
                record_fields=list(record_fields)
                if record_fields is not None
                else list(found.get("recordFields") or []),
                field_delimiter=delimiter if delimiter is not None else found.get("fieldDelimiter"),
                s3=s3_final,
                source_arn=src.resource_arn,
                log_type=src.log_type,
                source_account=self.current_account,
                dest_format=dest.output_format,
                dest_account=dest_account,
            )
            st.deliveries[delivery_id] = delivery
            if tags:
                self.logs_backend.tag_resource(delivery.arn, tags)
        view = delivery.view()
        if tags:
            view["tags"] = dict(tags)  # CreateDelivery echoes the tags it created with (LS)
        return json.dumps({"delivery": view})

    def get_delivery(self) -> str:
        delivery = self._state().deliveries.get(self._get_param("id"))
        if delivery is None:
            raise not_found("Requested Delivery does not exist in this account.")
        return json.dumps({"delivery": delivery.view()})

    def describe_deliveries(self) -> str:
        names = self._get_param("deliverySourceNames")
        if names is not None and len(names) > 20:
            raise validation("deliverySourceNames must have at most 20 items")
        sparse = bool(OPTIONS["sparse_describe_deliveries"])
        items = [
            d.view(sparse)
            for d in self._state().deliveries.values()
            if names is None or d.source_name in names
        ]
        return json.dumps(_page("deliveries", items, self._get_param("limit"), self._get_param("nextToken")))

    def update_delivery_configuration(self) -> str:
        delivery_id = self._get_param("id")
        record_fields = self._get_param("recordFields")
        delimiter = self._get_param("fieldDelimiter")
        s3 = self._get_param("s3DeliveryConfiguration")
        with _lock:
            delivery = self._state().deliveries.get(delivery_id)
            if delivery is None:
                raise not_found("Requested Delivery does not exist in this account.")
            if s3 is not None and delivery.destination_type != "S3":  # TF #46108
                raise validation("Provided delivery configuration is invalid for the destination type.")
            problem = templates.delivery_problem(
                delivery.source_arn,
                delivery.log_type,
                delivery.source_account,
                delivery.destination_type,
                delivery.dest_format,
                delivery.dest_account,
                record_fields,
                delimiter,
                s3,
            )
            if problem is not None:
                raise validation(problem)
            if record_fields is not None:
                delivery.record_fields = list(record_fields)
            if delimiter is not None:
                delivery.field_delimiter = delimiter
            if s3 is not None:
                merged = dict(delivery.s3 or {})
                merged.update(s3)  # no CloudFront prefix on update (TF #46328)
                delivery.s3 = merged
        return "{}"

    def delete_delivery(self) -> str:
        delivery_id = self._get_param("id")
        with _lock:
            st = self._state()
            delivery = st.deliveries.pop(delivery_id, None)
            if delivery is None:
                raise not_found("Requested Delivery does not exist in this account.")
            self.logs_backend.tagger.delete_all_tags_for_resource(delivery.arn)
        return "{}"

    def describe_configuration_templates(self) -> str:
        service = self._get_param("service")
        log_types = self._get_param("logTypes")
        dest_types = self._get_param("deliveryDestinationTypes")
        items = [
            t
            for t in templates.configuration_templates(OPTIONS["template_overrides"])
            if (service is None or t["service"] == service)
            and (log_types is None or t["logType"] in log_types)
            and (dest_types is None or t["deliveryDestinationType"] in dest_types)
        ]
        return json.dumps(
            _page("configurationTemplates", items, self._get_param("limit"), self._get_param("nextToken"))
        )

    # tags: delivery-family ARNs must exist (moto answers {} for anything)
    def list_tags_for_resource(self) -> str:
        arn = self._get_param("resourceArn")
        if _resource_exists(arn) is False:
            raise not_found(f"The specified resource does not exist: {arn}")
        return json.dumps({"tags": self.logs_backend.list_tags_for_resource(arn)})

    def tag_resource(self) -> str:
        arn = self._get_param("resourceArn")
        tags = self._get_param("tags") or {}
        if _resource_exists(arn) is False:
            raise not_found(f"The specified resource does not exist: {arn}")
        with _lock:
            current = self.logs_backend.list_tags_for_resource(arn)
            if len({**current, **tags}) > 50:
                raise too_many_tags()
            self.logs_backend.tag_resource(arn, tags)
        return "{}"

    def untag_resource(self) -> str:
        arn = self._get_param("resourceArn")
        keys = self._get_param("tagKeys") or []
        if _resource_exists(arn) is False:
            raise not_found(f"The specified resource does not exist: {arn}")
        self.logs_backend.untag_resource(arn, keys)
        return "{}"


HANDLED = [
    name
    for name in vars(DeliveryHandlers)
    if not name.startswith("_") and callable(getattr(DeliveryHandlers, name))
]


def _iter_tagged_resources(self: Any) -> Any:
    """moto's LogsBackend lists only log groups to the Resource Groups Tagging API; AWS also has the delivery family
    (tag-policy resource types ``logs:delivery-source``, ``logs:delivery-destination``, ``logs:delivery``)."""
    from moto.core.resource_tagging import TaggedResource

    yield from _moto_iter_tagged(self)
    st = state_of(self)
    with _lock:
        items = [("delivery-source", s.arn) for s in st.sources.values()]
        items += [("delivery-destination", d.arn) for d in st.destinations.values()]
        items += [("delivery", d.arn) for d in st.deliveries.values()]
    for kind, arn in items:
        yield TaggedResource(arn=arn, tags=self.list_tags_for_resource(arn), resource_type=f"logs:{kind}")


_moto_iter_tagged: Any = None
_tagging = threading.local()


def _patch_tagging_pages() -> None:
    """moto caps a GetResources page at 100 tags even when the caller sends only ResourcesPerPage; AWS documents
    TagsPerPage as a separate, optional limit (and recommends ResourcesPerPage instead): apply it only when sent."""
    from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend
    from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse

    respond, page = (
        ResourceGroupsTaggingAPIResponse.get_resources,
        ResourceGroupsTaggingAPIBackend.get_resources,
    )

    def get_resources_response(self: Any) -> Any:
        _tagging.uncapped = self._get_param("TagsPerPage") is None
        try:
            return respond(self)
        finally:
            _tagging.uncapped = False

    def get_resources_page(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_tagging, "uncapped", False):
            kwargs["tags_per_page"] = 1 << 30
        return page(self, *args, **kwargs)

    ResourceGroupsTaggingAPIResponse.get_resources = get_resources_response  # type: ignore[method-assign]
    ResourceGroupsTaggingAPIBackend.get_resources = get_resources_page  # type: ignore[method-assign]


def install() -> None:
    """Graft the handlers onto moto's LogsResponse (idempotent)."""
    global _installed, _moto_iter_tagged
    with _lock:
        if _installed:
            return
        for name in itertools.chain(HANDLED, ["_state", "_tags_param", "_find_destination"]):
            setattr(LogsResponse, name, getattr(DeliveryHandlers, name))
        from moto.logs.models import LogsBackend

        _moto_iter_tagged = LogsBackend.iter_tagged_resources
        LogsBackend.iter_tagged_resources = _iter_tagged_resources  # type: ignore[method-assign]
        _patch_tagging_pages()
        _installed = True
