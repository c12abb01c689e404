"""The only module that talks to AWS: clients per (account, region), reading live state, and the write calls.

Reads: per scope, the three ``Describe*`` listings are paged concurrently; tags (``ListTagsForResource``, unless a
listing already carries them), destination policies and, where a listing lacks configuration, ``GetDelivery`` run on
a bounded pool, each page's reads starting as soon as the page arrives. Retries are this module's own (``_call``):
throttling, HTTP 5xx, dropped connections and the transient ``ConflictException: ... currently being updated``
(TF #42194), with backoff and jitter, under a per-operation send rate learned from throttling (``RateLimiter``).
Every botocore error is translated into ``errors.AwsError`` at this boundary. ``Lease`` is the apply lock.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.exceptions

from . import hints
from .errors import AccessDenied, AwsError, ConfigError, LockError, Unreachable
from .models import (
    HANDLE_TAG,
    OWNER_TAG,
    AccountAccess,
    Kind,
    Resource,
    is_protect_tag,
    parse_destination_arn,
    protects,
)
from .policyeval import account_of_arn, region_of_arn
from .verify import Observation
from .writepath import Facts, Read, cwl_group_arn, firehose_parts, log_group_parts, s3_parts

T = TypeVar("T")

DENIED_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
}
NOT_FOUND = "ResourceNotFoundException"
TRANSIENT_CONFLICT = "currently being updated"
THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
}
# Ownership tags for a whole scope in pages: the Resource Groups Tagging API's types for the delivery family (they
# are tag-policy resource types); a scope where the API refuses them or the caller may not call it falls back to one
# ListTagsForResource per resource. A resource missing from the pages is read with ListTagsForResource too.
TAG_PAGE_TYPES = ["logs:delivery-source", "logs:delivery-destination", "logs:delivery"]
TAG_PAGE_FALLBACK = {"InvalidParameterException", "ValidationException", *DENIED_CODES}
MAX_ATTEMPTS = 12
CALL_DEADLINE_SECONDS = 120.0
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 5.0


@dataclass
class ScopeState:
    account: str
    region: str
    resources: list[Resource] = field(default_factory=list)
    error: AwsError | None = None


# ((selector, account, region), resource type filters, tag filters)
DiscoveryJob = tuple[tuple[str, str, str], list[str], list[dict[str, Any]]]


@dataclass
class LiveState:
    scopes: dict[tuple[str, str], ScopeState]
    # (selector, account, region) -> [(resource ARN, tags)] from the tagging API (selectors.py expands them)
    discovered: dict[tuple[str, str, str], list[tuple[str, dict[str, str]]]] = field(default_factory=dict)

    @property
    def resources(self) -> list[Resource]:
        return [r for s in self.scopes.values() for r in s.resources]

    def errors(self) -> list[AwsError]:
        return [s.error for s in self.scopes.values() if s.error is not None]


def fingerprint(resource: Resource | None) -> str:
    """A digest of a live resource as read (``absent`` when it does not exist)."""
    if resource is None:
        return "absent"
    data = resource.to_json()
    data.pop("origin", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _split_tags(tags: dict[str, str]) -> tuple[dict[str, str], str | None, bool, dict[str, str], str | None]:
    user = dict(tags)
    owner = user.pop(OWNER_TAG, None)
    handle = user.pop(HANDLE_TAG, None)
    extra = {k: user.pop(k) for k in [k for k in user if is_protect_tag(k)]}
    protected = any(protects(v) for v in extra.values())
    return user, owner, protected, extra, handle


@dataclass
class _Window:
    rate: float | None = None  # requests per second; None = unlimited
    next_slot: float = 0.0
    start: float = 0.0
    attempts: int = 0
    throttles: int = 0
    successes: int = 0


class RateLimiter:
    """Send-rate limits per (account, region, operation), learned from throttling.

    Counted in one-second windows. When more than half of a window's attempts (at least 20) were throttled, the
    operation is limited to 95% of the rate that succeeded in that window (what the server let through); a window
    with under 20% throttled raises the limit by 20%, and past ``ceiling`` the operation is unlimited again. Throttling that does
    not depend on the rate (a steady minority of attempts) leaves the rate alone, so it slows nothing down, while a
    real rate limit is found within a second or two and then kept full without hammering. (botocore's adaptive mode
    shares one rate per client and, under steady random throttling, falls to 0.5 requests per second.)
    """

    def __init__(self, floor: float = 2.0, ceiling: float = 1000.0) -> None:
        self.floor, self.ceiling = floor, ceiling
        self._lock = threading.Lock()
        self._ops: dict[str, _Window] = {}

    def _roll(self, w: _Window, now: float) -> None:
        elapsed = now - w.start
        hammering = elapsed >= 0.25 and w.attempts >= 20 and w.throttles > 0.5 * w.attempts
        if elapsed < 1.0 and not hammering:
            return
        if hammering:  # judged early: a burst into a limit shows within a quarter of a second
            w.rate = max(self.floor, 0.95 * w.successes / elapsed)
        elif w.rate is not None and w.throttles < 0.2 * max(1, w.attempts):
            w.rate = None if w.rate * 1.2 > self.ceiling else w.rate * 1.2
        w.start, w.attempts, w.throttles, w.successes = now, 0, 0, 0

    def wait(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            w = self._ops.get(key)
            if w is None:
                w = self._ops[key] = _Window(start=now)
            self._roll(w, now)
            w.attempts += 1
            if w.rate is None:
                return
            slot = max(now, w.next_slot)
            w.next_slot = slot + 1.0 / w.rate
        if slot > now:
            time.sleep(slot - now)

    def throttled(self, key: str) -> None:
        with self._lock:
            self._ops[key].throttles += 1

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._ops[key].successes += 1

    def rate(self, key: str) -> float | None:
        w = self._ops.get(key)
        return w.rate if w is not None else None


class Api:
    """Clients per (account, region) and the calls the reconciler makes; thread-safe."""

    def __init__(
        self,
        accounts: dict[str, AccountAccess],
        default_region: str,
        endpoint_url: str | None = None,
        read_concurrency: int = 32,
        tag_pages: bool = True,
        list_concurrency: int = 48,
        connect_timeout: float = 5.0,
        unreachable_seconds: float = 30.0,
    ) -> None:
        self.list_concurrency = list_concurrency
        self.accounts = accounts
        self.tag_pages = tag_pages
        self.default_region = default_region
        self.endpoint_url = endpoint_url or None
        self.read_concurrency = read_concurrency
        self.connect_timeout = connect_timeout
        self.unreachable_seconds = unreachable_seconds
        self.expected_account: str | None = (
            None  # the project's account, named when the caller is unreachable
        )
        self.on_scope: Callable[[ScopeState, int, int], None] | None = None  # progress: (scope, done, total)
        self._down_since: float | None = None  # first connection failure since the last success
        self._abort_at: float | None = None  # interrupted: no call (or retry) starts after this
        self._config = botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": 1},  # retries are ours: see _call
            max_pool_connections=max(read_concurrency, 10),
            connect_timeout=connect_timeout,
            read_timeout=60,
            user_agent_extra="reconciler",
        )
        self.limiter = RateLimiter()
        self._lock = threading.Lock()
        self._session_lock = threading.RLock()
        self._sessions: dict[str, tuple[boto3.Session, dict[str, str]]] = {}
        self._account_locks: dict[str, threading.Lock] = {}
        self._base: boto3.Session | None = None
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._caller: str | None = None
        self.calls: Counter[str] = Counter()  # HTTP requests per operation, retries included
        self._policy_reads: dict[tuple[str, str], Future[list[tuple[str, str]]]] = {}

    # ---- sessions and clients
    def _base_session(self) -> boto3.Session:
        """One session for the default credential chain; clients for assumed roles reuse its loaders."""
        with self._lock:
            if self._base is None:
                try:
                    self._base = boto3.Session()
                except botocore.exceptions.ProfileNotFound as exc:
                    raise ConfigError(
                        profile_not_found(str(exc.kwargs.get("profile", "")), "AWS_PROFILE")
                    ) from None
            return self._base

    def _sts(self) -> Any:
        """One STS client for every AssumeRole (a client per account cost a client's construction each)."""
        with self._lock:
            client = self._clients.get(("", self.default_region, "sts"))
        if client is None:
            client = self._raw_client(self._base_session(), "sts", self.default_region)
            with self._lock:
                client = self._clients.setdefault(("", self.default_region, "sts"), client)
        return client

    def caller_account(self) -> str:
        with self._session_lock:
            return self._caller_account()

    def _caller_account(self) -> str:
        if self._caller is None:
            sts = self._raw_client(self._base_session(), "sts", self.default_region)
            ident = self._call(
                sts.get_caller_identity,
                "GetCallerIdentity",
                "caller",
                service="sts",
                account=self.expected_account or "the default credentials' account",
            )
            self._caller = str(ident["Account"])
        return self._caller

    def _raw_client(
        self, session: boto3.Session, service: str, region: str, creds: dict[str, str] | None = None
    ) -> Any:
        client = session.client(
            service, region_name=region, endpoint_url=self.endpoint_url, config=self._config, **(creds or {})
        )
        client.meta.events.register("before-send", lambda request, **kw: self._count_request(request))
        return client

    def _count_request(self, request: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        op = target.split(".", 1)[1] if "." in target else "other"
        if op == "other" and request.body:
            body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
            for part in body.split(b"&"):
                if part.startswith(b"Action="):
                    op = part[7:].decode()
        with self._lock:
            self.calls[op] += 1

    def session_for(self, account: str) -> tuple[boto3.Session, dict[str, str]]:
        """The session (and explicit credentials, for an assumed role) that reaches an account."""
        with self._lock:
            cached = self._sessions.get(account)
        if cached is not None:
            return cached
        with self._lock:
            account_lock = self._account_locks.setdefault(account, threading.Lock())
        with account_lock:  # one AssumeRole per account, however many threads ask; accounts in parallel
            with self._lock:
                cached = self._sessions.get(account)
            if cached is not None:
                return cached
            return self._new_session(account)

    def _new_session(self, account: str) -> tuple[boto3.Session, dict[str, str]]:
        access = self.accounts.get(account)
        creds: dict[str, str] = {}
        if access is not None and access.profile:
            try:
                session = boto3.Session(profile_name=access.profile)
            except botocore.exceptions.ProfileNotFound:
                raise ConfigError(
                    f"accounts.{account}.profile: {profile_not_found(access.profile, 'the project file')}"
                ) from None
        elif access is not None and access.roleArn:
            sts = self._sts()
            kwargs: dict[str, Any] = {"RoleArn": access.roleArn, "RoleSessionName": "reconciler"}
            if access.externalId:
                kwargs["ExternalId"] = access.externalId
            out = self._call(
                lambda: sts.assume_role(**kwargs),
                "AssumeRole",
                f"{access.roleArn} (account {account})",
                service="sts",
                account=account,
            )["Credentials"]
            session = self._base_session()
            creds = {
                "aws_access_key_id": out["AccessKeyId"],
                "aws_secret_access_key": out["SecretAccessKey"],
                "aws_session_token": out["SessionToken"],
            }
        else:
            caller = self.caller_account()
            if caller != account:
                raise AccessDenied(
                    "AssumeRole",
                    f"account {account}",
                    "NoAccess",
                    f"the credentials are for account {caller}; add accounts.{account}.roleArn or profile to the "
                    "project file",
                )
            session = self._base_session()
        with self._lock:
            self._sessions.setdefault(account, (session, creds))
            return self._sessions[account]

    def logs(self, account: str, region: str) -> Any:
        return self.client("logs", account, region)

    def client(self, service: str, account: str, region: str) -> Any:
        key = (account, region, service)
        with self._lock:
            client = self._clients.get(key)
        if client is None:
            session, creds = self.session_for(account)
            client = self._raw_client(session, service, region, creds)
            with self._lock:
                client = self._clients.setdefault(key, client)
        return client

    # ---- error boundary
    def _call(
        self,
        fn: Callable[[], T],
        operation: str,
        resource: str,
        limit_key: str | None = None,
        *,
        service: str | None = None,
        account: str | None = None,
    ) -> T:
        """One API call with this project's retry policy; botocore's own retries are off.

        Retried with full-jitter exponential backoff, within ``CALL_DEADLINE_SECONDS``: throttling, HTTP 5xx,
        dropped connections and timeouts, and the transient ``ConflictException ... currently being updated``
        (TF #42194). Each attempt first waits for the send-rate limit of its (account, region, operation), which
        learns from throttling (``RateLimiter``). Anything else, or the last failure, becomes an ``AwsError``.
        """
        deadline = time.monotonic() + CALL_DEADLINE_SECONDS
        attempt = 0
        while True:
            attempt += 1
            if self._abort_at is not None:
                deadline = min(deadline, self._abort_at)
                if time.monotonic() >= self._abort_at:
                    raise AwsError(operation, resource, "Interrupted", "not sent: the apply was interrupted")
            if limit_key is not None:
                self.limiter.wait(limit_key)
            try:
                result = fn()
            except botocore.exceptions.ClientError as exc:
                err = exc.response.get("Error", {})
                code = str(err.get("Code", "Unknown"))
                message = str(err.get("Message", ""))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                throttled = code in THROTTLING_CODES
                if limit_key is not None and throttled:
                    self.limiter.throttled(limit_key)
                transient = (
                    throttled
                    or status >= 500
                    or (code == "ConflictException" and TRANSIENT_CONFLICT in message)
                )
                if transient and attempt < MAX_ATTEMPTS and time.monotonic() < deadline:
                    self._backoff(attempt, deadline)
                    continue
                cls = AccessDenied if code in DENIED_CODES else AwsError
                raise cls(operation, resource, code, message) from exc
            except botocore.exceptions.NoCredentialsError as exc:
                raise AccessDenied(operation, resource, "NoCredentials", "no AWS credentials found") from exc
            except botocore.exceptions.EndpointConnectionError as exc:  # also ConnectTimeoutError
                # the endpoint cannot be reached at all: retried while it has been down for less than
                # ``unreachable_seconds`` in all (shared by every call), then one line naming it
                if self._still_trying() and attempt < MAX_ATTEMPTS and time.monotonic() < deadline:
                    self._backoff(attempt, min(deadline, self._down_until()))
                    continue
                where = account or (limit_key.split("/", 1)[0] if limit_key else resource)
                raise Unreachable(
                    operation,
                    resource,
                    endpoint=self.endpoint_url or _endpoint_of(exc),
                    reason=_connection_reason(exc),
                    service=service or _service_of(fn) or "logs",
                    account=where,
                    configured=self.endpoint_url is not None,
                ) from exc
            except (
                botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError,
            ) as exc:
                if attempt < MAX_ATTEMPTS and time.monotonic() < deadline:
                    self._backoff(attempt, deadline)
                    continue
                raise AwsError(operation, resource, "ConnectionError", str(exc)) from exc
            except botocore.exceptions.BotoCoreError as exc:
                raise AwsError(operation, resource, type(exc).__name__, str(exc)) from exc
            if limit_key is not None:
                self.limiter.succeeded(limit_key)
            self._down_since = None
            return result

    def interrupt(self, grace: float) -> None:
        """After ``grace`` seconds no call or retry starts (calls already sent still finish)."""
        if self._abort_at is None:
            self._abort_at = time.monotonic() + grace

    def _down_until(self) -> float:
        since = self._down_since
        return (since if since is not None else time.monotonic()) + self.unreachable_seconds

    def _still_trying(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._down_since is None:
                self._down_since = now
            return now - self._down_since < self.unreachable_seconds

    @staticmethod
    def _backoff(attempt: int, deadline: float) -> None:
        delay = random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))
        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))

    def call(self, account: str, region: str, operation: str, resource: str, **params: Any) -> Any:
        client = self.logs(account, region)
        method = getattr(client, _snake(operation))
        return self._call(lambda: method(**params), operation, resource, f"{account}/{region}/{operation}")

    def call_service(
        self, service: str, account: str, region: str, operation: str, resource: str, **params: Any
    ) -> Any:
        """A call to another service (S3, KMS, Firehose, X-Ray) through the same retries and rate limits."""
        client = self.client(service, account, region)
        method = getattr(client, _snake(operation))
        return self._call(
            lambda: method(**params), operation, resource, f"{account}/{region}/{service}/{operation}"
        )

    # ---- the destination write path (writepath.py evaluates what these read)
    def read_write_paths(self, reads: Iterable[Read], concurrency: int | None = None) -> dict[str, Facts]:
        """Read, once per destination resource and in its account, what decides whether delivery may write (as many
        at once as the live read's resource reads, so the check ends within the live read it runs beside)."""
        items = list(reads)
        if not items:
            return {}
        with self._lock:
            self._policy_reads.clear()  # fresh for each plan's reads
        workers = concurrency or self.read_concurrency
        with ThreadPoolExecutor(
            max_workers=max(1, min(workers, len(items))), thread_name_prefix="grant"
        ) as pool:
            return dict(zip([r.key for r in items], pool.map(self.read_write_path, items), strict=True))

    def read_write_path(self, read: Read) -> Facts:
        facts = Facts(read.key)
        reader = {
            "S3": self._facts_s3,
            "CWL": self._facts_cwl,
            "FH": self._facts_fh,
            "XRAY": self._facts_xray,
        }
        try:
            reader[read.dest_type](read, facts)
        except AwsError as exc:
            facts.unreadable.append(f"{exc.operation}: {exc.code}: {exc.message}"[:300])
        return facts

    def _facts_s3(self, read: Read, facts: Facts) -> None:
        bucket, _ = s3_parts(str(read.resource_arn))
        acct, region = read.account, read.region
        try:
            out = self.call_service("s3", acct, region, "GetBucketPolicy", f"bucket {bucket}", Bucket=bucket)
            facts.bucket_policy = str(out.get("Policy") or "") or None
        except AwsError as exc:
            if exc.code == "NoSuchBucket":
                facts.exists = False
                return
            if exc.code != "NoSuchBucketPolicy":
                raise
        try:
            enc = self.call_service(
                "s3", acct, region, "GetBucketEncryption", f"bucket {bucket}", Bucket=bucket
            )
            rules = enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            default = (rules[0] if rules else {}).get("ApplyServerSideEncryptionByDefault", {})
            facts.sse_algorithm = default.get("SSEAlgorithm")
            facts.kms_key = default.get("KMSMasterKeyID")
        except AwsError as exc:
            if exc.code not in ("ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucket"):
                raise
        key = facts.kms_key
        if facts.sse_algorithm not in ("aws:kms", "aws:kms:dsse") or not key or key.endswith("alias/aws/s3"):
            return
        key_account = account_of_arn(key) or acct
        key_region = region_of_arn(key) or region
        try:
            meta = self.call_service("kms", key_account, key_region, "DescribeKey", f"key {key}", KeyId=key)
            facts.kms_key_manager = meta.get("KeyMetadata", {}).get("KeyManager")
            if facts.kms_key_manager == "AWS":
                return
            key_id = meta.get("KeyMetadata", {}).get("Arn", key)
            pol = self.call_service(
                "kms",
                key_account,
                key_region,
                "GetKeyPolicy",
                f"key {key}",
                KeyId=key_id,
                PolicyName="default",
            )
            facts.kms_key_policy = str(pol.get("Policy") or "{}")
        except AwsError as exc:
            facts.unreadable.append(f"{exc.operation} {key}: {exc.code}")

    def _facts_cwl(self, read: Read, facts: Facts) -> None:
        _, _, name = log_group_parts(str(read.resource_arn))
        acct, region = read.account, read.region
        groups = self.call_service(
            "logs", acct, region, "DescribeLogGroups", f"log group {name}", logGroupNamePrefix=name, limit=50
        )
        facts.exists = any(g.get("logGroupName") == name for g in groups.get("logGroups", []))
        if not facts.exists:
            return
        facts.cwl_policies = list(self._account_policies(acct, region))
        group = cwl_group_arn(str(read.resource_arn))
        own = self.call_service(
            "logs", acct, region, "DescribeResourcePolicies", f"log group {name}",
            resourceArn=group, policyScope="RESOURCE",
        )  # fmt: skip
        facts.cwl_group_policies = [
            (str(p.get("policyName")), str(p.get("policyDocument") or ""))
            for p in own.get("resourcePolicies", [])
        ]

    def _account_policies(self, account: str, region: str) -> list[tuple[str, str]]:
        """The account-level resource policies of a region, read once per plan however many log groups need them."""
        with self._lock:
            fut = self._policy_reads.get((account, region))
            owner = fut is None
            if fut is None:
                fut = self._policy_reads[(account, region)] = Future()
        if not owner:
            return fut.result()
        try:
            out: list[tuple[str, str]] = []
            token: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 50}
                if token:
                    params["nextToken"] = token
                page = self.call_service(
                    "logs", account, region, "DescribeResourcePolicies", f"{account}/{region}", **params
                )
                out += [
                    (str(p.get("policyName")), str(p.get("policyDocument") or ""))
                    for p in page.get("resourcePolicies", [])
                ]
                token = page.get("nextToken")
                if not token:
                    break
        except BaseException as exc:
            fut.set_exception(exc)
            with self._lock:
                self._policy_reads.pop((account, region), None)
            raise
        fut.set_result(out)
        return out

    def _facts_fh(self, read: Read, facts: Facts) -> None:
        _, _, name = firehose_parts(str(read.resource_arn))
        acct, region = read.account, read.region
        try:
            out = self.call_service(
                "firehose", acct, region, "DescribeDeliveryStream", f"stream {name}", DeliveryStreamName=name
            )
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                facts.exists = False
                return
            raise
        facts.stream_type = out.get("DeliveryStreamDescription", {}).get("DeliveryStreamType")
        tags = self.call_service(
            "firehose", acct, region, "ListTagsForDeliveryStream", f"stream {name}", DeliveryStreamName=name
        )
        facts.stream_tags = {t["Key"]: t.get("Value", "") for t in tags.get("Tags", [])}

    def _facts_xray(self, read: Read, facts: Facts) -> None:
        acct, region = read.account, read.region
        dest = self.call_service("xray", acct, region, "GetTraceSegmentDestination", f"{acct}/{region}")
        facts.xray_destination, facts.xray_status = dest.get("Destination"), dest.get("Status")
        token: str | None = None
        while True:
            params = {"NextToken": token} if token else {}
            page = self.call_service(
                "xray", acct, region, "ListResourcePolicies", f"{acct}/{region}", **params
            )
            facts.xray_policies += [
                str(p.get("PolicyDocument") or "") for p in page.get("ResourcePolicies", [])
            ]
            token = page.get("NextToken")
            if not token:
                return

    # ---- verify: has a destination received a record?
    def newest_record(self, obs: Observation, since: datetime.datetime | None) -> datetime.datetime | None:
        """The time of a record at the watched place newer than ``since`` (any record when None), or None."""
        if obs.dest_type == "S3":
            params: dict[str, Any] = {"Bucket": obs.resource, "Prefix": obs.prefix, "MaxKeys": 1000}
            for _ in range(20):  # 20,000 keys at most per poll
                page = self.call_service(
                    "s3",
                    obs.account,
                    obs.region,
                    "ListObjectsV2",
                    f"s3://{obs.resource}/{obs.prefix}",
                    **params,
                )
                for item in page.get("Contents", []):
                    when = item.get("LastModified")
                    if when is not None and (since is None or when >= since):
                        return when  # type: ignore[no-any-return]
                if not page.get("IsTruncated"):
                    return None
                params["ContinuationToken"] = page["NextContinuationToken"]
            return None
        if obs.dest_type == "CWL":
            out = self.call_service(
                "logs", obs.account, obs.region, "DescribeLogStreams", f"log group {obs.resource}",
                logGroupName=obs.resource, orderBy="LastEventTime", descending=True, limit=5,
            )  # fmt: skip
            for stream in out.get("logStreams", []):
                stamp = stream.get("lastEventTimestamp") or stream.get("lastIngestionTime")
                if stamp:
                    when = datetime.datetime.fromtimestamp(stamp / 1000, datetime.UTC)
                    if since is None or when >= since:
                        return when
            return None
        return None

    # ---- reads
    def _iter_pages(
        self, account: str, region: str, operation: str, key: str, **params: Any
    ) -> Iterator[list[dict[str, Any]]]:
        token: str | None = None
        while True:
            extra = dict(params)
            if token:
                extra["nextToken"] = token
            page = self.call(account, region, operation, f"{account}/{region}", limit=50, **extra)
            yield list(page.get(key, []))
            token = page.get("nextToken")
            if not token:
                return

    def _pages(
        self, account: str, region: str, operation: str, key: str, **params: Any
    ) -> list[dict[str, Any]]:
        return [item for page in self._iter_pages(account, region, operation, key, **params) for item in page]

    def discover(
        self, account: str, region: str, resource_types: list[str], tag_filters: list[dict[str, Any]]
    ) -> list[tuple[str, dict[str, str]]]:
        """Resources of the given types carrying the given tags in one scope: ``GetResources``, 100 per page."""
        client = self.client("resourcegroupstaggingapi", account, region)
        out: list[tuple[str, dict[str, str]]] = []
        token = ""
        while True:
            params: dict[str, Any] = {"ResourcesPerPage": 100, "ResourceTypeFilters": resource_types}
            if tag_filters:
                params["TagFilters"] = tag_filters
            if token:
                params["PaginationToken"] = token
            page: dict[str, Any] = self._call(
                functools.partial(client.get_resources, **params),
                "GetResources",
                f"{account}/{region}",
                f"{account}/{region}/GetResources",
            )
            for item in page.get("ResourceTagMappingList", []):
                out.append((item["ResourceARN"], {t["Key"]: t["Value"] for t in item.get("Tags", [])}))
            token = page.get("PaginationToken") or ""
            if not token:
                return out

    def discover_all(
        self, jobs: list[DiscoveryJob]
    ) -> dict[tuple[str, str, str], list[tuple[str, dict[str, str]]]]:
        """Run discovery jobs concurrently (the first error is raised)."""
        with ThreadPoolExecutor(max_workers=self.read_concurrency, thread_name_prefix="discover") as pool:
            futs = {
                key: pool.submit(self.discover, key[1], key[2], rtypes, tags) for key, rtypes, tags in jobs
            }
            return {key: fut.result() for key, fut in futs.items()}

    def read_templates(
        self, keys: Iterable[tuple[str, str, str, str, str]]
    ) -> tuple[
        dict[tuple[str, str, str, str, str], list[dict[str, Any]]], dict[tuple[str, str, str, str, str], str]
    ]:
        """DescribeConfigurationTemplates once per (account, region, service, log type, destination type), pages
        concurrently; returns (answers, failures): a failed key carries its error code, never raises."""
        key_list = sorted(set(keys))
        answers: dict[tuple[str, str, str, str, str], list[dict[str, Any]]] = {}
        failures: dict[tuple[str, str, str, str, str], str] = {}
        if not key_list:
            return answers, failures

        def one(key: tuple[str, str, str, str, str]) -> list[dict[str, Any]]:
            account, region, service, log_type, dest_type = key
            return self._pages(
                account,
                region,
                "DescribeConfigurationTemplates",
                "configurationTemplates",
                service=service,
                logTypes=[log_type],
                deliveryDestinationTypes=[dest_type],
            )

        with ThreadPoolExecutor(max_workers=min(8, len(key_list)), thread_name_prefix="templates") as pool:
            futures = {key: pool.submit(one, key) for key in key_list}
            for key, fut in futures.items():
                try:
                    answers[key] = fut.result()
                except AwsError as exc:
                    failures[key] = exc.code
        return answers, failures

    def read_live(
        self, scopes: Iterable[tuple[str, str]], discover: list[DiscoveryJob] | None = None
    ) -> LiveState:
        """Read every (account, region) scope concurrently; a scope that fails carries its error.

        Per scope, the three listings page concurrently, and each page's per-resource reads (tags, policies,
        ``GetDelivery``) start as soon as the page arrives, on one bounded pool.
        """
        scope_list = sorted(set(scopes))
        state = LiveState({s: ScopeState(*s) for s in scope_list})
        jobs: dict[tuple[str, str], list[Future[Resource | None]]] = {s: [] for s in scope_list}
        lock = threading.Lock()
        handlers: dict[str, Callable[[str, str, dict[str, Any]], Resource | None]] = {
            "sources": self._source,
            "destinations": self._destination,
            "deliveries": self._delivery,
        }
        with (
            ThreadPoolExecutor(
                max_workers=max(1, min(3 * len(scope_list), self.list_concurrency)), thread_name_prefix="list"
            ) as lister,
            ThreadPoolExecutor(max_workers=self.read_concurrency, thread_name_prefix="read") as reader,
        ):
            tag_maps = {s: reader.submit(self._tag_map, *s) for s in scope_list} if self.tag_pages else {}

            def listing(scope: tuple[str, str], what: str) -> None:
                account, region = scope
                op, key = _LISTINGS[what]
                for items in self._iter_pages(account, region, op, key):
                    tag_map = tag_maps[scope].result() if scope in tag_maps else None
                    if tag_map:
                        items = [
                            {**i, "tags": tag_map[i["arn"]]} if i.get("arn") in tag_map else i for i in items
                        ]
                    futs = [reader.submit(handlers[what], account, region, item) for item in items]
                    if what == "destinations":
                        futs += [
                            reader.submit(self._policy, account, region, i["name"], i["arn"]) for i in items
                        ]
                    with lock:
                        jobs[scope].extend(futs)

            listings = {(s, w): lister.submit(listing, s, w) for s in scope_list for w in handlers}
            found = {
                key: reader.submit(self.discover, key[1], key[2], rtypes, tags)
                for key, rtypes, tags in discover or []
                if (key[1], key[2]) in state.scopes
            }
            for key, dfut in found.items():
                try:
                    state.discovered[key] = dfut.result()
                except AwsError as exc:
                    scope_state = state.scopes[(key[1], key[2])]
                    scope_state.error = scope_state.error or exc
            for done, scope in enumerate(
                scope_list, 1
            ):  # a scope is complete once its listings and reads are
                for what in handlers:
                    try:
                        listings[(scope, what)].result()
                    except AwsError as exc:
                        state.scopes[scope].error = state.scopes[scope].error or exc
                resources: list[Resource] = []
                for job in jobs[scope]:
                    try:
                        r = job.result()
                    except AwsError as exc:
                        state.scopes[scope].error = state.scopes[scope].error or exc
                        continue
                    if r is not None:
                        resources.append(r)
                if state.scopes[scope].error is None:
                    state.scopes[scope].resources = _with_policy_owners(resources)
                if self.on_scope is not None:
                    self.on_scope(state.scopes[scope], done, len(scope_list))
        return state

    def _tag_map(self, account: str, region: str) -> dict[str, dict[str, str]] | None:
        """ARN -> tags of the scope's delivery-family resources, from the tagging API's pages (None: not usable)."""
        try:
            return dict(self.discover(account, region, TAG_PAGE_TYPES, []))
        except AwsError as exc:
            if exc.code in TAG_PAGE_FALLBACK:
                return None
            raise

    def _tags(self, account: str, region: str, item: dict[str, Any]) -> dict[str, str] | None:
        if "tags" in item:
            return dict(item["tags"] or {})
        try:
            out = self.call(account, region, "ListTagsForResource", item["arn"], resourceArn=item["arn"])
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return None  # deleted between listing and tag read
            raise
        return dict(out.get("tags", {}))

    def _source(self, account: str, region: str, item: dict[str, Any]) -> Resource | None:
        tags = self._tags(account, region, item)
        if tags is None:
            return None
        return source_from_api(account, region, item, tags)

    def _destination(self, account: str, region: str, item: dict[str, Any]) -> Resource | None:
        tags = self._tags(account, region, item)
        if tags is None:
            return None
        return destination_from_api(account, region, item, tags)

    def _policy(self, account: str, region: str, name: str, arn: str) -> Resource | None:
        try:
            out = self.call(
                account, region, "GetDeliveryDestinationPolicy", name, deliveryDestinationName=name
            )
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        return policy_from_api(account, region, name, arn, out)

    def _delivery(self, account: str, region: str, item: dict[str, Any]) -> Resource | None:
        if "recordFields" not in item or "deliveryDestinationType" not in item:
            known = {"tags": item["tags"]} if "tags" in item else {}
            try:  # DescribeDeliveries may omit configuration (aws-cli #10002)
                item = {
                    **self.call(account, region, "GetDelivery", item["id"], id=item["id"])["delivery"],
                    **known,
                }
            except AwsError as exc:
                if exc.code == NOT_FOUND:
                    return None
                raise
        tags = self._tags(account, region, item)
        if tags is None:
            return None
        return delivery_from_api(account, region, item, tags)

    def read_one(
        self, kind: Kind, account: str, region: str, name: str, delivery_id: str | None = None
    ) -> Resource | None:
        """Re-read one resource (None when it does not exist)."""
        try:
            if kind is Kind.SOURCE:
                item = self.call(account, region, "GetDeliverySource", name, name=name)["deliverySource"]
                tags = self._tags(account, region, item)
                return None if tags is None else source_from_api(account, region, item, tags)
            if kind is Kind.DESTINATION:
                item = self.call(account, region, "GetDeliveryDestination", name, name=name)[
                    "deliveryDestination"
                ]
                tags = self._tags(account, region, item)
                return None if tags is None else destination_from_api(account, region, item, tags)
            if kind is Kind.POLICY:
                arn = f"arn:aws:logs:{region}:{account}:delivery-destination:{name}"
                return self._policy(account, region, name, arn)
            assert delivery_id is not None
            item = self.call(account, region, "GetDelivery", delivery_id, id=delivery_id)["delivery"]
            tags = self._tags(account, region, item)
            return None if tags is None else delivery_from_api(account, region, item, tags)
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    # ---- AWS Organizations (accounts.fromOrganization)
    def _org(self) -> Any:
        with self._lock:
            client = self._clients.get(("", "us-east-1", "organizations"))
        if client is None:  # a global service: its endpoint is us-east-1; the caller's own credentials
            client = self._raw_client(self._base_session(), "organizations", "us-east-1")
            with self._lock:
                client = self._clients.setdefault(("", "us-east-1", "organizations"), client)
        return client

    def _org_pages(self, operation: str, key: str, resource: str, **params: Any) -> list[dict[str, Any]]:
        method = getattr(self._org(), _snake(operation))
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            extra: dict[str, Any] = {**params, **({"NextToken": token} if token else {})}
            page: dict[str, Any] = self._call(
                functools.partial(method, **extra), operation, resource, f"org/{operation}"
            )
            items.extend(page.get(key, []))
            token = page.get("NextToken")
            if not token:
                return items

    def organization_accounts(self, parents: list[str], tags: dict[str, str]) -> list[dict[str, Any]]:
        """The ACTIVE accounts under the given roots/OUs (recursively), with the given account tags.

        ``ListAccountsForParent`` and ``ListChildren`` per parent, every parent of a level at once; then
        ``ListTagsForResource`` per account when ``tags`` filter. Returns ``{"Id", "Name", "Parent"}`` dicts sorted
        by id. Called with the caller's credentials: the management or a delegated administrator account.
        """
        found: dict[str, dict[str, Any]] = {}
        with ThreadPoolExecutor(max_workers=16, thread_name_prefix="org") as pool:
            level = list(dict.fromkeys(parents))
            seen = set(level)
            while level:
                accounts = {p: pool.submit(self._org_pages, "ListAccountsForParent", "Accounts", p, ParentId=p)
                            for p in level}  # fmt: skip
                children = {p: pool.submit(self._org_pages, "ListChildren", "Children", p, ParentId=p,
                                           ChildType="ORGANIZATIONAL_UNIT") for p in level}  # fmt: skip
                nxt: list[str] = []
                for p in level:
                    for acct in accounts[p].result():
                        state = acct.get("State") or acct.get("Status")
                        if state == "ACTIVE":
                            found.setdefault(str(acct["Id"]), {"Id": str(acct["Id"]), "Name": acct.get("Name", ""),
                                                               "Parent": p})  # fmt: skip
                    for child in children[p].result():
                        if child["Id"] not in seen:
                            seen.add(child["Id"])
                            nxt.append(child["Id"])
                level = nxt
            if tags:
                ids = sorted(found)
                account_tags = pool.map(
                    lambda i: {t["Key"]: t["Value"] for t in self._org_pages("ListTagsForResource", "Tags", i,
                                                                              ResourceId=i)}, ids)  # fmt: skip
                for i, have in zip(ids, account_tags, strict=True):
                    if any(have.get(k) != v for k, v in tags.items()):
                        del found[i]
        return [found[i] for i in sorted(found)]

    def find_delivery(
        self, account: str, region: str, source: str, destination_arn: str
    ) -> dict[str, Any] | None:
        """The live delivery pairing source and destination, if any (so a re-run never creates a duplicate)."""
        items = self._pages(account, region, "DescribeDeliveries", "deliveries", deliverySourceNames=[source])
        for item in items:
            if (
                item.get("deliverySourceName") == source
                and item.get("deliveryDestinationArn") == destination_arn
            ):
                return item
        return None


