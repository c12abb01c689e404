"""Will a delivery deliver? Which destination facts to read, and the findings they give (pure, no I/O).

A delivery that AWS accepts can still deliver nothing when its destination does not let the log delivery service
(``delivery.logs.amazonaws.com``) write. ``targets`` lists, per desired delivery, what it needs (source account,
region and name, the destination's type, resource ARN and account); ``reads`` turns them into one read per
destination resource (``aws.Api.read_write_paths`` performs them); ``evaluate`` turns what was read into
findings with stable codes:

| code | severity | what |
|---|---|---|
| ``destination-missing`` | error | the bucket, log group or stream does not exist |
| ``write-path-unknown`` | warning | a read was denied or failed: whether the delivery can write is not known |
| ``s3-policy-missing`` | error (warning for a new same-account delivery: AWS may add it) | no statement lets the service put objects |
| ``s3-policy-wrong-region`` | error | ``aws:SourceArn`` names another region than the source's (CloudFront: us-east-1) |
| ``s3-policy-wrong-account`` | error | ``aws:SourceAccount``/``aws:SourceArn`` name another account |
| ``s3-policy-wrong-prefix`` | error | the statement's Resource does not cover ``[prefix/]AWSLogs/ACCOUNT/`` |
| ``s3-policy-denies`` | error | an explicit Deny applies to the delivery service |
| ``kms-aws-managed-key`` | error | SSE-KMS with the AWS-managed key: the service cannot use it |
| ``kms-key-denies`` | error | the customer-managed key's policy does not let the service use the key |
| ``cwl-policy-missing`` | error (warning, new same-account) | no resource policy lets the service write to the log group |
| ``cwl-policy-wrong-region`` / ``cwl-policy-wrong-account`` | error | as for S3 |
| ``cwl-policy-limit`` | error | the account's resource policies are at 10, or the delivery policy would pass 5,120 characters |
| ``firehose-not-directput`` | error | the stream reads from Kinesis instead of DirectPut |
| ``firehose-wrong-region`` | error | a CloudFront delivery into a stream outside us-east-1 |
| ``firehose-tag-missing`` | error (warning, new same-account) | the stream lacks ``LogDeliveryEnabled=true`` |
| ``xray-transaction-search-off`` | error | X-Ray's trace segment destination is not CloudWatch Logs (Transaction Search off) |
| ``xray-policy-missing`` | error (warning, new same-account) | no X-Ray resource policy lets the service put trace segments |

Facts are from AWS's "Enable logging from AWS services" guide (V2): the statements AWS itself adds, and the
limits of CloudWatch Logs resource policies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .findings import Finding, Severity
from .kinds import Delivery, DeliveryAttrs, Destination
from .models import Kind, Resource
from .policyeval import Miss, Request, account_of_arn, evaluate, near_misses, region_of_arn, statements

SERVICE = "delivery.logs.amazonaws.com"
CWL_POLICY_COUNT_MAX = 10
CWL_POLICY_CHARS_MAX = 5120
CWL_DELIVERY_POLICY = "AWSLogDeliveryWrite20150319"
FIREHOSE_TAG = ("LogDeliveryEnabled", "true")
AWS_MANAGED_S3_KEY = "alias/aws/s3"
SAMPLE_TIME = (2026, 1, 1, 0)  # any time: the check looks at the key's shape, not its date


@dataclass(frozen=True)
class Target:
    """What one desired delivery needs from its destination."""

    address: str
    name: str
    source_account: str
    source_region: str
    source_name: str
    source_service: str | None
    dest_type: str  # S3 | CWL | FH | XRAY
    dest_account: str  # the delivery destination's account (where the grant lives)
    dest_region: str
    resource_arn: str | None  # destinationResourceArn (None for XRAY)
    new: bool = False  # created (or replaced) by this plan
    suffix_path: str | None = (
        None  # S3: s3DeliveryConfiguration.suffixPath (None: AWS's AWSLogs/{account-id}/...)
    )
    hive: bool = False  # S3: enableHiveCompatiblePath
    destination_arn: str = ""  # the delivery destination's ARN

    @property
    def key(self) -> str:
        """The destination resource: one read per key, however many deliveries use it."""
        if self.dest_type == "XRAY":
            return f"xray:{self.dest_account}/{self.dest_region}"
        return str(self.resource_arn)

    @property
    def source_arn(self) -> str:
        return f"arn:aws:logs:{self.source_region}:{self.source_account}:delivery-source:{self.source_name}"


@dataclass(frozen=True)
class Read:
    """One destination resource to read, in the account and region where it lives."""

    key: str
    dest_type: str
    account: str
    region: str
    resource_arn: str | None


@dataclass
class Facts:
    """What was read about one destination resource (``unreadable``: operation and error of each failed read)."""

    key: str
    exists: bool = True
    unreadable: list[str] = field(default_factory=list)
    bucket_policy: str | None = None
    sse_algorithm: str | None = None  # S3 default encryption
    kms_key: str | None = None
    kms_key_manager: str | None = None  # AWS | CUSTOMER
    kms_key_policy: str | None = None
    cwl_policies: list[tuple[str, str]] = field(default_factory=list)  # (name, document) account level
    cwl_group_policies: list[tuple[str, str]] = field(
        default_factory=list
    )  # (name, document) of the log group
    stream_type: str | None = None
    stream_tags: dict[str, str] = field(default_factory=dict)
    xray_destination: str | None = None
    xray_status: str | None = None
    xray_policies: list[str] = field(default_factory=list)


def s3_parts(arn: str) -> tuple[str, str]:
    """(bucket, prefix) of ``arn:aws:s3:::bucket[/prefix]``."""
    rest = arn.split(":::", 1)[-1]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


def log_group_parts(arn: str) -> tuple[str, str, str]:
    """(region, account, name) of a log-group ARN (a trailing ``:*`` is dropped)."""
    parts = arn.split(":", 6)
    name = parts[6] if len(parts) > 6 else ""
    return parts[3], parts[4], name.removesuffix(":*")


DEFAULT_SUFFIX = "AWSLogs/{account-id}/"
_TIME_VARS = (
    ("{yyyy}", "%Y", "year="),
    ("{MM}", "%m", "month="),
    ("{dd}", "%d", "day="),
    ("{HH}", "%H", "hour="),
)


def render_suffix(
    suffix: str | None, account: str, region: str, when: tuple[int, ...], hive: bool = False
) -> str:
    """An S3 delivery's key prefix at a time (``when``: year, month, day, hour), from its ``suffixPath``."""
    text = (suffix or DEFAULT_SUFFIX).replace("{account-id}", account).replace("{region}", region)
    year, month, day, hour = when[:4]
    for (var, _, hive_name), value in zip(
        _TIME_VARS, (f"{year:04}", f"{month:02}", f"{day:02}", f"{hour:02}"), strict=True
    ):
        text = text.replace(var, f"{hive_name}{value}" if hive else value)
    return text.strip("/")


