"""The emulator delivers: every active delivery whose destination grant allows it writes a sample record.

On ``POST /_sandbox/deliver`` (or every ``every`` seconds once started with ``{"every": N}``; ``{"every": 0}``
stops the timer) each delivery in every account and region is checked with the reconciler's own evaluator
(``writepath.evaluate_targets``) against what moto stores: S3 bucket policies and default encryption, KMS key
policies, CloudWatch Logs resource policies (account level, and the sandbox's log-group level: ``cwl_policies``) and
log groups, Firehose streams and tags, and the sandbox's X-Ray Transaction Search setting and resource policies. A delivery that may write writes one record:

- S3: an object under the destination's prefix and the delivery's rendered ``suffixPath`` (AWS's default:
  ``AWSLogs/{account-id}/SERVICE/LOG_TYPE/{yyyy}/{MM}/{dd}``), then the hour and ``ID-N.json``; with
  ``enableHiveCompatiblePath``, ``year=YYYY/month=MM/day=DD/hour=HH`` (``writepath.object_key``);
- CloudWatch Logs: a log event in stream ``vended-ID`` of the log group;
- Firehose: a record through the stream (``PutRecord``);
- X-Ray: counted only.

A delivery that may not write writes nothing and is counted with the findings that stop it. The answer lists both.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from reconciler import writepath

from . import cwl_policies, xray
from .fidelity import Delivery, Destination, Source, state_of

_lock = threading.Lock()


@dataclass
class Stats:
    rounds: int = 0
    delivered: int = 0
    denied: int = 0
    counter: int = 0
    timer: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)


STATS = Stats()


def reset() -> None:
    stop_timer()
    with _lock:
        STATS.rounds = STATS.delivered = STATS.denied = STATS.counter = 0


def stop_timer() -> None:
    STATS.stop.set()
    timer = STATS.timer
    if timer is not None:
        timer.join(timeout=5)
    STATS.timer = None
    STATS.stop = threading.Event()


def start_timer(every: float) -> None:
    stop_timer()
    stop = STATS.stop

    def loop() -> None:
        while not stop.wait(every):
            deliver_all()

    STATS.timer = threading.Thread(target=loop, daemon=True, name="sandbox-deliver")
    STATS.timer.start()


def control(body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/deliver``: one round now, or start/stop the timer (``every``)."""
    if "every" in body:
        every = float(body["every"] or 0)
        if every > 0:
            start_timer(every)
        else:
            stop_timer()
        return {"every": every, **stats()}
    return deliver_all()


def stats() -> dict[str, Any]:
    return {"rounds": STATS.rounds, "delivered_total": STATS.delivered, "denied_total": STATS.denied}


# ---- what moto stores, as the facts the reconciler reads ------------------------------------------------------


def _facts_s3(read: writepath.Read) -> writepath.Facts:
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    facts = writepath.Facts(read.key)
    bucket, _ = writepath.s3_parts(str(read.resource_arn))
    backend = s3_backends[read.account]["aws"]
    try:
        b = backend.get_bucket(bucket)
    except MissingBucket:
        facts.exists = False
        return facts
    facts.bucket_policy = b.policy.decode() if isinstance(b.policy, bytes) else b.policy
    rules = (b.encryption or {}).get("Rule", [])
    rule = (rules[0] if isinstance(rules, list) and rules else rules) or {}
    default = rule.get("ApplyServerSideEncryptionByDefault", {}) if isinstance(rule, dict) else {}
    facts.sse_algorithm = default.get("SSEAlgorithm")
    facts.kms_key = default.get("KMSMasterKeyID")
    key = facts.kms_key
    if facts.sse_algorithm == "aws:kms" and key and not key.endswith(writepath.AWS_MANAGED_S3_KEY):
        from moto.kms.models import kms_backends

        parts = key.split(":")
        account, region = (parts[4], parts[3]) if key.startswith("arn:") else (read.account, read.region)
        kms = kms_backends[account][region]
        try:
            k = kms.describe_key(key)
            facts.kms_key_manager = k.key_manager
            facts.kms_key_policy = k.policy
        except Exception as exc:
            facts.unreadable.append(f"DescribeKey {key}: {type(exc).__name__}")
    return facts


def _facts_cwl(read: writepath.Read) -> writepath.Facts:
    from moto.logs.models import logs_backends

    facts = writepath.Facts(read.key)
    _, _, name = writepath.log_group_parts(str(read.resource_arn))
    backend = logs_backends[read.account][read.region]
    facts.exists = name in backend.groups
    facts.cwl_policies = [(p.policy_name, p.policy_document) for p in backend.resource_policies.values()]
    if facts.exists:
        facts.cwl_group_policies = cwl_policies.policies_of(read.account, read.region, str(read.resource_arn))
    return facts


def _facts_fh(read: writepath.Read) -> writepath.Facts:
    from moto.firehose.models import firehose_backends

    facts = writepath.Facts(read.key)
    _, _, name = writepath.firehose_parts(str(read.resource_arn))
    backend = firehose_backends[read.account][read.region]
    stream = backend.delivery_streams.get(name)
    if stream is None:
        facts.exists = False
        return facts
    facts.stream_type = stream.delivery_stream_type
    tags = backend.tagger.list_tags_for_resource(stream.delivery_stream_arn)["Tags"]
    facts.stream_tags = {t["Key"]: t.get("Value", "") for t in tags}
    return facts


