"""``grants: managed``: the statements the reconciler keeps in destination policies so deliveries can write (pure).

For every destination whose grant is managed (``grants: managed`` in the project file, or on the destination's spec),
the plan holds one ``DestinationGrant`` change per destination resource, ordered after the destinations that write
into it and before their deliveries:

- S3 bucket policy: one statement per delivery destination (Sid ``ReconcilerLogDelivery`` + the destination's name
  and a digest of its ARN) allowing ``delivery.logs.amazonaws.com`` ``s3:PutObject`` under each source account's key
  prefix, with ``aws:SourceAccount`` (the source accounts), ``aws:SourceArn`` (``ArnLike``, each source's region and
  account) and ``s3:x-amz-acl``. Merged into the bucket policy: every other statement is kept as it was (as JSON) and in
  its order; statements with the Sid prefix that no managed destination needs any more are removed (pruned by the
  prefix only). A bucket policy with ``NotPrincipal`` or ``NotAction`` is refused (AWS refuses to edit those too).
- SSE-KMS with a customer-managed key: the same kind of statement in the key policy (``kms:Encrypt``,
  ``kms:Decrypt``, ``kms:ReEncrypt*``, ``kms:GenerateDataKey*``, ``kms:DescribeKey``).
- Firehose: the tag ``LogDeliveryEnabled=true`` (never removed: other tools may rely on it).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from .diff import Action, Change, FieldDiff
from .findings import Finding, Severity
from .models import Kind, Resource, canonical_policy
from .policyeval import as_list, statements
from .writepath import SERVICE, Facts, Read, Target, firehose_parts, s3_parts, static_prefix

SID_PREFIX = "ReconcilerLogDelivery"
BUCKET_POLICY_MAX = 20 * 1024
KMS_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def sid_for(destination_arn: str, name: str) -> str:
    digest = hashlib.sha256(destination_arn.encode()).hexdigest()[:8]
    return f"{SID_PREFIX}{re.sub(r'[^A-Za-z0-9]', '', name)[:60]}{digest}"


@dataclass
class Grant:
    """What one destination resource should hold: statements by Sid (policies) or tags (Firehose)."""

    kind: str  # s3 | kms | firehose
    target: str  # bucket ARN, key ARN, stream ARN
    account: str
    region: str
    destinations: set[str] = field(default_factory=set)  # delivery-destination ARNs that need it
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def _source_condition(items: list[Target]) -> dict[str, Any]:
    accounts = sorted({t.source_account for t in items})
    arns = sorted({f"arn:aws:logs:{t.source_region}:{t.source_account}:delivery-source:*" for t in items})
    return {"aws:SourceAccount": accounts, "aws:SourceArn": arns}


def _key_prefix(prefix: str, t: Target) -> str:
    """AWS's ``[prefix/]AWSLogs/ACCOUNT/`` when the delivery writes under it, else its own static prefix."""
    own = static_prefix(prefix, t.suffix_path, t.source_account, t.source_region)
    standard = f"{prefix + '/' if prefix else ''}AWSLogs/{t.source_account}/"
    return standard if own.startswith(standard) else own


def s3_statement(sid: str, bucket: str, items: list[Target]) -> dict[str, Any]:
    _, prefix = s3_parts(str(items[0].resource_arn))
    keys = sorted({f"arn:aws:s3:::{bucket}/{_key_prefix(prefix, t)}*" for t in items})
    cond = _source_condition(items)
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": "s3:PutObject",
        "Resource": keys if len(keys) > 1 else keys[0],
        "Condition": {
            "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceAccount": cond["aws:SourceAccount"],
            },
            "ArnLike": {"aws:SourceArn": cond["aws:SourceArn"]},
        },
    }


def kms_statement(sid: str, items: list[Target]) -> dict[str, Any]:
    cond = _source_condition(items)
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": KMS_ACTIONS,
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": cond["aws:SourceAccount"]},
            "ArnLike": {"aws:SourceArn": cond["aws:SourceArn"]},
        },
    }