def static_prefix(prefix: str, suffix: str | None, account: str, region: str) -> str:
    """The part of a delivery's object keys that never changes (what ``verify`` lists under)."""
    text = (suffix or DEFAULT_SUFFIX).replace("{account-id}", account).replace("{region}", region)
    text = text.split("{", 1)[0]
    if "/" in text and not text.endswith("/"):
        text = text.rsplit("/", 1)[0] + "/"
    elif "/" not in text:
        text = ""
    return f"{prefix}/{text}" if prefix else text


def object_key(t: Target, when: tuple[int, ...], name: str) -> str:
    """The key of one object the delivery writes (the destination's prefix, the rendered suffix, an hour, a name)."""
    _, prefix = s3_parts(str(t.resource_arn))
    suffix = render_suffix(t.suffix_path, t.source_account, t.source_region, when, t.hive)
    parts = [p for p in (prefix, suffix) if p]
    if "{HH}" not in (t.suffix_path or ""):
        parts.append(f"hour={when[3]:02}" if t.hive else f"{when[3]:02}")
    return "/".join([*parts, name])


def firehose_parts(arn: str) -> tuple[str, str, str]:
    parts = arn.split(":", 5)
    return parts[3], parts[4], parts[5].split("/", 1)[-1]


def _destinations(desired: list[Resource], live: list[Resource]) -> dict[str, Resource]:
    """Delivery destinations by ARN: the desired ones over the live ones."""
    return {r.arn: r for r in [*live, *desired] if r.kind is Kind.DESTINATION and r.arn}