def profile_not_found(profile: str, source: str) -> str:
    """The one line for a named profile that does not exist, naming where profiles are read from."""
    import os

    config = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    creds = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    return (
        f"AWS profile {profile!r} (from {source}) is not defined in {config} or {creds} "
        "(AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE); `aws configure list-profiles` lists the defined ones"
    )


def _endpoint_of(exc: botocore.exceptions.EndpointConnectionError) -> str:
    url = str(exc.kwargs.get("endpoint_url", "the AWS endpoint"))
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.split('/', 1)[0]}" if sep else url


def _connection_reason(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ConnectTimeoutError):
        return "connect timed out"
    text = str(getattr(exc, "kwargs", {}).get("error", exc)).lower()
    for needle, reason in (
        ("refused", "connection refused"),
        ("name or service not known", "host name not resolved"),
        ("nodename nor servname", "host name not resolved"),
        ("temporary failure in name resolution", "host name not resolved"),
        ("network is unreachable", "network unreachable"),
        ("no route to host", "no route to host"),
        ("timed out", "connect timed out"),
    ):
        if needle in text:
            return reason
    return "connection failed"


def _service_of(fn: Any) -> str | None:
    owner = getattr(fn, "__self__", None)
    model = getattr(getattr(owner, "meta", None), "service_model", None)
    name = getattr(model, "endpoint_prefix", None)
    return name if isinstance(name, str) else None


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region in botocore's partition data (``partitions.json``): what ``validate`` accepts as a region."""
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("partitions")
    return frozenset(
        region
        for partition in data["partitions"]
        for region in partition.get("regions", {})
        if not region.endswith("-global")
    )


