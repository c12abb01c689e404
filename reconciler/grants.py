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
- CloudWatch Logs: the same kind of statement (``logs:CreateLogStream``, ``logs:PutLogEvents`` on the log group's
  streams, ``aws:SourceArn`` ``arn:aws:logs:REGION:ACCOUNT:*``) in the log group's own resource policy
  (``PutResourcePolicy`` with ``resourceArn``). AWS allows one such policy per log group, so the statement is merged
  into the one there (its name kept), else a policy named ``ReconcilerLogDelivery`` is created; the policy is deleted
  only when it carries that name prefix and nothing else remains. Log-group policies do not count toward the
  account's 10 account-level policies; a merged policy past 5,120 characters is not written (``cwl-policy-limit``).
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
from .kinds import Destination, GrantAttrs
from .kinds.grant import FIREHOSE_TAG
from .models import Kind, Resource, canonical_policy
from .policyeval import as_list, statements
from .writepath import (
    CWL_POLICY_CHARS_MAX,
    SERVICE,
    Facts,
    Read,
    Target,
    cwl_group_arn,
    firehose_parts,
    log_group_parts,
    s3_parts,
    static_prefix,
)

SID_PREFIX = "ReconcilerLogDelivery"
BUCKET_POLICY_MAX = 20 * 1024
KMS_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
CWL_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
CWL_POLICY_NAME = SID_PREFIX  # the log-group policy the reconciler creates when the group has none
EMPTY_POLICY = '{"Version": "2012-10-17", "Statement": []}'


def sid_for(destination_arn: str, name: str) -> str:
    digest = hashlib.sha256(destination_arn.encode()).hexdigest()[:8]
    return f"{SID_PREFIX}{re.sub(r'[^A-Za-z0-9]', '', name)[:60]}{digest}"


@dataclass
class Grant:
    """What one destination resource should hold: statements by Sid (policies) or tags (Firehose)."""

    kind: str  # s3 | kms | cwl | firehose
    target: str  # bucket ARN, key ARN, log group ARN (no trailing :*), stream ARN
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


def cwl_statement(sid: str, group_arn: str, items: list[Target]) -> dict[str, Any]:
    accounts = sorted({t.source_account for t in items})
    arns = sorted({f"arn:aws:logs:{t.source_region}:{t.source_account}:*" for t in items})
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": CWL_ACTIONS,
        "Resource": f"{group_arn}:log-stream:*",
        "Condition": {"StringEquals": {"aws:SourceAccount": accounts}, "ArnLike": {"aws:SourceArn": arns}},
    }


def _desired_s3(out: dict[str, Grant], sid: str, group: list[Target], facts: dict[str, Facts]) -> None:
    t0 = group[0]
    bucket, _ = s3_parts(str(t0.resource_arn))
    target = f"arn:aws:s3:::{bucket}"
    g = out.setdefault(target, Grant("s3", target, t0.dest_account, t0.dest_region))
    g.destinations.add(t0.destination_arn)
    g.statements[sid] = s3_statement(sid, bucket, group)
    f = facts.get(t0.key)
    if f is None or f.sse_algorithm not in ("aws:kms", "aws:kms:dsse") or f.kms_key_manager != "CUSTOMER":
        return
    key = f.kms_key or ""
    if key.startswith("arn:"):
        parts = key.split(":")
        k = out.setdefault(key, Grant("kms", key, parts[4], parts[3]))
        k.destinations.add(t0.destination_arn)
        k.statements[sid] = kms_statement(sid, group)


def _desired_cwl(out: dict[str, Grant], sid: str, group: list[Target]) -> None:
    t0 = group[0]
    target = cwl_group_arn(str(t0.resource_arn))
    region, account, _ = log_group_parts(target)
    g = out.setdefault(target, Grant("cwl", target, account, region))
    g.destinations.add(t0.destination_arn)
    g.statements[sid] = cwl_statement(sid, target, group)