def _target(
    r: Resource, a: DeliveryAttrs, dest: Resource, s3: dict[str, Any], new: set[str]
) -> Target | None:
    d = Destination.typed(dest)
    dest_type = d.deliveryDestinationType or ""
    resource_arn = d.destinationResourceArn
    if dest_type != "XRAY" and not resource_arn:
        return None
    return Target(
        address=r.address,
        name=r.name,
        source_account=r.account,
        source_region=r.region,
        source_name=a.deliverySourceName,
        source_service=a.target.sourceService if a.target is not None else None,
        dest_type=dest_type,
        dest_account=dest.account,
        dest_region=dest.region,
        resource_arn=str(resource_arn) if resource_arn else None,
        new=r.address in new,
        suffix_path=s3.get("suffixPath"),
        hive=bool(s3.get("enableHiveCompatiblePath")),
        destination_arn=str(dest.arn),
    )


def targets(desired: list[Resource], live: list[Resource], new: set[str]) -> list[Target]:
    """One target per desired delivery whose destination (desired, else live) is known."""
    dests = _destinations(desired, live)
    live_deliveries = {r.key: r for r in live if r.kind is Kind.DELIVERY}
    out = []
    for r in desired:
        if r.kind is not Kind.DELIVERY:
            continue
        a = Delivery.typed(r)
        dest = dests.get(a.deliveryDestinationArn)
        if dest is None:
            continue
        s3 = a.s3DeliveryConfiguration or {}
        if not s3 and r.key in live_deliveries:
            s3 = Delivery.typed(live_deliveries[r.key]).s3DeliveryConfiguration or {}
        t = _target(r, a, dest, s3, new)
        if t is not None:
            out.append(t)
    return sorted(out, key=lambda t: t.address)


def destination_targets(desired: list[Resource]) -> list[Read]:
    """The reads the manifests alone name (so they can start before the live read finishes)."""
    return reads(targets(desired, [], set()))


def reads(items: list[Target]) -> list[Read]:
    """One read per destination resource, in the account and region that hold it."""
    out: dict[str, Read] = {}
    for t in items:
        if t.key in out:
            continue
        if t.dest_type == "S3":
            out[t.key] = Read(t.key, "S3", t.dest_account, t.dest_region, t.resource_arn)
        elif t.dest_type == "CWL":
            region, account, _ = log_group_parts(str(t.resource_arn))
            out[t.key] = Read(t.key, "CWL", account, region, t.resource_arn)
        elif t.dest_type == "FH":
            region, account, _ = firehose_parts(str(t.resource_arn))
            out[t.key] = Read(t.key, "FH", account, region, t.resource_arn)
        elif t.dest_type == "XRAY":
            out[t.key] = Read(t.key, "XRAY", t.dest_account, t.dest_region, None)
    return sorted(out.values(), key=lambda r: r.key)


# ---- evaluation ---------------------------------------------------------------------------------------------


def _finding(t: Target, code: str, severity: Severity, why: str, fix: str) -> Finding:
    verb = "will deliver nothing" if severity is Severity.ERROR else "may deliver nothing"
    if code == "write-path-unknown":
        verb = "cannot be checked"
    return Finding(t.address, code, severity, f"{t.name} {verb}: {why}", fix)


def _missing_severity(t: Target, resource_account: str) -> Severity:
    """AWS adds a missing grant itself at CreateDelivery when the caller may edit it, never cross-account."""
    if t.new and resource_account == t.source_account:
        return Severity.WARNING
    return Severity.ERROR


def _context(t: Target, extra: dict[str, str] | None = None) -> dict[str, str]:
    ctx = {"aws:sourceaccount": t.source_account, "aws:sourcearn": t.source_arn}
    ctx.update(extra or {})
    return ctx


def _sid(st: dict[str, Any]) -> str:
    sid = st.get("Sid")
    return f"statement {sid!r}" if sid else "a statement"


def _near_source_arn(t: Target, what: str, prefix: str, st: dict[str, Any], miss: Miss) -> Finding | None:
    regions = sorted({region_of_arn(v) or "" for v in miss.values} - {"", "*"})
    accounts = sorted({account_of_arn(v) or "" for v in miss.values} - {"", "*"})
    if regions and t.source_region not in regions:
        return _finding(
            t, f"{prefix}-policy-wrong-region", Severity.ERROR,
            f"{what} allows aws:SourceArn in {', '.join(regions)}, the source is in {t.source_region}",
            f"in {_sid(st)} of the {what}, use arn:aws:logs:{t.source_region}:{t.source_account}:"
            "delivery-source:* (the delivery source's region, not the destination's)",
        )  # fmt: skip
    if accounts and t.source_account not in accounts:
        return _finding(
            t, f"{prefix}-policy-wrong-account", Severity.ERROR,
            f"{what} allows aws:SourceArn in account {', '.join(accounts)}, the source is in {t.source_account}",
            f"add {t.source_account} to aws:SourceArn in {_sid(st)} of the {what}",
        )  # fmt: skip
    return None


