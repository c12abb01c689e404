"""Which AWS services can be delivery sources, with which log types, and which ARNs are destinations.

A thin view over the capability table (``capabilities.py``, data in ``capabilities.json`` generated from botocore's
``logs`` model and the AWS CDK service specification); this module keeps no list of its own. The live list on a
given account is ``DescribeConfigurationTemplates``.
"""

from __future__ import annotations

from .capabilities import (
    Service,
    caps_for,
    log_types_for_arn,
    services_for_arn,
    split_arn,
    suffix_prefix_added_on_create,
    table,
    us_east_1_only,
)

__all__ = [
    "DESTINATION_SERVICES",
    "Service",
    "caps_for",
    "destination_type_for_arn",
    "log_types_for_arn",
    "services_for_arn",
    "split_arn",
    "suffix_prefix_added_on_create",
    "table",
    "us_east_1_only",
]

# Destination ARN service -> deliveryDestinationType
DESTINATION_SERVICES = {"s3": "S3", "logs": "CWL", "firehose": "FH"}


def destination_type_for_arn(arn: str) -> str | None:
    parsed = split_arn(arn)
    if parsed is None:
        return None
    return DESTINATION_SERVICES.get(parsed[1])