def _desired_fh(out: dict[str, Grant], group: list[Target]) -> None:
    t0 = group[0]
    region, account, _ = firehose_parts(str(t0.resource_arn))
    target = str(t0.resource_arn)
    g = out.setdefault(target, Grant("firehose", target, account, region))
    g.destinations.add(t0.destination_arn)
    g.tags = {"LogDeliveryEnabled": "true"}


def desired(items: list[Target], managed: dict[str, str], facts: dict[str, Facts]) -> dict[str, Grant]:
    """Per destination resource, the grant its managed destinations need. ``managed``: destination ARN -> name."""
    by_dest: dict[str, list[Target]] = {}
    for t in items:
        if t.destination_arn in managed:
            by_dest.setdefault(t.destination_arn, []).append(t)
    out: dict[str, Grant] = {}
    for dest_arn, group in sorted(by_dest.items()):
        sid = sid_for(dest_arn, managed[dest_arn])
        if group[0].dest_type == "S3":
            _desired_s3(out, sid, group, facts)
        elif group[0].dest_type == "CWL":
            _desired_cwl(out, sid, group)
        elif group[0].dest_type == "FH":
            _desired_fh(out, group)
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


GRANT_TYPES = ("S3", "CWL", "FH")


def managed_destinations(desired: list[Resource], project_grants: str) -> dict[str, str]:
    """Delivery-destination ARN -> name, for destinations whose grant the reconciler manages."""
    out = {}
    for r in desired:
        if r.kind is not Kind.DESTINATION or not r.arn:
            continue
        a = Destination.typed(r)
        mode = a.grants or project_grants
        if mode == "managed" and a.deliveryDestinationType in GRANT_TYPES:
            out[r.arn] = r.name
    return out


def _prune_read(r: Resource) -> Read | None:
    """The read of a policy-holding destination resource (S3 bucket, log group), for pruning our statements."""
    a = Destination.typed(r)
    arn, kind = a.destinationResourceArn, a.deliveryDestinationType
    if not arn or kind not in ("S3", "CWL"):
        return None
    if kind == "CWL":
        region, account, _ = log_group_parts(str(arn))
        return Read(str(arn), "CWL", account, region, str(arn))
    return Read(str(arn), "S3", r.account, r.region, str(arn))


def extra_reads(
    desired: list[Resource], live: list[Resource], managed: dict[str, str], project: str, project_grants: str
) -> list[Read]:
    """Destination resources to read beyond the deliveries' own: managed ones without deliveries (to prune their
    statements), and this project's live S3/CWL destinations that left the manifests (to prune theirs)."""
    desired_arns = {r.arn for r in desired if r.kind is Kind.DESTINATION}
    pruning = bool(managed) or project_grants == "managed"
    out = []
    for r in [*desired, *live]:
        if r.kind is not Kind.DESTINATION or not r.arn:
            continue
        gone = r.arn not in desired_arns and r.owner == project
        read = _prune_read(r) if r.arn in managed or (gone and pruning) else None
        if read is not None:
            out.append(read)
    return out


def _resource(g: Grant, name: str, attrs: GrantAttrs) -> Resource:
    return Resource(Kind.GRANT, g.account, g.region, name, attrs.as_dict(), arn=g.target)


def _owner_of_key(key: str) -> str:
    """The grant target a fact belongs to: the bucket of an S3 destination, the log group of a CWL one."""
    if key.startswith("arn:aws:s3:::"):
        return f"arn:aws:s3:::{s3_parts(key)[0]}"
    if key.startswith("arn:") and ":log-group:" in key:
        return cwl_group_arn(key)
    return key


