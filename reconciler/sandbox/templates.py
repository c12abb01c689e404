"""The sandbox's configuration templates, defaults and delivery rules, all read from the capability table.

``DescribeConfigurationTemplates`` is served from ``reconciler/capabilities.json``; ``CreateDelivery`` and
``UpdateDeliveryConfiguration`` enforce the same rules ``validate`` checks (``reconciler.delivery_rules``) and fill
omitted fields with the defaults recorded on AWS (LS snapshots: no ``fieldDelimiter`` key for CloudFront to S3, its
suffix path ``AWSLogs/{account-id}/CloudFront/`` with the trailing slash, added before a given suffix path on create
only, and not under a destination ARN with its own prefix, TF #40885).
"""

from __future__ import annotations

from typing import Any

from reconciler import capabilities, defaults, delivery_rules


def resource_type(service: capabilities.Service) -> str:
    prefix = service.resource_prefixes[0].rstrip("/:-") if service.resource_prefixes else ""
    return prefix or service.arn_services[0]


def configuration_templates(overrides: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Every (service, log type, resource type, destination type) template, in the shape AWS returns.

    ``overrides`` (the ``template_overrides`` option) replace keys of the templates whose service, logType and
    deliveryDestinationType they name: a test's stand-in for AWS answering differently from the table.
    """
    tbl = capabilities.table()
    out = []
    for service in tbl.services:
        for arn_service, (log_type, caps) in (
            (a, item) for a in service.arn_services for item in sorted(service.log_types.items())
        ):
            for dest_type, formats in sorted(caps.destinations.items()):
                template: dict[str, Any] = {
                    "service": arn_service,
                    "logType": log_type,
                    "resourceType": resource_type(service),
                    "deliveryDestinationType": dest_type,
                    "defaultDeliveryConfigValues": caps.default_for(dest_type),
                    "allowedOutputFormats": list(formats),
                }
                if caps.allowed_fields is not None:
                    mandatory = set(caps.mandatory_fields or ())
                    template["allowedFields"] = [
                        {"name": f, "mandatory": f in mandatory} for f in caps.allowed_fields
                    ]
                if any(f in tbl.delimited_formats for f in formats):
                    template["allowedFieldDelimiters"] = list(tbl.field_delimiters)
                if dest_type == "S3":
                    template["allowedSuffixPathFields"] = list(tbl.suffix_path_fields)
                for o in overrides or ():
                    if all(
                        o.get(k) == template[k] for k in ("service", "logType", "deliveryDestinationType")
                    ):
                        template.update(o)
                out.append(template)
    return out


def delivery_defaults(
    resource_arn: str,
    log_type: str,
    dest_type: str,
    dest_resource_arn: str | None,
    overrides: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What AWS fills in for omitted delivery fields (as its templates say, overrides included)."""
    caps = capabilities.caps_for(resource_arn, log_type)
    found = defaults.template_defaults(caps, dest_type, dest_resource_arn)
    service = resource_arn.split(":")[2] if resource_arn.count(":") >= 5 else ""
    for o in overrides or ():
        if (o.get("service"), o.get("logType"), o.get("deliveryDestinationType")) == (
            service,
            log_type,
            dest_type,
        ):
            found.update(o.get("defaultDeliveryConfigValues") or {})
    return found


def on_create_suffix_path(
    resource_arn: str, log_type: str, dest_resource_arn: str | None, suffix_path: str
) -> str:
    """A given suffix path as AWS stores it on create: after the service's prefix (TF #40968), if any."""
    prefix = capabilities.suffix_prefix_added_on_create(resource_arn, log_type)
    if prefix is None or defaults.destination_has_prefix(dest_resource_arn):
        return suffix_path
    return prefix + suffix_path


def delivery_problem(
    resource_arn: str,
    log_type: str,
    source_account: str,
    dest_type: str,
    dest_format: str | None,
    dest_account: str,
    record_fields: list[str] | None,
    field_delimiter: str | None,
    s3: dict[str, Any] | None,
) -> str | None:
    """The first rule the delivery breaks, as a ValidationException message, or None."""
    target = delivery_rules.Target("the delivery destination", dest_type, dest_format, dest_account)
    problems = delivery_rules.check_delivery(
        resource_arn, log_type, source_account, target, record_fields, field_delimiter, s3
    )
    if not problems:
        return None
    path, message = problems[0]
    return f"{'.'.join(str(p) for p in path)}: {message}"