def _near_one(t: Target, what: str, prefix: str, st: dict[str, Any], miss: Miss) -> Finding | None:
    key = miss.key.lower()
    if miss.element == "condition" and key == "aws:sourcearn":
        return _near_source_arn(t, what, prefix, st, miss)
    if miss.element == "condition" and key == "aws:sourceaccount":
        return _finding(
            t, f"{prefix}-policy-wrong-account", Severity.ERROR,
            f"{what} allows aws:SourceAccount {', '.join(miss.values)}, the source is in {t.source_account}",
            f"add {t.source_account} to aws:SourceAccount in {_sid(st)} of the {what}",
        )  # fmt: skip
    if miss.element == "resource" and prefix == "s3":
        return _finding(
            t, "s3-policy-wrong-prefix", Severity.ERROR,
            f"{what} allows s3:PutObject on {', '.join(miss.values)}, the delivery writes {miss.actual or '?'}",
            f"extend the Resource of {_sid(st)} of the {what} to the delivery's prefix",
        )  # fmt: skip
    return None


def _near_miss(
    t: Target, what: str, prefix: str, misses: list[tuple[dict[str, Any], Miss]]
) -> Finding | None:
    """Name the closest statement that does not apply (wrong region, account or prefix), if any."""
    for st, miss in misses:
        found = _near_one(t, what, prefix, st, miss)
        if found is not None:
            return found
    return None


def _unknown(t: Target, facts: Facts) -> Finding:
    return _finding(
        t, "write-path-unknown", Severity.WARNING,
        f"could not read {'; '.join(facts.unreadable)}",
        "allow the plan role to read the destination (see `reconciler permissions --for plan`)",
    )  # fmt: skip


def _eval_bucket_policy(t: Target, f: Facts, bucket: str, prefix: str) -> Finding | None:
    key = static_prefix(prefix, t.suffix_path, t.source_account, t.source_region)
    sample = object_key(t, SAMPLE_TIME, "delivery.log.gz")
    req = Request(SERVICE, "s3:PutObject", f"arn:aws:s3:::{bucket}/{sample}",
                  _context(t, {"s3:x-amz-acl": "bucket-owner-full-control"}))  # fmt: skip
    what = f"bucket policy of {bucket}"
    decision = evaluate(f.bucket_policy, req) if f.bucket_policy else None
    if decision is not None and decision.denied_by:
        st = statements(f.bucket_policy)[decision.denied_by[0]]
        return _finding(t, "s3-policy-denies", Severity.ERROR, f"{_sid(st)} of the {what} denies {SERVICE}",
                        f"exclude {SERVICE} from {_sid(st)}")  # fmt: skip
    if decision is not None and decision.allowed:
        return None
    near = _near_miss(t, what, "s3", near_misses(f.bucket_policy, req)) if f.bucket_policy else None
    if near is not None:
        return near
    has = "has no statement that lets" if f.bucket_policy else "does not exist, so nothing lets"
    return _finding(
        t, "s3-policy-missing", _missing_severity(t, t.dest_account),
        f"the {what} {has} {SERVICE} put objects under {key}",
        f"add a statement allowing {SERVICE} s3:PutObject on arn:aws:s3:::{bucket}/{key}* with aws:SourceAccount "
        f"{t.source_account} and aws:SourceArn arn:aws:logs:{t.source_region}:{t.source_account}:delivery-source:*"
        " (or set grants: managed)",
    )  # fmt: skip


