"""The least-privilege IAM policy the reconciler's role needs for a project's manifests (pure, no I/O).

``for_plan`` holds reads only (``plan``, ``drift``, ``verify``, ``export``): the delivery listings, tags and policies,
the destination write-path reads for the destination types the manifests use, and ``sts:AssumeRole`` into the
project's other accounts. ``for_apply`` adds the writes (``Put*``, ``CreateDelivery``, ``Update*``, ``Delete*``,
tags), the source services' ``AllowVendedLogDeliveryForResource``, the Firehose service-linked role and the lock
table, each on the resources the manifests name (account and region patterns where AWS needs them). Grant writes
(bucket policy, key policy, log-group resource policy, Firehose tag) are added only for destinations whose grant the reconciler manages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import catalog
from .kinds import Destination, Source
from .models import AccountAccess, Kind, LockConfig, Resource
from .writepath import firehose_parts, log_group_parts, s3_parts

LOG_DELIVERY_SLR = (
    "arn:aws:iam::{account}:role/aws-service-role/delivery.logs.amazonaws.com/AWSServiceRoleForLogDelivery"
)


def _statement(
    sid: str, actions: set[str], resources: set[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": sorted(resources),
    }
    if condition:
        st["Condition"] = condition
    return st


@dataclass
class _WritePathTargets:
    """What the destinations write to, by type: the write-path reads (and grants) are on these."""

    buckets: set[str] = field(default_factory=set)
    groups: set[tuple[str, str, str]] = field(default_factory=set)  # (region, account, name)
    streams: set[str] = field(default_factory=set)
    kms_accounts: set[str] = field(default_factory=set)
    xray: bool = False

    @classmethod
    def of(cls, dests: list[Resource]) -> _WritePathTargets:
        out = cls()
        for d in dests:
            a = Destination.typed(d)
            arn, dtype = a.destinationResourceArn or "", a.deliveryDestinationType
            if dtype == "S3":
                out.buckets.add(f"arn:aws:s3:::{s3_parts(arn)[0]}")
                out.kms_accounts.add(d.account)
            elif dtype == "CWL":
                out.groups.add(log_group_parts(arn))
            elif dtype == "FH":
                out.streams.add(arn)
            elif dtype == "XRAY":
                out.xray = True
        return out


def document(
    desired: list[Resource],
    accounts: dict[str, AccountAccess],
    *,
    for_apply: bool,
    lock: LockConfig | None = None,
    lock_account: str = "",
    lock_region: str = "",
    managed_grants: set[str] | None = None,
) -> dict[str, Any]:
    """The policy document. ``managed_grants``: destination resource ARNs whose grant the reconciler writes."""
    scopes = sorted({(r.account, r.region) for r in desired})
    delivery_arns = {
        kind: {f"arn:aws:logs:{region}:{account}:{kind}:*" for account, region in scopes}
        for kind in ("delivery-source", "delivery-destination", "delivery")
    }
    all_delivery = set().union(*delivery_arns.values())
    dests = [r for r in desired if r.kind is Kind.DESTINATION]
    targets = _WritePathTargets.of(dests)
    statements = _read_statements(all_delivery, accounts) + _write_path_reads(targets)
    if not for_apply:
        return {"Version": "2012-10-17", "Statement": statements}
    statements.append(_statement("ReconcilerWrite", {
        "logs:PutDeliverySource", "logs:PutDeliveryDestination", "logs:PutDeliveryDestinationPolicy",
        "logs:DeleteDeliveryDestinationPolicy", "logs:CreateDelivery", "logs:UpdateDeliveryConfiguration",
        "logs:DeleteDelivery", "logs:DeleteDeliverySource", "logs:DeleteDeliveryDestination", "logs:TagResource",
        "logs:UntagResource"}, all_delivery))  # fmt: skip
    statements += _vended_statements(desired)
    if targets.streams:
        statements.append(_statement(
            "ReconcilerLogDeliveryRole", {"iam:CreateServiceLinkedRole"},
            {LOG_DELIVERY_SLR.format(account=firehose_parts(s)[1]) for s in targets.streams},
            {"StringLike": {"iam:AWSServiceName": "delivery.logs.amazonaws.com"}},
        ))  # fmt: skip
    roles_passed = {role for d in dests if (role := Destination.typed(d).roleArn)}
    if roles_passed:
        statements.append(_statement("ReconcilerPassRole", {"iam:PassRole"}, roles_passed))
    if lock is not None:
        table = f"arn:aws:dynamodb:{lock_region}:{lock_account}:table/{lock.dynamodbTable}"
        statements.append(_statement("ReconcilerLock", {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                                        "dynamodb:DeleteItem"}, {table}))  # fmt: skip
    statements += _grant_statements(managed_grants or set(), targets.kms_accounts)
    return {"Version": "2012-10-17", "Statement": statements}


def _read_statements(all_delivery: set[str], accounts: dict[str, AccountAccess]) -> list[dict[str, Any]]:
    """The listings and reads of the delivery resources, and the roles into the project's other accounts."""
    statements = [
        _statement(
            "ReconcilerList",
            {
                "logs:DescribeDeliverySources",
                "logs:DescribeDeliveryDestinations",
                "logs:DescribeDeliveries",
                "logs:DescribeConfigurationTemplates",
                "sts:GetCallerIdentity",
            },
            {"*"},
        ),
        _statement(
            "ReconcilerRead",
            {
                "logs:GetDeliverySource",
                "logs:GetDeliveryDestination",
                "logs:GetDelivery",
                "logs:GetDeliveryDestinationPolicy",
                "logs:ListTagsForResource",
            },
            all_delivery,
        ),
    ]
    roles = {a.roleArn for a in accounts.values() if a.roleArn}
    if roles:
        statements.append(_statement("ReconcilerAssumeRole", {"sts:AssumeRole"}, roles))
    return statements