def desired(items: list[Target], managed: dict[str, str], facts: dict[str, Facts]) -> dict[str, Grant]:
    """Per destination resource, the grant its managed destinations need. ``managed``: destination ARN -> name."""
    by_dest: dict[str, list[Target]] = {}
    for t in items:
        dest_arn = t.destination_arn
        if dest_arn in managed:
            by_dest.setdefault(dest_arn, []).append(t)
    out: dict[str, Grant] = {}
    for dest_arn, group in sorted(by_dest.items()):
        t0 = group[0]
        sid = sid_for(dest_arn, managed[dest_arn])
        if t0.dest_type == "S3":
            bucket, _ = s3_parts(str(t0.resource_arn))
            target = f"arn:aws:s3:::{bucket}"
            g = out.setdefault(target, Grant("s3", target, t0.dest_account, t0.dest_region))
            g.destinations.add(dest_arn)
            g.statements[sid] = s3_statement(sid, bucket, group)
            f = facts.get(t0.key)
            key = f.kms_key if f is not None and f.sse_algorithm in ("aws:kms", "aws:kms:dsse") else None
            if key and f is not None and f.kms_key_manager == "CUSTOMER" and key.startswith("arn:"):
                parts = key.split(":")
                k = out.setdefault(key, Grant("kms", key, parts[4], parts[3]))
                k.destinations.add(dest_arn)
                k.statements[sid] = kms_statement(sid, group)
        elif t0.dest_type == "FH":
            region, account, _ = firehose_parts(str(t0.resource_arn))
            target = str(t0.resource_arn)
            g = out.setdefault(target, Grant("firehose", target, account, region))
            g.destinations.add(dest_arn)
            g.tags = {"LogDeliveryEnabled": "true"}
    return out


def owned_statements(policy: str | None) -> dict[str, dict[str, Any]]:
    """The statements of a policy that carry the reconciler's Sid prefix."""
    return {str(st["Sid"]): st for st in statements(policy) if str(st.get("Sid", "")).startswith(SID_PREFIX)}


def refusal(policy: str | None) -> str | None:
    """Why the reconciler will not edit this policy, or None."""
    for st in statements(policy):
        for element in ("NotPrincipal", "NotAction"):
            if element in st:
                sid = st.get("Sid")
                return (
                    (f"statement {sid!r} uses {element}" if sid else f"a statement uses {element}")
                    + "; AWS does not add delivery grants to such a policy either, so the grant must be written by hand"
                )
    return None


def merge(policy: str | None, wanted: dict[str, dict[str, Any]]) -> str | None:
    """The policy with the reconciler's statements replaced by ``wanted``; every other statement kept, in order.

    Statements already there keep their place; new ones go last; prefix statements not wanted are removed. Returns
    None when nothing remains (the caller deletes the policy).
    """
    doc: dict[str, Any] = {"Version": "2012-10-17"}
    if policy:
        try:
            parsed = json.loads(policy)
        except ValueError:
            parsed = {}
        if isinstance(parsed, dict):
            doc = parsed
    current = as_list(doc.get("Statement"))
    out: list[Any] = []
    placed: set[str] = set()
    for st in current:
        sid = str(st.get("Sid", "")) if isinstance(st, dict) else ""
        if sid.startswith(SID_PREFIX):
            if sid in wanted:
                out.append(wanted[sid])
                placed.add(sid)
            continue
        out.append(st)
    out.extend(st for sid, st in sorted(wanted.items()) if sid not in placed)
    if not out:
        return None
    doc["Statement"] = out
    return json.dumps(doc)


def refused_finding(address: str, name: str, what: str, why: str) -> Finding:
    return Finding(
        address,
        "grant-refused",
        Severity.ERROR,
        f"{name}: the reconciler will not edit the {what}: {why}",
        "write the delivery statement into the policy by hand, or drop NotPrincipal/NotAction",
    )


# ---- plan: grant changes, and the facts as they will be once applied ----------------------------------------


def managed_destinations(desired: list[Resource], project_grants: str) -> dict[str, str]:
    """Delivery-destination ARN -> name, for destinations whose grant the reconciler manages."""
    out = {}
    for r in desired:
        if r.kind is not Kind.DESTINATION or not r.arn:
            continue
        mode = r.attrs.get("grants") or project_grants
        if mode == "managed" and r.attrs.get("deliveryDestinationType") in ("S3", "FH"):
            out[r.arn] = r.name
    return out


def extra_reads(
    desired: list[Resource], live: list[Resource], managed: dict[str, str], project: str, project_grants: str
) -> list[Read]:
    """Destination resources to read beyond the deliveries' own: managed ones without deliveries (to prune their
    statements), and this project's live S3 destinations that left the manifests (to prune theirs)."""
    out = []
    desired_arns = {r.arn for r in desired if r.kind is Kind.DESTINATION}
    for r in [*desired, *live]:
        if r.kind is not Kind.DESTINATION or not r.arn:
            continue
        gone = r.arn not in desired_arns and r.owner == project
        if r.arn not in managed and not (gone and (managed or project_grants == "managed")):
            continue
        arn = r.attrs.get("destinationResourceArn")
        if r.attrs.get("deliveryDestinationType") == "S3" and arn:
            out.append(Read(str(arn), "S3", r.account, r.region, str(arn)))
    return out


def _resource(g: Grant, name: str, attrs: dict[str, Any]) -> Resource:
    return Resource(Kind.GRANT, g.account, g.region, name, attrs, arn=g.target)