def _eval_kms(t: Target, f: Facts, bucket: str) -> Finding | None:
    if f.sse_algorithm not in ("aws:kms", "aws:kms:dsse"):
        return None
    key_id = f.kms_key or ""
    if not key_id or key_id.endswith(AWS_MANAGED_S3_KEY) or f.kms_key_manager == "AWS":
        return _finding(
            t, "kms-aws-managed-key", Severity.ERROR,
            f"bucket {bucket} encrypts with the AWS-managed key aws/s3, which the delivery service cannot use",
            "use a customer-managed KMS key whose policy allows the delivery service, or SSE-S3",
        )  # fmt: skip
    if f.kms_key_policy is None:
        return _finding(t, "write-path-unknown", Severity.WARNING,
                        f"cannot check the policy of KMS key {key_id}: {'; '.join(f.unreadable) or 'not read'}",
                        "allow the plan role kms:GetKeyPolicy and kms:DescribeKey on the key")  # fmt: skip
    if evaluate(f.kms_key_policy, Request(SERVICE, "kms:GenerateDataKey", key_id, _context(t))).allowed:
        return None
    return _finding(
        t, "kms-key-denies", Severity.ERROR,
        f"the policy of KMS key {key_id} (bucket {bucket}) does not let {SERVICE} use the key",
        f"add a key-policy statement allowing {SERVICE} kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, "
        f"kms:GenerateDataKey*, kms:DescribeKey with aws:SourceAccount {t.source_account}",
    )  # fmt: skip


def _eval_s3(t: Target, f: Facts) -> list[Finding]:
    bucket, prefix = s3_parts(str(t.resource_arn))
    if not f.exists:
        return [_finding(t, "destination-missing", Severity.ERROR, f"bucket {bucket} does not exist",
                         f"create bucket {bucket} (in account {t.dest_account}) or point the destination at one")]  # fmt: skip
    if f.unreadable:
        return [_unknown(t, f)]
    found = (_eval_bucket_policy(t, f, bucket, prefix), _eval_kms(t, f, bucket))
    return [x for x in found if x is not None]


def cwl_group_arn(arn: str) -> str:
    """A log group's ARN as resource policies name it (no trailing ``:*``)."""
    region, account, name = log_group_parts(arn)
    return f"arn:aws:logs:{region}:{account}:log-group:{name}"


def _cwl_decision(
    t: Target, f: Facts, resource: str
) -> tuple[str | None, bool, list[tuple[dict[str, Any], Miss]]]:
    """(the policy that denies, whether both actions are allowed, the near misses), over the account-level and the
    log group's own resource policies (IAM: any Allow in any of them, unless a Deny)."""
    policies = [*f.cwl_policies, *f.cwl_group_policies]
    denied, allowed = None, True
    misses: list[tuple[dict[str, Any], Miss]] = []
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        req = Request(SERVICE, action, resource, _context(t))
        decisions = [(policy_name, evaluate(doc, req)) for policy_name, doc in policies]
        denied = next((n for n, d in decisions if d.denied_by), denied)
        if not any(d.allowed for _, d in decisions):
            allowed = False
            misses += [m for _, doc in policies for m in near_misses(doc, req)]
    return denied, allowed, misses


def _cwl_limit(t: Target, f: Facts, account: str, region: str, name: str, resource: str) -> Finding | None:
    """AWS adds its grant to the account-level policy ``AWSLogDeliveryWrite20150319``: will it fit?"""
    needed = len(f'"{resource[: -len("delivery")]}*",')
    current = dict(f.cwl_policies).get(CWL_DELIVERY_POLICY)
    if current is None and len(f.cwl_policies) >= CWL_POLICY_COUNT_MAX:
        return _finding(
            t, "cwl-policy-limit", Severity.ERROR,
            f"account {account} in {region} has {len(f.cwl_policies)} of {CWL_POLICY_COUNT_MAX} resource policies, "
            f"so AWS cannot add {CWL_DELIVERY_POLICY}",
            "set grants: managed (a log-group-level policy), merge or delete a resource policy, or deliver into a "
            "log group under /aws/vendedlogs/",
        )  # fmt: skip
    if current is not None and len(current) + needed > CWL_POLICY_CHARS_MAX:
        return _finding(
            t, "cwl-policy-limit", Severity.ERROR,
            f"resource policy {CWL_DELIVERY_POLICY} has {len(current)} characters; adding {name} passes the "
            f"{CWL_POLICY_CHARS_MAX}-character limit",
            "set grants: managed (a log-group-level policy), deliver into log groups under /aws/vendedlogs/ (one "
            "wildcard grant) or trim the policy",
        )  # fmt: skip
    return None


