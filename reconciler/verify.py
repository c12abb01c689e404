"""Prove deliveries flow: wait until each delivery's destination has received its first record.

``observations`` groups the deliveries in scope by what can be watched (pure): an S3 bucket and the static part of
the delivery's key prefix (``ListObjectsV2``), a log group (``DescribeLogStreams``, newest event first). Firehose
streams and X-Ray cannot be observed from the API without reading the data they forward; they are reported as
such, never as flowing. ``run`` polls every observation until all have a record newer than ``since`` or the
timeout passes, calling ``on_progress`` with one line per change of status. Exit codes: 0 all observable
deliveries flowing, 2 some silent (listed with their write-path findings), 3 something could not be read.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import AwsError, ConfigError
from .findings import Finding
from .writepath import Target, log_group_parts, s3_parts, static_prefix

FLOWING, SILENT, UNOBSERVABLE, UNREADABLE, WAITING = (
    "flowing",
    "silent",
    "cannot observe",
    "unreadable",
    "waiting",
)


@dataclass
class Observation:
    key: str  # what is watched, for humans: s3://bucket/prefix, log group ARN, stream ARN
    dest_type: str
    account: str  # where it is read
    region: str
    resource: str  # bucket name, log group name
    prefix: str = ""
    deliveries: list[str] = field(default_factory=list)  # delivery addresses
    status: str = WAITING
    first_seen: dt.datetime | None = None
    error: str = ""


class Reader(Protocol):
    def newest_record(self, obs: Observation, since: dt.datetime | None) -> dt.datetime | None: ...


def observations(targets: list[Target]) -> list[Observation]:
    """One observation per watched place, however many deliveries write there."""
    out: dict[str, Observation] = {}
    for t in targets:
        if t.dest_type == "S3":
            bucket, prefix = s3_parts(str(t.resource_arn))
            key_prefix = static_prefix(prefix, t.suffix_path, t.source_account, t.source_region)
            key = f"s3://{bucket}/{key_prefix}"
            obs = out.setdefault(
                key, Observation(key, "S3", t.dest_account, t.dest_region, bucket, key_prefix)
            )
        elif t.dest_type == "CWL":
            region, account, name = log_group_parts(str(t.resource_arn))
            key = f"log group {name} ({account}/{region})"
            obs = out.setdefault(key, Observation(key, "CWL", account, region, name))
        else:
            what = "Firehose stream" if t.dest_type == "FH" else "X-Ray"
            key = f"{what} {t.resource_arn or f'{t.dest_account}/{t.dest_region}'}"
            obs = out.setdefault(key, Observation(key, t.dest_type, t.dest_account, t.dest_region, ""))
            obs.status = UNOBSERVABLE
        obs.deliveries.append(t.address)
    return sorted(out.values(), key=lambda o: o.key)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90s``, ``0.5s``, ``15m``, ``1h30m``, ``2d`` or plain seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ConfigError(f"{text!r} is not a duration like 90s, 15m or 1h30m")
    return total


def parse_since(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """``--since``: an ISO time, or a duration ago. (``apply`` is resolved by ``apply --verify``.)"""
    if text is None:
        return None
    if text == "apply":
        raise ConfigError(
            "--since apply is what `apply --verify` uses (the time the apply started); "
            "on its own give a time (2026-11-25T10:00:00Z) or a duration ago (30m)"
        )
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return now - dt.timedelta(seconds=parse_duration(text))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dataclass
class VerifyResult:
    observations: list[Observation]
    findings: list[Finding]
    seconds: float

    @property
    def exit_code(self) -> int:
        if any(o.status == UNREADABLE for o in self.observations):
            return 3
        if any(o.status in (SILENT, WAITING) for o in self.observations):
            return 2
        return 0


def run(
    reader: Reader,
    items: list[Observation],
    findings: list[Finding],
    *,
    since: dt.datetime | None,
    timeout: float,
    interval: float = 5.0,
    on_progress: Callable[[Observation, float], None] = lambda o, t: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> VerifyResult:
    start = clock()
    for o in items:
        if o.status == UNOBSERVABLE:
            on_progress(o, 0.0)
    while True:
        pending = _poll(reader, items, since, lambda o: on_progress(o, clock() - start))
        elapsed = clock() - start
        if not pending or elapsed >= timeout:
            break
        for o in pending:
            on_progress(o, elapsed)
        sleep(min(interval, max(0.0, timeout - elapsed)))
    for o in pending:
        o.status = SILENT
    related = {a for o in items if o.status == SILENT for a in o.deliveries}
    return VerifyResult(items, [f for f in findings if f.address in related], clock() - start)


def _poll(
    reader: Reader,
    items: list[Observation],
    since: dt.datetime | None,
    changed: Callable[[Observation], None],
) -> list[Observation]:
    """Look once at every waiting observation; the ones still waiting."""
    for o in [o for o in items if o.status == WAITING]:
        if _look(reader, o, since):
            changed(o)
    return [o for o in items if o.status == WAITING]


def _look(reader: Reader, o: Observation, since: dt.datetime | None) -> bool:
    """One poll of a waiting observation; True when its status changed (flowing, or unreadable)."""
    try:
        seen = reader.newest_record(o, since)
    except AwsError as exc:
        o.status, o.error = UNREADABLE, f"{exc.operation}: {exc.code}: {exc.message}"
        return True
    if seen is None:
        return False
    o.status, o.first_seen = FLOWING, seen
    return True


def progress_line(o: Observation, elapsed: float) -> str:
    n = len(o.deliveries)
    who = f"{n} deliver{'y' if n == 1 else 'ies'}"
    if o.status == FLOWING and o.first_seen is not None:
        return f"  flowing  {o.key} ({who}): record at {o.first_seen.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    if o.status == UNOBSERVABLE:
        how = (
            "its IncomingRecords metric or the data it forwards"
            if o.dest_type == "FH"
            else "the traces in CloudWatch"
        )
        return f"  cannot observe  {o.key} ({who}): not readable from the API; check {how}"
    if o.status == UNREADABLE:
        return f"  unreadable  {o.key} ({who}): {o.error}"
    return f"  waiting  {o.key} ({who}) {int(elapsed)}s"


def summary(result: VerifyResult) -> list[str]:
    lines = []
    silent = [o for o in result.observations if o.status == SILENT]
    for o in silent:
        lines.append(
            f"SILENT {o.key}: no record after {result.seconds:.0f}s; deliveries: {', '.join(o.deliveries)}"
        )
    for f in result.findings:
        lines.append(f"  ! {f.severity.value} {f.code} {f.message}")
        if f.fix:
            lines.append(f"      fix: {f.fix}")
    counts: dict[str, int] = {}
    for o in result.observations:
        counts[o.status] = counts.get(o.status, 0) + 1
    parts = [f"{counts[s]} {s}" for s in (FLOWING, SILENT, UNOBSERVABLE, UNREADABLE) if counts.get(s)]
    lines.append(
        f"Verify: {', '.join(parts) or 'nothing to verify'} ({len(result.observations)} destinations)."
    )
    return lines


def to_json(result: VerifyResult) -> dict[str, Any]:
    return {
        "exit_code": result.exit_code,
        "seconds": round(result.seconds, 1),
        "destinations": [
            {
                "watched": o.key,
                "type": o.dest_type,
                "status": o.status,
                "first_record": o.first_seen.isoformat() if o.first_seen else None,
                "deliveries": o.deliveries,
                "error": o.error or None,
            }
            for o in result.observations
        ],
        "findings": [f.to_json() for f in result.findings],
    }