def plan_grants(
    items: list[Target], managed: dict[str, str], facts: dict[str, Facts], reads: list[Read]
) -> tuple[list[Change], list[Finding], dict[str, Facts]]:
    """Grant changes, refusals, and the facts as they will be after the changes (for the write-path findings)."""
    if not managed and not reads:
        return [], [], facts
    wanted = desired(items, managed, facts)
    after = {
        k: replace(f, cwl_policies=list(f.cwl_policies), stream_tags=dict(f.stream_tags))
        for k, f in facts.items()
    }
    changes: list[Change] = []
    findings: list[Finding] = []
    # buckets read for pruning that no managed delivery writes into any more
    for read in reads:
        bucket = f"arn:aws:s3:::{s3_parts(str(read.resource_arn))[0]}"
        if bucket not in wanted and read.key in facts and facts[read.key].exists:
            wanted[bucket] = Grant("s3", bucket, read.account, read.region)
    by_target_facts: dict[str, list[str]] = {}
    for key in facts:
        if key.startswith("arn:aws:s3:::"):
            by_target_facts.setdefault(f"arn:aws:s3:::{s3_parts(key)[0]}", []).append(key)
    for target, g in sorted(wanted.items()):
        if g.kind == "firehose":
            f = facts.get(target)
            if f is None or not f.exists or f.unreadable:
                continue
            missing = {k: v for k, v in g.tags.items() if f.stream_tags.get(k) != v}
            if missing:
                name = firehose_parts(target)[2]
                before = _resource(g, name, {"grant": "firehose-tag", "destinations": sorted(g.destinations),
                                             "tags": {k: f.stream_tags[k] for k in missing if k in f.stream_tags}})  # fmt: skip
                after_r = _resource(g, name, {"grant": "firehose-tag", "destinations": sorted(g.destinations),
                                              "tags": missing})  # fmt: skip
                fields = [FieldDiff(f"tags.{k}", before.attrs["tags"].get(k), v) for k, v in missing.items()]
                changes.append(Change(Action.UPDATE if f.stream_tags else Action.CREATE, before if f.stream_tags else None,
                                      after_r, "grant: the stream needs LogDeliveryEnabled=true", fields))  # fmt: skip
            for k in by_target_facts.get(target, [target]):
                if k in after:
                    after[k].stream_tags.update(g.tags)
            continue
        if g.kind == "s3":
            keys = by_target_facts.get(target, [])
            f = facts.get(keys[0]) if keys else None
            if f is None or not f.exists or f.unreadable:
                continue
            policy, what, name = (
                f.bucket_policy,
                f"bucket policy of {s3_parts(target)[0]}",
                s3_parts(target)[0],
            )
        else:  # kms
            f = next(
                (x for x in facts.values() if x.kms_key == target and x.kms_key_policy is not None), None
            )
            if f is None:
                continue
            keys = [k for k, x in facts.items() if x.kms_key == target]
            policy, what, name = f.kms_key_policy, f"key policy of {target}", target.rsplit("/", 1)[-1]
        current = owned_statements(policy)
        if canonical_policy(list(current.values())) == canonical_policy(list(g.statements.values())) and (
            sorted(current) == sorted(g.statements)
        ):
            continue
        why = refusal(policy)
        address = f"{g.account}/{g.region}/{Kind.GRANT.value}/{name}"
        if why is not None:
            findings.append(refused_finding(address, name, what, why))
            continue
        merged = merge(policy, g.statements)
        if merged is not None and g.kind == "s3" and len(merged) > BUCKET_POLICY_MAX:
            findings.append(
                refused_finding(address, name, what, f"the merged policy passes {BUCKET_POLICY_MAX} bytes")
            )
            continue
        attrs = {"grant": f"{g.kind}-policy", "destinations": sorted(g.destinations)}
        old = _resource(g, name, {**attrs, "statements": current}) if current else None
        new = _resource(g, name, {**attrs, "statements": g.statements}) if g.statements else None
        fields = [
            FieldDiff(f"statements.{sid}", current.get(sid), g.statements.get(sid))
            for sid in sorted(set(current) | set(g.statements))
            if canonical_policy(current.get(sid)) != canonical_policy(g.statements.get(sid))
        ]
        if old is None:
            action, reason = Action.CREATE, f"grant: the {what} lacks the delivery statement"
            fields = []
        elif new is None:
            action, reason = Action.DELETE, f"grant: no managed delivery writes into {name} any more"
        else:
            action, reason = Action.UPDATE, f"grant: the {what} differs from the deliveries it serves"
        changes.append(Change(action, old, new, reason, fields))
        for k in keys:
            if g.kind == "s3":
                after[k].bucket_policy = merged
            else:
                after[k].kms_key_policy = merged
    return changes, findings, after