def _keys_by_target(facts: dict[str, Facts]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in facts:
        out.setdefault(_owner_of_key(key), []).append(key)
    return out


def _readable(f: Facts | None) -> bool:
    return f is not None and f.exists and not f.unreadable


@dataclass
class _Policy:
    """The policy a grant edits, as read: its text, how to name it in messages, and the facts that hold it."""

    text: str | None
    what: str
    name: str
    keys: list[str]
    policy_name: str | None = None  # CWL: the log group's resource policy's name


def pick_group_policy(names: list[str]) -> int | None:
    """Which of a log group's resource policies the grant edits: ours (by name prefix), else the one AWS allows."""
    own = [i for i, n in enumerate(names) if n.startswith(SID_PREFIX)]
    return own[0] if own else (0 if names else None)


def _group_policy(f: Facts) -> tuple[str, str | None]:
    """(name, document) of the log group's resource policy the grant edits (a new one: CWL_POLICY_NAME, none)."""
    i = pick_group_policy([n for n, _ in f.cwl_group_policies])
    if i is None:
        return CWL_POLICY_NAME, None
    name, doc = f.cwl_group_policies[i]
    return name, doc or None


def _policy_of(g: Grant, facts: dict[str, Facts], keys: dict[str, list[str]]) -> _Policy | None:
    if g.kind == "kms":
        f = next((x for x in facts.values() if x.kms_key == g.target and x.kms_key_policy is not None), None)
        if f is None:
            return None
        held = [k for k, x in facts.items() if x.kms_key == g.target]
        return _Policy(f.kms_key_policy, f"key policy of {g.target}", g.target.rsplit("/", 1)[-1], held)
    held = keys.get(g.target, [])
    f = facts.get(held[0]) if held else None
    if f is None or not _readable(f):
        return None
    if g.kind == "s3":
        bucket = s3_parts(g.target)[0]
        return _Policy(f.bucket_policy, f"bucket policy of {bucket}", bucket, held)
    group = log_group_parts(g.target)[2]
    policy_name, text = _group_policy(f)
    return _Policy(text, f"resource policy of log group {group}", group, held, policy_name)


def _same(current: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]) -> bool:
    return sorted(current) == sorted(wanted) and canonical_policy(list(current.values())) == canonical_policy(
        list(wanted.values())
    )


def _too_big(g: Grant, address: str, p: _Policy, merged: str | None) -> Finding | None:
    """A merged policy past its limit is not written; the plan says which limit."""
    if merged is None:
        return None
    if g.kind == "s3" and len(merged) > BUCKET_POLICY_MAX:
        return refused_finding(address, p.name, p.what, f"the merged policy passes {BUCKET_POLICY_MAX} bytes")
    if g.kind == "cwl" and len(merged) > CWL_POLICY_CHARS_MAX:
        return Finding(
            address,
            "cwl-policy-limit",
            Severity.ERROR,
            f"{p.name}: the {p.what} ({p.policy_name}) would have {len(merged)} characters with the delivery "
            f"statement, past the {CWL_POLICY_CHARS_MAX}-character limit of a CloudWatch Logs resource policy; "
            "not written",
            "trim the log group's resource policy, or deliver into a log group under /aws/vendedlogs/ and grant "
            "the delivery service there once",
        )
    return None


def _policy_change(g: Grant, p: _Policy, current: dict[str, dict[str, Any]]) -> Change:
    attrs = GrantAttrs(f"{g.kind}-policy", sorted(g.destinations), policyName=p.policy_name)
    old = _resource(g, p.name, replace(attrs, statements=current)) if current else None
    new = _resource(g, p.name, replace(attrs, statements=g.statements)) if g.statements else None
    if old is None:
        return Change(Action.CREATE, old, new, f"grant: the {p.what} lacks the delivery statement", [])
    if new is None:
        return Change(
            Action.DELETE, old, new, f"grant: no managed delivery writes into {p.name} any more", []
        )
    fields = [
        FieldDiff(f"statements.{sid}", current.get(sid), g.statements.get(sid))
        for sid in sorted(set(current) | set(g.statements))
        if canonical_policy(current.get(sid)) != canonical_policy(g.statements.get(sid))
    ]
    return Change(
        Action.UPDATE, old, new, f"grant: the {p.what} differs from the deliveries it serves", fields
    )