def region_problem(region: str) -> str | None:
    """Why ``region`` is not an AWS region (a one-line message with the closest names), or None when it is one."""
    regions = known_regions()
    if region in regions:
        return None
    import botocore

    hint = hints.did_you_mean(region, regions)
    return f"{region!r} is not an AWS region (botocore {botocore.__version__} partition data){hint}"


def _with_policy_owners(resources: list[Resource]) -> list[Resource]:
    """A policy has no tags of its own: it carries its destination's ownership and protection."""
    owners = {r.name: r for r in resources if r.kind is Kind.DESTINATION}
    for r in resources:
        if r.kind is Kind.POLICY and r.name in owners:
            r.owner, r.protected = owners[r.name].owner, owners[r.name].protected
    return resources


class Lease:
    """The apply lock: one item in a DynamoDB table (hash key ``LockID``), held with an expiring lease.

    Acquired with a conditional put (absent, or expired); renewed by a heartbeat thread every third of the lease;
    released with a conditional delete on the holder's id. ``force_release`` is ``reconciler unlock ID``.
    """

    def __init__(
        self, api: Api, table: str, account: str, region: str, project: str, lease_seconds: int
    ) -> None:
        self.api = api
        self.table = table
        self.account = account
        self.region = region
        self.key = {"LockID": {"S": f"reconciler/{project}"}}
        self.project = project
        self.lease = lease_seconds
        self.id = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _ddb(self) -> Any:
        return self.api.client("dynamodb", self.account, self.region)

    def _op(self, operation: str, fn: Callable[[], T]) -> T:
        return self.api._call(
            fn, operation, f"dynamodb table {self.table}", service="dynamodb", account=self.account
        )

    def holder(self) -> dict[str, str] | None:
        item = self._op(
            "GetItem", lambda: self._ddb().get_item(TableName=self.table, Key=self.key, ConsistentRead=True)
        )
        found = item.get("Item")
        if not found:
            return None
        return {k: next(iter(v.values())) for k, v in found.items()}

    def acquire(self, who: str) -> None:
        now = int(time.time())
        item = {
            **self.key,
            "id": {"S": self.id},
            "holder": {"S": who},
            "acquired": {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))},
            "expires": {"N": str(now + self.lease)},
        }
        try:
            self._op(
                "PutItem",
                lambda: self._ddb().put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(LockID) OR expires < :now",
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                ),
            )
        except AwsError as exc:
            if exc.code != "ConditionalCheckFailedException":
                raise
            held = self.holder() or {}
            until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(held.get("expires", "0"))))
            raise LockError(
                f"the apply lock of project {self.project!r} is held by {held.get('holder', '?')} since "
                f"{held.get('acquired', '?')} (until {until}, lock id {held.get('id', '?')}); "
                f"if it is stale, release it with `reconciler unlock {held.get('id', '?')}`"
            ) from None
        self._thread = threading.Thread(target=self._heartbeat, daemon=True, name="lock-heartbeat")
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(max(1.0, self.lease / 3)):
            expires = str(int(time.time()) + self.lease)
            try:
                self._op(
                    "UpdateItem",
                    lambda expires=expires: self._ddb().update_item(  # type: ignore[misc]
                        TableName=self.table,
                        Key=self.key,
                        UpdateExpression="SET expires = :e",
                        ConditionExpression="id = :id",
                        ExpressionAttributeValues={":e": {"N": expires}, ":id": {"S": self.id}},
                    ),
                )
            except AwsError:
                return  # lost or unreachable: the lease runs out on its own

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.force_release(self.id, quiet=True)

    def force_release(self, lock_id: str, quiet: bool = False) -> None:
        try:
            self._op(
                "DeleteItem",
                lambda: self._ddb().delete_item(
                    TableName=self.table,
                    Key=self.key,
                    ConditionExpression="id = :id",
                    ExpressionAttributeValues={":id": {"S": lock_id}},
                ),
            )
        except AwsError as exc:
            if quiet:
                return  # the lease runs out on its own
            if exc.code == "ConditionalCheckFailedException":
                raise LockError(f"no lock with id {lock_id} is held for project {self.project!r}") from None
            raise