def _facts_xray(read: writepath.Read) -> writepath.Facts:
    st = xray.state(read.account, read.region)
    facts = writepath.Facts(read.key)
    facts.xray_destination, facts.xray_status = st.destination, st.status
    facts.xray_policies = [str(p["PolicyDocument"]) for p in st.policies.values()]
    return facts


_FACTS = {"S3": _facts_s3, "CWL": _facts_cwl, "FH": _facts_fh, "XRAY": _facts_xray}


# ---- writing -------------------------------------------------------------------------------------------------


def _record(d: Delivery, src: Source, account: str, region: str, n: int) -> bytes:
    doc = {
        "event_timestamp": int(time.time() * 1000),
        "resource_arn": src.resource_arn,
        "log_type": src.log_type,
        "delivery_id": d.id,
        "source_account": account,
        "source_region": region,
        "event": f"sandbox sample record {n}",
    }
    return json.dumps(doc).encode()


def _write(t: writepath.Target, d: Delivery, src: Source, dest: Destination, n: int) -> str:
    data = _record(d, src, t.source_account, t.source_region, n)
    if t.dest_type == "S3":
        from moto.s3.models import s3_backends

        bucket, _ = writepath.s3_parts(str(t.resource_arn))
        key = writepath.object_key(t, tuple(time.gmtime())[:4], f"{d.id}-{n}.json")
        s3_backends[t.dest_account]["aws"].put_object(bucket, key, data)
        return f"s3://{bucket}/{key}"
    if t.dest_type == "CWL":
        from moto.logs.models import logs_backends

        region, account, name = writepath.log_group_parts(str(t.resource_arn))
        backend = logs_backends[account][region]
        stream = f"vended-{d.id}"
        if stream not in backend.groups[name].streams:
            backend.create_log_stream(name, stream)
        event = {"timestamp": int(time.time() * 1000), "message": data.decode()}
        backend.put_log_events(name, stream, [event])
        return f"log group {name}, stream {stream}"
    if t.dest_type == "FH":
        from moto.firehose.models import firehose_backends

        region, account, name = writepath.firehose_parts(str(t.resource_arn))
        try:
            firehose_backends[account][region].put_record(name, {"Data": data})
        except Exception as exc:
            return f"Firehose stream {name} (moto could not forward it: {type(exc).__name__})"
        return f"Firehose stream {name}"
    return f"X-Ray in {t.dest_account}/{t.dest_region} (counted)"


def _all_deliveries() -> list[tuple[str, str, Delivery, Source | None, Destination | None]]:
    from moto.logs.models import logs_backends

    out = []
    for account, per_region in list(dict.items(logs_backends)):
        for region, backend in list(dict.items(per_region)):
            st = state_of(backend)
            for d in list(st.deliveries.values()):
                parts = d.destination_arn.split(":", 6)
                dest = None
                if len(parts) == 7:
                    dest_backend = dict.get(dict.get(logs_backends, parts[4]) or {}, parts[3])
                    if dest_backend is not None:
                        dest = state_of(dest_backend).destinations.get(parts[6])
                out.append((account, region, d, st.sources.get(d.source_name), dest))
    return out


def deliver_all() -> dict[str, Any]:
    """One round: a record for every delivery whose grant allows it; the others counted with their findings."""
    delivered, denied = [], []
    with _lock:
        for account, region, d, src, dest in sorted(_all_deliveries(), key=lambda x: (x[0], x[1], x[2].id)):
            where = {"delivery": d.id, "account": account, "region": region, "source": d.source_name,
                     "destination": d.destination_arn}  # fmt: skip
            if src is None or dest is None:
                denied.append({**where, "findings": ["the source or destination is gone"]})
                continue
            dest_parts = dest.arn.split(":")
            t = writepath.Target(
                address=f"{account}/{region}/Delivery/{d.id}",
                name=d.id,
                source_account=account,
                source_region=region,
                source_name=src.name,
                source_service=src.resource_arn.split(":")[2],
                dest_type=dest.type,
                dest_account=dest_parts[4],
                dest_region=dest_parts[3],
                resource_arn=dest.resource_arn,
                suffix_path=(d.s3 or {}).get("suffixPath"),
                hive=bool((d.s3 or {}).get("enableHiveCompatiblePath")),
            )
            [read] = writepath.reads([t])
            facts = _FACTS[t.dest_type](read)
            findings = writepath.evaluate_targets([t], {t.key: facts})
            if findings:
                denied.append({**where, "findings": [f"{f.code}: {f.message}" for f in findings]})
                continue
            STATS.counter += 1
            delivered.append({**where, "wrote": _write(t, d, src, dest, STATS.counter)})
        STATS.rounds += 1
        STATS.delivered += len(delivered)
        STATS.denied += len(denied)
    return {"delivered": delivered, "denied": denied, **stats()}