def _write_path_reads(t: _WritePathTargets) -> list[dict[str, Any]]:
    """The destination write-path reads, for the destination types the manifests use."""
    statements = []
    if t.buckets:
        statements.append(_statement("ReconcilerS3WritePath", {"s3:GetBucketPolicy", "s3:GetEncryptionConfiguration",
                                                                "s3:ListBucket"}, t.buckets))  # fmt: skip
        statements.append(_statement("ReconcilerKmsWritePath", {"kms:DescribeKey", "kms:GetKeyPolicy"},
                                     {f"arn:aws:kms:*:{a}:key/*" for a in t.kms_accounts}))  # fmt: skip
    if t.groups:
        statements.append(_statement("ReconcilerLogsWritePathList", {"logs:DescribeLogGroups",
                                                                      "logs:DescribeResourcePolicies"}, {"*"}))  # fmt: skip
        statements.append(_statement("ReconcilerLogsWritePath", {"logs:DescribeLogStreams"},
                                     {f"arn:aws:logs:{r}:{a}:log-group:{n}:*" for r, a, n in t.groups}))  # fmt: skip
    if t.streams:
        statements.append(_statement("ReconcilerFirehoseWritePath", {"firehose:DescribeDeliveryStream",
                                                                     "firehose:ListTagsForDeliveryStream"}, t.streams))  # fmt: skip
    if t.xray:
        statements.append(_statement("ReconcilerXrayWritePath", {"xray:GetTraceSegmentDestination",
                                                                 "xray:ListResourcePolicies"}, {"*"}))  # fmt: skip
    return statements


def _vended_statements(desired: list[Resource]) -> list[dict[str, Any]]:
    """Each source service's ``AllowVendedLogDeliveryForResource`` on the sources' resources."""
    vended: dict[str, set[str]] = {}
    for s in desired:
        if s.kind is Kind.SOURCE:
            resource_arn = Source.typed(s).resourceArn
            parts = catalog.split_arn(resource_arn)
            if parts is not None:
                vended.setdefault(f"{parts[1]}:AllowVendedLogDeliveryForResource", set()).add(resource_arn)
    return [
        _statement("ReconcilerVended" + action.split(":")[0].replace("-", "").title(), {action}, arns)
        for action, arns in sorted(vended.items())
    ]


def _grant_statements(grants: set[str], kms_accounts: set[str]) -> list[dict[str, Any]]:
    """The grant writes, only for the destinations whose grant the reconciler manages."""
    statements = []
    grant_buckets = {f"arn:aws:s3:::{s3_parts(a)[0]}" for a in grants if a.startswith("arn:aws:s3:")}
    grant_streams = {a for a in grants if a.startswith("arn:aws:firehose:")}
    if grant_buckets:
        statements.append(
            _statement("ReconcilerS3Grant", {"s3:PutBucketPolicy", "s3:DeleteBucketPolicy"}, grant_buckets)
        )
        statements.append(_statement("ReconcilerKmsGrant", {"kms:PutKeyPolicy"},
                                     {f"arn:aws:kms:*:{a}:key/*" for a in kms_accounts}))  # fmt: skip
    if grant_streams:
        statements.append(
            _statement("ReconcilerFirehoseGrant", {"firehose:TagDeliveryStream"}, grant_streams)
        )
    if any(":log-group:" in a for a in grants):  # IAM knows no resource type for these two: "*"
        statements.append(
            _statement("ReconcilerLogsGrant", {"logs:PutResourcePolicy", "logs:DeleteResourcePolicy"}, {"*"})
        )
    return statements