def _eval_cwl(t: Target, f: Facts) -> list[Finding]:
    region, account, name = log_group_parts(str(t.resource_arn))
    if not f.exists:
        return [_finding(t, "destination-missing", Severity.ERROR,
                         f"log group {name} does not exist in {account}/{region}",
                         f"create log group {name} in {account}/{region} or point the destination at one")]  # fmt: skip
    if f.unreadable:
        return [_unknown(t, f)]
    resource = f"arn:aws:logs:{region}:{account}:log-group:{name}:log-stream:delivery"
    denied, allowed, misses = _cwl_decision(t, f, resource)
    if denied is not None:
        return [_finding(t, "cwl-policy-denies", Severity.ERROR, f"resource policy {denied} denies {SERVICE}",
                         f"exclude {SERVICE} from the Deny in {denied}")]  # fmt: skip
    if allowed:
        return []
    what = f"resource policies of account {account} in {region}"
    if f.cwl_group_policies:
        what += f" and of log group {name}"
    found = _near_miss(t, what, "cwl", misses) or _cwl_limit(t, f, account, region, name, resource)
    if found is not None:
        return [found]
    return [_finding(
        t, "cwl-policy-missing", _missing_severity(t, account),
        f"no resource policy lets {SERVICE} write to log group {name}",
        f"put a resource policy allowing {SERVICE} logs:CreateLogStream and logs:PutLogEvents on "
        f"arn:aws:logs:{region}:{account}:log-group:{name}:log-stream:* with aws:SourceAccount {t.source_account} "
        "(or set grants: managed)",
    )]  # fmt: skip


def _eval_fh(t: Target, f: Facts) -> list[Finding]:
    region, account, name = firehose_parts(str(t.resource_arn))
    if not f.exists:
        return [_finding(t, "destination-missing", Severity.ERROR,
                         f"Firehose stream {name} does not exist in {account}/{region}",
                         f"create the DirectPut stream {name} in {account}/{region}")]  # fmt: skip
    if f.unreadable:
        return [_unknown(t, f)]
    out = []
    if t.source_service == "cloudfront" and region != "us-east-1":
        out.append(_finding(t, "firehose-wrong-region", Severity.ERROR,
                            f"CloudFront delivers only to streams in us-east-1; {name} is in {region}",
                            "use a Firehose stream in us-east-1"))  # fmt: skip
    if f.stream_type and f.stream_type != "DirectPut":
        out.append(_finding(t, "firehose-not-directput", Severity.ERROR,
                            f"Firehose stream {name} is a {f.stream_type} stream; delivery needs DirectPut",
                            "use a DirectPut stream"))  # fmt: skip
    key, value = FIREHOSE_TAG
    if f.stream_tags.get(key) != value:
        out.append(_finding(
            t, "firehose-tag-missing", _missing_severity(t, account),
            f"Firehose stream {name} lacks the tag {key}={value}",
            f"tag the stream {key}={value} in {account} (or set grants: managed)",
        ))  # fmt: skip
    return out


def _eval_xray(t: Target, f: Facts) -> list[Finding]:
    if f.unreadable:
        return [_unknown(t, f)]
    out = []
    if f.xray_destination != "CloudWatchLogs" or f.xray_status not in ("ACTIVE", None):
        out.append(_finding(
            t, "xray-transaction-search-off", Severity.ERROR,
            f"Transaction Search is off in {t.dest_account}/{t.dest_region} (trace segments go to "
            f"{f.xray_destination or 'X-Ray'}, status {f.xray_status or 'unknown'})",
            "enable Transaction Search: aws xray update-trace-segment-destination --destination CloudWatchLogs",
        ))  # fmt: skip
    req = Request(SERVICE, "xray:PutTraceSegments", f"arn:aws:xray:{t.dest_region}:{t.dest_account}:*",
                  _context(t))  # fmt: skip
    if not any(evaluate(doc, req).allowed for doc in f.xray_policies):
        out.append(_finding(
            t, "xray-policy-missing", _missing_severity(t, t.dest_account),
            f"no X-Ray resource policy in {t.dest_account}/{t.dest_region} lets {SERVICE} put trace segments",
            f"put an X-Ray resource policy allowing {SERVICE} xray:PutTraceSegments with aws:SourceAccount "
            f"{t.source_account}",
        ))  # fmt: skip
    return out


_EVAL = {"S3": _eval_s3, "CWL": _eval_cwl, "FH": _eval_fh, "XRAY": _eval_xray}


def evaluate_targets(items: list[Target], facts: dict[str, Facts]) -> list[Finding]:
    """Findings for every target whose destination facts were read."""
    out: list[Finding] = []
    for t in items:
        f = facts.get(t.key)
        if f is None or t.dest_type not in _EVAL:
            continue
        out.extend(_EVAL[t.dest_type](t, f))
    return sorted(out)


def policy_json(doc: Any) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc)