_LISTINGS = {
    "sources": ("DescribeDeliverySources", "deliverySources"),
    "destinations": ("DescribeDeliveryDestinations", "deliveryDestinations"),
    "deliveries": ("DescribeDeliveries", "deliveries"),
}


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


# ---- API shapes -> Resource (normalised) ---------------------------------------------------------------------


def source_from_api(account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
    user, owner, protected, extra, _ = _split_tags(tags)
    arns = item.get("resourceArns") or [""]
    return Resource(
        Kind.SOURCE,
        account,
        region,
        item["name"],
        {
            "resourceArn": arns[0],
            "logType": item.get("logType"),
            "deliverySourceConfiguration": dict(item.get("deliverySourceConfiguration") or {}),
        },
        tags=user,
        arn=item.get("arn"),
        owner=owner,
        protected=protected,
        extra_tags=extra,
    )


def destination_from_api(account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
    user, owner, protected, extra, _ = _split_tags(tags)
    config = item.get("deliveryDestinationConfiguration") or {}
    return Resource(
        Kind.DESTINATION,
        account,
        region,
        item["name"],
        {
            "deliveryDestinationType": item.get("deliveryDestinationType"),
            "outputFormat": item.get("outputFormat"),
            "destinationResourceArn": config.get("destinationResourceArn"),
            "roleArn": item.get("roleArn"),
        },
        tags=user,
        arn=item.get("arn"),
        owner=owner,
        protected=protected,
        extra_tags=extra,
    )


def policy_from_api(account: str, region: str, name: str, arn: str, out: dict[str, Any]) -> Resource | None:
    text = (out.get("policy") or {}).get("deliveryDestinationPolicy")
    if not text:
        return None  # {"policy": {}} after a delete means no policy (LS)
    try:
        doc = json.loads(text)
    except ValueError:
        doc = {"__unparsed__": text}
    return Resource(Kind.POLICY, account, region, name, {"policy": doc}, arn=arn)


def delivery_from_api(account: str, region: str, item: dict[str, Any], tags: dict[str, str]) -> Resource:
    user, owner, protected, extra, handle = _split_tags(tags)
    dest_arn = item.get("deliveryDestinationArn", "")
    parsed = parse_destination_arn(dest_arn)
    dest_name = parsed[2] if parsed else dest_arn.rsplit(":", 1)[-1]
    name = handle or f"{item.get('deliverySourceName')}-to-{dest_name}"[:60]
    return Resource(
        Kind.DELIVERY,
        account,
        region,
        name,
        {
            "deliverySourceName": item.get("deliverySourceName"),
            "deliveryDestinationArn": dest_arn,
            "deliveryDestinationType": item.get("deliveryDestinationType"),
            "recordFields": list(item.get("recordFields") or []),
            "fieldDelimiter": item.get("fieldDelimiter", ""),
            "s3DeliveryConfiguration": item.get("s3DeliveryConfiguration"),
        },
        tags=user,
        arn=item.get("arn"),
        id=item.get("id"),
        owner=owner,
        protected=protected,
        extra_tags=extra,
    )
