"""Omitted means AWS's default: a delivery field the manifest leaves out is the template's default (pure).

The defaults come from the capability table (``capabilities.py``) or, at plan time, from AWS's own
``DescribeConfigurationTemplates`` answer. A desired delivery carries the defaulted values as ordinary fields, so an
out-of-band change to them is drift and apply puts them back with ``UpdateDeliveryConfiguration``; the names of the
defaulted fields are kept in ``attrs["defaulted"]`` so that ``CreateDelivery`` leaves them to AWS (CloudFront's
suffix path would otherwise get AWS's prefix twice) and ``export`` writes only what differs from them.

The suffix-path prefix AWS adds on create (TF #40968, #40885: not when the destination ARN carries its own prefix;
CFN roadmap #2274: not on update) is recognised for every source with the same rule Terraform uses.
"""

from __future__ import annotations

import re
from typing import Any

from .capabilities import LogTypeCaps

DEFAULTABLE = (
    "recordFields",
    "fieldDelimiter",
    "s3DeliveryConfiguration.suffixPath",
    "s3DeliveryConfiguration.enableHiveCompatiblePath",
)
# The shape of the prefix AWS puts before a suffix path on create: AWSLogs/{account-id}/<Service>/
_ADDED_PREFIX = re.compile(r"AWSLogs/(\{account-id\}|\d{12})/[^/]+/")


def destination_has_prefix(destination_resource_arn: str | None) -> bool:
    """An S3 destination ARN with its own key prefix (``arn:aws:s3:::bucket/prefix``)."""
    if not destination_resource_arn or not destination_resource_arn.startswith("arn:"):
        return False
    resource = destination_resource_arn.split(":", 5)[-1]
    return destination_resource_arn.split(":")[2] == "s3" and "/" in resource.strip("/")


def template_defaults(
    caps: LogTypeCaps | None, destination_type: str | None, destination_resource_arn: str | None
) -> dict[str, Any]:
    """The default delivery values for this source log type and destination ({} when unknown)."""
    if caps is None or destination_type is None or destination_type not in caps.destinations:
        return {}
    out = caps.default_for(destination_type)
    s3 = out.get("s3DeliveryConfiguration")
    if isinstance(s3, dict):
        s3 = dict(s3)
        path = s3.get("suffixPath")
        if (
            isinstance(path, str)
            and _ADDED_PREFIX.fullmatch(path)
            and destination_has_prefix(destination_resource_arn)
        ):
            del s3["suffixPath"]  # AWS adds no prefix under a destination's own prefix (TF #40885)
        out["s3DeliveryConfiguration"] = s3
    return out


def fill(attrs: dict[str, Any], caps: LogTypeCaps | None, destination_resource_arn: str | None) -> None:
    """Fill a desired delivery's omitted fields with the defaults; list them in ``attrs["defaulted"]``."""
    _unfill(attrs)  # a refill (live template) starts from what the user wrote
    found = template_defaults(caps, attrs.get("deliveryDestinationType"), destination_resource_arn)
    defaulted: list[str] = []
    for key in ("recordFields", "fieldDelimiter"):
        if attrs.get(key) is None and key in found:
            attrs[key] = found[key]
            defaulted.append(key)
    s3_default = found.get("s3DeliveryConfiguration")
    if isinstance(s3_default, dict) and attrs.get("deliveryDestinationType") == "S3":
        s3 = dict(attrs.get("s3DeliveryConfiguration") or {})
        for key in ("suffixPath", "enableHiveCompatiblePath"):
            if key not in s3 and key in s3_default:
                s3[key] = s3_default[key]
                defaulted.append(f"s3DeliveryConfiguration.{key}")
        attrs["s3DeliveryConfiguration"] = s3 or None
    if defaulted:
        attrs["defaulted"] = defaulted


def _unfill(attrs: dict[str, Any]) -> None:
    """Take out the values an earlier ``fill`` put in (the fields listed in ``attrs["defaulted"]``)."""
    for path in attrs.pop("defaulted", None) or []:
        if "." in path:
            s3 = attrs.get("s3DeliveryConfiguration") or {}
            s3.pop(path.split(".", 1)[1], None)
            attrs["s3DeliveryConfiguration"] = s3 or None
        else:
            attrs[path] = None


def create_config(attrs: dict[str, Any]) -> dict[str, Any]:
    """A delivery's configuration for ``CreateDelivery``: without the defaulted fields (AWS fills them)."""
    defaulted = set(attrs.get("defaulted") or [])
    out: dict[str, Any] = {}
    for key in ("recordFields", "fieldDelimiter"):
        if attrs.get(key) is not None and key not in defaulted:
            out[key] = attrs[key]
    s3 = attrs.get("s3DeliveryConfiguration")
    if isinstance(s3, dict):
        kept = {k: v for k, v in s3.items() if f"s3DeliveryConfiguration.{k}" not in defaulted}
        if kept:
            out["s3DeliveryConfiguration"] = kept
    return out


def added_prefix(live_path: str, want_path: str, known_prefix: str | None = None) -> str | None:
    """The prefix AWS added on create when ``live_path`` is it followed by ``want_path``, else None."""
    if live_path == want_path or not live_path.endswith(want_path):
        return None
    prefix = live_path[: len(live_path) - len(want_path)]
    if prefix == known_prefix or _ADDED_PREFIX.fullmatch(prefix):
        return prefix
    return None


def non_default(
    attrs: dict[str, Any], caps: LogTypeCaps | None, destination_resource_arn: str | None
) -> dict[str, Any]:
    """A live delivery's configuration fields that differ from the defaults (what ``export`` writes)."""
    found = template_defaults(caps, attrs.get("deliveryDestinationType"), destination_resource_arn)
    out: dict[str, Any] = {}
    for key in ("recordFields", "fieldDelimiter"):
        value = attrs.get(key)
        if (
            value is None
            or value == found.get(key)
            or (key == "fieldDelimiter" and value == "" and key not in found)
        ):
            continue
        out[key] = value
    s3 = attrs.get("s3DeliveryConfiguration")
    if isinstance(s3, dict):
        kept = _non_default_s3(s3, found.get("s3DeliveryConfiguration") or {})
        if kept:
            out["s3DeliveryConfiguration"] = kept
    return out


def _non_default_s3(s3: dict[str, Any], s3_default: dict[str, Any]) -> dict[str, Any]:
    """The S3 settings of a live delivery that differ from the defaults, the suffix path without AWS's prefix."""
    kept = {}
    for k, v in s3.items():
        if s3_default.get(k) == v or (k == "enableHiveCompatiblePath" and v is False):
            continue
        kept[k] = _without_known_prefix(v, s3_default.get("suffixPath")) if k == "suffixPath" else v
    return kept


def _without_known_prefix(path: Any, known: Any) -> Any:
    """What the user asked for; AWS adds the prefix on create again."""
    if isinstance(path, str) and isinstance(known, str) and path.startswith(known) and path != known:
        return path[len(known) :]
    return path
