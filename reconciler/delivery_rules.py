"""The capability rules for destinations and deliveries (pure): what AWS accepts, from the capability table.

Each check returns ``(field path, message)`` pairs naming the allowed values; ``manifest.py`` turns them into
``FILE:LINE: Kind/name: field: message`` lines and the sandbox into the ``ValidationException`` AWS answers with.
Sources: the CDK service spec (destination types and output formats per log type, mandatory and optional record
fields), guide-V2 (cross-account only to S3 and Firehose), botocore's model (delimiters only for plain, w3c and raw
output; suffix-path variables per template), KensioSoftware/yulin #1003 (Hive paths with their own ``key=``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .capabilities import LogTypeCaps, caps_for, table

Problem = tuple[tuple[str | int, ...], str]

_VARIABLE = re.compile(r"\{[^{}]*\}")
_TYPE_NAMES = {"S3": "S3", "CWL": "CWL", "FH": "FH", "XRAY": "XRAY"}


def _names(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "none"


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values)


def formats_for_destination_type(destination_type: str) -> tuple[str, ...]:
    """Output formats some log type accepts for this destination type (the union over the table)."""
    found: set[str] = set()
    for service in table().services:
        for caps in service.log_types.values():
            found.update(caps.destinations.get(destination_type, ()))
    return tuple(sorted(found))


def check_destination(destination_type: str, output_format: str | None) -> list[Problem]:
    """A destination's output format must be one that its destination type accepts for some log type."""
    if output_format is None or destination_type == "XRAY":
        return []
    allowed = formats_for_destination_type(destination_type)
    if output_format not in allowed:
        return [
            (
                ("outputFormat",),
                f"{output_format!r} is not accepted by {destination_type} destinations; allowed: {_names(allowed)}",
            )
        ]
    return []


@dataclass(frozen=True)
class Target:
    """The destination side of a delivery, as far as it is known."""

    label: str  # e.g. "DeliveryDestination/central"
    type: str | None  # None when unknown (a destination ARN outside the manifests)
    output_format: str | None
    account: str | None


def check_delivery(
    source_arn: str,
    log_type: str,
    source_account: str,
    target: Target,
    record_fields: Sequence[str] | None,
    field_delimiter: str | None,
    s3: dict[str, Any] | None,
    caps: LogTypeCaps | None = None,
) -> list[Problem]:
    """Every capability rule for one delivery. ``caps`` (a live template) overrides the table when given."""
    caps = caps or caps_for(source_arn, log_type)
    what = f"{caps.service} {log_type}" if caps is not None else log_type
    out: list[Problem] = []
    if caps is not None:
        out.extend(_check_type_and_format(caps, what, target))
    out.extend(_check_cross_account(source_account, target))
    if caps is not None:
        out.extend(_check_record_fields(caps, what, record_fields))
    out.extend(_check_delimiter(target, field_delimiter))
    if s3:
        out.extend(_check_s3(s3))
    return out


def _check_type_and_format(caps: LogTypeCaps, what: str, target: Target) -> list[Problem]:
    """The destination type must be one the log type goes to, and its output format one it accepts there."""
    dest_type = target.type
    if dest_type is None:
        return []
    if dest_type not in caps.destinations:
        allowed = _names(sorted(caps.destinations))
        return [(("destination",), f"{what} can go only to {allowed}; {target.label} is {dest_type}")]
    formats = caps.destinations[dest_type]
    if target.output_format is not None and formats and target.output_format not in formats:
        message = f"{what} to {dest_type} accepts outputFormat {_names(formats)}; {target.label} is {target.output_format}"
        return [(("destination",), message)]
    return []


def _check_cross_account(source_account: str, target: Target) -> list[Problem]:
    """Cross-account deliveries go only to the destination types that accept them."""
    types = table().cross_account_destination_types
    if (
        target.type is None
        or target.account is None
        or target.account == source_account
        or target.type in types
    ):
        return []
    message = (
        f"cross-account delivery goes only to {' or '.join(types)} destinations; "
        f"{target.label} in {target.account} is {target.type}"
    )
    return [(("destination",), message)]


def _check_record_fields(caps: LogTypeCaps, what: str, record_fields: Sequence[str] | None) -> list[Problem]:
    """Every record field must be one the log type has, and the mandatory ones must be there."""
    if record_fields is None or caps.allowed_fields is None:
        return []
    allowed_fields = caps.allowed_fields
    out: list[Problem] = [
        (("recordFields", i), f"{name!r} is not a record field of {what}; allowed: {_names(allowed_fields)}")
        for i, name in enumerate(record_fields)
        if name not in allowed_fields
    ]
    missing = [f for f in caps.mandatory_fields or () if f not in record_fields]
    if missing:
        out.append((("recordFields",), f"{what} requires the mandatory field(s) {_names(missing)}"))
    return out


def _check_delimiter(target: Target, field_delimiter: str | None) -> list[Problem]:
    """A delimiter only for the delimited output formats, and only one of the allowed ones."""
    if field_delimiter is None:
        return []
    tbl = table()
    fmt = target.output_format
    if fmt is not None and fmt not in tbl.delimited_formats and field_delimiter != "":
        message = f"used only for {_names(tbl.delimited_formats)} output; {target.label} is {fmt}"
        return [(("fieldDelimiter",), message)]
    if field_delimiter not in tbl.field_delimiters:
        message = f"{field_delimiter!r} is not an allowed delimiter; allowed: {_quoted(tbl.field_delimiters)}"
        return [(("fieldDelimiter",), message)]
    return []


def _check_s3(s3: dict[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    path = s3.get("suffixPath")
    if not isinstance(path, str):
        return out
    allowed = table().suffix_path_fields
    unknown = [v for v in _VARIABLE.findall(path) if v not in allowed]
    if unknown:
        out.append(
            (
                ("s3DeliveryConfiguration", "suffixPath"),
                f"unknown variable(s) {_names(unknown)}; allowed: {_names(allowed)}",
            )
        )
    if s3.get("enableHiveCompatiblePath"):
        keyed = [seg for seg in path.split("/") if "=" in seg]
        if keyed:
            out.append(
                (
                    ("s3DeliveryConfiguration", "suffixPath"),
                    f"segment {keyed[0]!r} writes its own key=; with enableHiveCompatiblePath AWS adds the "
                    "keys itself (drop the key= or the option)",
                )
            )
    return out