def _set_policy(after: dict[str, Facts], g: Grant, p: _Policy, merged: str | None) -> None:
    for k in p.keys:
        f = after[k]
        if g.kind == "s3":
            f.bucket_policy = merged
        elif g.kind == "kms":
            f.kms_key_policy = merged
        else:
            others = [x for x in f.cwl_group_policies if x[0] != p.policy_name]
            f.cwl_group_policies = others + ([(str(p.policy_name), merged)] if merged is not None else [])


def _firehose_change(g: Grant, f: Facts | None) -> Change | None:
    if f is None or not _readable(f):
        return None
    missing = {k: v for k, v in g.tags.items() if f.stream_tags.get(k) != v}
    if not missing:
        return None
    name = firehose_parts(g.target)[2]
    attrs = GrantAttrs(FIREHOSE_TAG, sorted(g.destinations))
    had = {k: f.stream_tags[k] for k in missing if k in f.stream_tags}
    before = _resource(g, name, replace(attrs, tags=had))
    after = _resource(g, name, replace(attrs, tags=missing))
    fields = [FieldDiff(f"tags.{k}", had.get(k), v) for k, v in missing.items()]
    reason = "grant: the stream needs LogDeliveryEnabled=true"
    if f.stream_tags:
        return Change(Action.UPDATE, before, after, reason, fields)
    return Change(Action.CREATE, None, after, reason, fields)


def _prune_targets(wanted: dict[str, Grant], reads: list[Read], facts: dict[str, Facts]) -> None:
    """Buckets and log groups read for pruning that no managed delivery writes into any more: want nothing there."""
    for read in reads:
        target = _owner_of_key(read.key)
        f = facts.get(read.key)
        if target in wanted or f is None or not f.exists:
            continue
        region, account = read.region, read.account
        wanted[target] = Grant("cwl" if read.dest_type == "CWL" else "s3", target, account, region)


def _copy(f: Facts) -> Facts:
    return replace(
        f,
        cwl_policies=list(f.cwl_policies),
        cwl_group_policies=list(f.cwl_group_policies),
        stream_tags=dict(f.stream_tags),
    )


def _plan_policy(g: Grant, p: _Policy, after: dict[str, Facts]) -> tuple[Change | None, Finding | None]:
    """The change a policy grant needs, or the finding that says why it is not written."""
    current = owned_statements(p.text)
    if _same(current, g.statements):
        return None, None
    address = f"{g.account}/{g.region}/{Kind.GRANT.value}/{p.name}"
    why = refusal(p.text)
    if why is not None:
        return None, refused_finding(address, p.name, p.what, why)
    merged = merge(p.text, g.statements)
    limit = _too_big(g, address, p, merged)
    if limit is not None:
        return None, limit
    _set_policy(after, g, p, merged)
    return _policy_change(g, p, current), None


def plan_grants(
    items: list[Target], managed: dict[str, str], facts: dict[str, Facts], reads: list[Read]
) -> tuple[list[Change], list[Finding], dict[str, Facts]]:
    """Grant changes, refusals, and the facts as they will be after the changes (for the write-path findings)."""
    if not managed and not reads:
        return [], [], facts
    wanted = desired(items, managed, facts)
    _prune_targets(wanted, reads, facts)
    after = {k: _copy(f) for k, f in facts.items()}
    keys = _keys_by_target(facts)
    changes: list[Change] = []
    findings: list[Finding] = []
    for target, g in sorted(wanted.items()):
        change, finding = None, None
        if g.kind == "firehose":
            change = _firehose_change(g, facts.get(target))
            for k in keys.get(target, []):
                after[k].stream_tags.update(g.tags)
        else:
            p = _policy_of(g, facts, keys)
            change, finding = _plan_policy(g, p, after) if p is not None else (None, None)
        changes += [change] if change is not None else []
        findings += [finding] if finding is not None else []
    return changes, findings, after
