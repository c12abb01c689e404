"""The write calls: every AWS call ``apply`` makes to change something, one function each.

The parameters and the operation names are the kinds' (``kinds/``: ``calls.create``, ``write_params``...); these
functions send them and own the AWS rules of the write:
tags go only on creation (``put``: AWS refuses tags on a Put* that updates), a delete of what is already gone is
what was wanted (``delete``), a missing bucket policy reads as None (``bucket_policy``). Errors arrive typed
(``errors.NotFound``, ``Conflict``...) from ``transport``; no code string is compared outside this package.
"""

from __future__ import annotations

import contextlib
from typing import Any

from reconciler.errors import Conflict, NotFound
from reconciler.models import OWNER_TAG, Resource

from .transport import Transport

# AWS's answer to tags on a Put* that updates an existing resource (TF #43572)
TAGS_ON_CREATE_ONLY = "Tags can only be provided"


# ---- the delivery family (CloudWatch Logs)
def put(
    api: Transport, r: Resource, operation: str, params: dict[str, Any], tags: dict[str, str] | None = None
) -> None:
    """A Put* (PutDeliverySource, PutDeliveryDestination, PutDeliveryDestinationPolicy) with overwrite semantics.

    ``tags`` are sent only when creating. When a create finds the resource already there (a re-run after a crash),
    AWS refuses the tags (``ConflictException: Tags can only be provided when a resource is being created``): the
    Put* is sent again without them, then ``TagResource``.
    """
    if tags is None:
        api.call(r.account, r.region, operation, r.address, **params)
        return
    try:
        api.call(r.account, r.region, operation, r.address, **params, tags=tags)
    except Conflict as exc:
        if TAGS_ON_CREATE_ONLY not in exc.message:
            raise
        api.call(r.account, r.region, operation, r.address, **params)
        tag(api, r, str(r.arn), tags)


def delete(api: Transport, r: Resource, operation: str, params: dict[str, Any]) -> None:
    """A Delete*; already gone is what was wanted (a re-run after a crash)."""
    with contextlib.suppress(NotFound):
        api.call(r.account, r.region, operation, r.address, **params)


def create_delivery(
    api: Transport,
    r: Resource,
    source: str,
    destination_arn: str,
    tags: dict[str, str],
    config: dict[str, Any],
) -> str:
    """CreateDelivery with its tags (a delivery takes them on create); the new delivery's id."""
    out = api.call(r.account, r.region, "CreateDelivery", r.address, deliverySourceName=source,
                   deliveryDestinationArn=destination_arn, tags=tags, **config)  # fmt: skip
    return str(out["delivery"]["id"])


def update_delivery(api: Transport, r: Resource, delivery_id: str, config: dict[str, Any]) -> None:
    api.call(r.account, r.region, "UpdateDeliveryConfiguration", r.address, id=delivery_id, **config)


def tag(api: Transport, r: Resource, arn: str, tags: dict[str, str]) -> None:
    api.call(r.account, r.region, "TagResource", r.address, resourceArn=arn, tags=tags)


def untag(api: Transport, r: Resource, arn: str, keys: list[str]) -> None:
    api.call(r.account, r.region, "UntagResource", r.address, resourceArn=arn, tagKeys=keys)


def owner_of(api: Transport, r: Resource, arn: str) -> str | None:
    """The ``reconciler:project`` tag of a live resource (read before taking over an existing delivery)."""
    out = api.call(r.account, r.region, "ListTagsForResource", r.address, resourceArn=arn)
    owner = dict(out.get("tags") or {}).get(OWNER_TAG)
    return None if owner is None else str(owner)


# ---- grants: managed (the destination's own policy or tags)
def tag_delivery_stream(api: Transport, r: Resource, name: str, tags: list[dict[str, str]]) -> None:
    api.call_service("firehose", r.account, r.region, "TagDeliveryStream", r.address,
                     DeliveryStreamName=name, Tags=tags)  # fmt: skip


def key_policy(api: Transport, r: Resource, key: str) -> str | None:
    out = api.call_service("kms", r.account, r.region, "GetKeyPolicy", r.address, KeyId=key,
                           PolicyName="default")  # fmt: skip
    text = out.get("Policy")
    return None if text is None else str(text)


def put_key_policy(api: Transport, r: Resource, key: str, policy: str) -> None:
    api.call_service("kms", r.account, r.region, "PutKeyPolicy", r.address, KeyId=key,
                     PolicyName="default", Policy=policy)  # fmt: skip


def bucket_policy(api: Transport, r: Resource, bucket: str) -> str | None:
    """The bucket's policy text, or None when it has none."""
    try:
        policy = api.call_service("s3", r.account, r.region, "GetBucketPolicy", r.address, Bucket=bucket)
    except NotFound as exc:
        if exc.code == "NoSuchBucket":
            raise
        return None  # NoSuchBucketPolicy
    text = policy.get("Policy")
    return str(text) if text is not None else None


def group_policies(api: Transport, r: Resource, group: str) -> list[dict[str, Any]]:
    """A log group's own resource policies (``policyScope=RESOURCE``), as DescribeResourcePolicies answers."""
    out = api.call_service("logs", r.account, r.region, "DescribeResourcePolicies", r.address,
                           resourceArn=group, policyScope="RESOURCE")  # fmt: skip
    return list(out.get("resourcePolicies", []))


def put_resource_policy(
    api: Transport, r: Resource, group: str, name: str, document: str, revision: dict[str, str]
) -> None:
    """PutResourcePolicy on a log group; ``revision`` is ``{"expectedRevisionId": ...}`` when one was read."""
    api.call_service("logs", r.account, r.region, "PutResourcePolicy", r.address, policyName=name,
                     policyDocument=document, resourceArn=group, **revision)  # fmt: skip


def delete_resource_policy(
    api: Transport, r: Resource, group: str, name: str, revision: dict[str, str]
) -> None:
    api.call_service("logs", r.account, r.region, "DeleteResourcePolicy", r.address,
                     policyName=name, resourceArn=group, **revision)  # fmt: skip


def put_bucket_policy(api: Transport, r: Resource, bucket: str, policy: str) -> None:
    api.call_service("s3", r.account, r.region, "PutBucketPolicy", r.address, Bucket=bucket, Policy=policy)


def delete_bucket_policy(api: Transport, r: Resource, bucket: str) -> None:
    api.call_service("s3", r.account, r.region, "DeleteBucketPolicy", r.address, Bucket=bucket)
