"""Transport: sessions and clients per (account, region), and every call's retries and error translation.

Retries are this module's own (``Transport._call``): throttling, HTTP 5xx, dropped connections and the transient
``ConflictException: ... currently being updated`` (TF #42194), with backoff and jitter, under a per-operation send
rate learned from throttling (``RateLimiter``). Every botocore error is translated into ``errors.AwsError`` here.
"""

from __future__ import annotations

import contextvars
import functools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session

from reconciler import hints
from reconciler.errors import (
    AccessDenied,
    AwsError,
    ConfigError,
    Conflict,
    InUse,
    Invalid,
    NotFound,
    Throttled,
    Unreachable,
)
from reconciler.models import AccountAccess

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

# The one translation of AWS error codes into typed errors (``errors.py``); a code not listed stays ``AwsError``.
# Callers catch the type; the code stays on the error for messages.
_CODES: dict[type[AwsError], set[str]] = {
    NotFound: {
        NOT_FOUND,
        "NoSuchBucket",
        "NoSuchBucketPolicy",
        "NoSuchKey",
        "NotFoundException",
        "NoSuchEntity",
        "ServerSideEncryptionConfigurationNotFoundError",
        "AccountNotFoundException",
        "ParentNotFoundException",
    },
    Conflict: {
        "ConflictException",
        "ConditionalCheckFailedException",
        "ResourceAlreadyExistsException",
        "AlreadyExistsException",
        "ConcurrentModificationException",
        "OperationAbortedException",
    },
    InUse: {"ResourceInUseException"},
    Throttled: THROTTLING_CODES,
    AccessDenied: DENIED_CODES,
    Invalid: {
        "ValidationException",
        "InvalidParameterException",
        "InvalidParameterValueException",
        "InvalidParameterValue",
        "InvalidRequestException",
        "InvalidArgument",
        "InvalidInputException",
        "MalformedPolicyDocumentException",
        "MalformedPolicy",
    },
}
ERROR_TABLE: dict[str, type[AwsError]] = {code: cls for cls, codes in _CODES.items() for code in codes}


def aws_error(operation: str, resource: str, code: str, message: str) -> AwsError:
    """The typed error for an AWS error code (``ERROR_TABLE``). A ``ConflictException`` from a ``Delete*`` that is not
    the transient "currently being updated" means the resource is still in use (a source or destination that still
    has deliveries)."""
    cls = ERROR_TABLE.get(code, AwsError)
    if code == "ConflictException" and operation.startswith("Delete") and TRANSIENT_CONFLICT not in message:
        cls = InUse
    return cls(operation, resource, code, message)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a failed call is retried: full-jitter exponential backoff, at most ``max_attempts``
    attempts within ``deadline_seconds``. The defaults are the CLI's; tests inject a short one."""

    max_attempts: int = 12
    deadline_seconds: float = 120.0
    backoff_base_seconds: float = 0.05
    backoff_cap_seconds: float = 5.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_cap_seconds, self.backoff_base_seconds * 2**attempt))


DEFAULT_RETRY = RetryPolicy()
MAX_ATTEMPTS = DEFAULT_RETRY.max_attempts
CALL_DEADLINE_SECONDS = DEFAULT_RETRY.deadline_seconds
BACKOFF_BASE_SECONDS = DEFAULT_RETRY.backoff_base_seconds
BACKOFF_CAP_SECONDS = DEFAULT_RETRY.backoff_cap_seconds


# ---- one client for every assumed-role account

# The credentials the current call signs with, set by ``_AccountClient`` around each of its method calls (per thread:
# every botocore call signs in the thread that makes it).
_CALL_CREDENTIALS: contextvars.ContextVar[botocore.credentials.ReadOnlyCredentials | None] = (
    contextvars.ContextVar("reconciler_call_credentials", default=None)
)

# Services whose clients are never shared across accounts: DynamoDB's endpoint rules take the account id from the
# client's credentials (account-based endpoints), so its client stays per account.
_PER_ACCOUNT_SERVICES = frozenset({"dynamodb"})


class _PerCallCredentials(botocore.credentials.Credentials):  # type: ignore[misc]
    """The credentials of the account whose ``_AccountClient`` is calling: a shared client signs each request with
    them (SigV4 reads ``get_frozen_credentials`` once per request, in the calling thread)."""

    def __init__(self) -> None:
        super().__init__("per-call", "per-call", None, method="reconciler-per-call")

    def get_frozen_credentials(self) -> botocore.credentials.ReadOnlyCredentials:
        creds = _CALL_CREDENTIALS.get()
        if creds is None:
            raise RuntimeError(
                "a client shared by assumed-role accounts was called outside an account's view"
            )
        return creds


class _PerCallProvider(botocore.credentials.CredentialProvider):  # type: ignore[misc]
    METHOD = "reconciler-per-call"

    def load(self) -> botocore.credentials.Credentials:
        return _PerCallCredentials()


class _AccountClient:
    """One account's view of a client that every assumed-role account shares: each API method called through it
    signs with this account's credentials; everything else (``meta``, ``exceptions``, the endpoint) is the shared
    client's."""

    __slots__ = ("_client", "_creds")

    def __init__(self, client: Any, creds: botocore.credentials.ReadOnlyCredentials) -> None:
        self._client = client
        self._creds = creds

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if (
            name.startswith("_")
            or not callable(attr)
            or name in ("get_paginator", "get_waiter", "can_paginate")
        ):
            return attr
        creds = self._creds

        def call(*args: Any, **kwargs: Any) -> Any:
            token = _CALL_CREDENTIALS.set(creds)
            try:
                return attr(*args, **kwargs)
            finally:
                _CALL_CREDENTIALS.reset(token)

        return call


def _frozen(account: str, creds: dict[str, str]) -> botocore.credentials.ReadOnlyCredentials:
    """An assumed role's credentials (as ``session.client`` takes them), as ``_AccountClient`` signs with them."""
    return botocore.credentials.ReadOnlyCredentials(
        creds["aws_access_key_id"], creds["aws_secret_access_key"], creds.get("aws_session_token"), account
    )


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


class Transport:
    """Clients per (account, region) and one call with this project's retries; thread-safe."""

    def __init__(
        self,
        accounts: dict[str, AccountAccess],
        default_region: str,
        endpoint_url: str | None = None,
        pool_connections: int = 10,
        connect_timeout: float = 5.0,
        unreachable_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.accounts = accounts
        self.retry = retry or DEFAULT_RETRY
        self.default_region = default_region
        self.endpoint_url = endpoint_url or None
        self.connect_timeout = connect_timeout
        self.unreachable_seconds = unreachable_seconds
        self.expected_account: str | None = (
            None  # the project's account, named when the caller is unreachable
        )
        self._down_since: float | None = None  # first connection failure since the last success
        self._abort_at: float | None = None  # interrupted: no call (or retry) starts after this
        self._config = botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": 1},  # retries are ours: see _call
            max_pool_connections=pool_connections,
            connect_timeout=connect_timeout,
            read_timeout=60,
            user_agent_extra="reconciler",
        )
        self.limiter = limiter or RateLimiter()
        self._lock = threading.Lock()
        self._session_lock = threading.RLock()
        self._sessions: dict[str, tuple[boto3.Session, dict[str, str]]] = {}
        self._account_locks: dict[str, threading.Lock] = {}
        self._base: boto3.Session | None = None
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._http_sessions: dict[str, Any] = {}  # endpoint host -> the connection pool its clients share
        # the session of the clients assumed-role accounts share (each call signs as its account)
        self._per_call: boto3.Session | None = None
        self._client_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._caller: str | None = None
        self.calls: Counter[str] = Counter()  # HTTP requests per operation, retries included

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
        """One STS client for every AssumeRole and the caller's identity (a client per account cost a client's
        construction each)."""
        return self._shared_client(("", self.default_region, "sts"), self._base_session)

    def _shared_client(self, key: tuple[str, str, str], session: Callable[[], boto3.Session]) -> Any:
        """The client for ``key`` (account, region, service) with the caller's own credentials, built once."""
        return self._client_once(key, lambda: self._raw_client(session(), key[2], key[1]))

    def _client_once(self, key: tuple[str, str, str], build: Callable[[], Any]) -> Any:
        """The cached client for ``key``, built by one thread however many ask at once: a botocore client costs
        milliseconds of CPU (its model, endpoint rules and event hooks; the first of a service loads its model from
        disk), and a plan's first calls into a scope (three listings, the destination's write path, the tag pages)
        all start together."""
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                return client
            key_lock = self._client_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                client = self._clients.get(key)
            if client is None:
                client = build()
                with self._lock:
                    self._clients[key] = client
            return client

    def caller_account(self) -> str:
        with self._session_lock:
            return self._caller_account()

    def _caller_account(self) -> str:
        if self._caller is None:
            sts = self._sts()
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
        self._share_connections(client)
        return client

    def _share_connections(self, client: Any) -> None:
        """Let every client of one endpoint share one connection pool.

        botocore gives each client its own pool, and a client exists per (account, region, service): at
        organisation scale that is hundreds of pools to the same few endpoints (``logs.<region>.amazonaws.com`` for
        every account), each opening its own connections: a TCP and TLS handshake per client, and thousands of
        idle keep-alive sockets (file descriptors here, connections the server must hold). Connections carry no
        credentials (every request is signed on its own), so the clients of one endpoint host share the first
        one's pool (sized by ``pool_connections``); the pools they would have used are closed unused.
        """
        endpoint = client._endpoint
        with self._lock:
            shared = self._http_sessions.setdefault(endpoint.host, endpoint.http_session)
        if shared is not endpoint.http_session:
            endpoint.http_session.close()
            endpoint.http_session = shared

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
        """The client that reaches ``service`` in ``account`` and ``region``.

        Accounts reached by an assumed role share one client per (region, service), signing each call with the
        account's own credentials (``_AccountClient``): a botocore client costs milliseconds of CPU and a good part
        of a megabyte, and at organisation scale there were two or more per scope (logs, the tagging API, the
        write path's services). Accounts reached by a profile, and the caller's own, keep a client each.
        """

        def build() -> Any:
            session, creds = self.session_for(account)
            if creds and service not in _PER_ACCOUNT_SERVICES:
                shared = self._client_once(
                    ("*", region, service),
                    lambda: self._raw_client(self._per_call_session(), service, region),
                )
                return _AccountClient(shared, _frozen(account, creds))
            return self._raw_client(session, service, region, creds)

        return self._client_once((account, region, service), build)

    def _per_call_session(self) -> boto3.Session:
        """A session whose credentials are the calling account's (``_PerCallCredentials``), sharing the base
        session's loaded models."""
        loader = self._base_session()._session.get_component("data_loader")  # outside the lock: it takes it
        with self._lock:
            if self._per_call is None:
                core = botocore.session.Session()
                core.register_component("data_loader", loader)
                core.register_component(
                    "credential_provider", botocore.credentials.CredentialResolver([_PerCallProvider()])
                )
                self._per_call = boto3.Session(botocore_session=core)
            return self._per_call

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
        """One API call with this project's retry policy (``self.retry``); botocore's own retries are off.

        Retried with full-jitter exponential backoff, within the policy's deadline: throttling, HTTP 5xx, dropped
        connections and timeouts, and the transient ``ConflictException ... currently being updated`` (TF #42194).
        Each attempt first waits for the send-rate limit of its (account, region, operation), which learns from
        throttling (``RateLimiter``). Anything else, or the last failure, becomes a typed ``AwsError``
        (``aws_error``).
        """
        deadline = time.monotonic() + self.retry.deadline_seconds
        attempt = 0
        while True:
            attempt += 1
            deadline = self._before_attempt(operation, resource, limit_key, deadline)
            retry_until: float | None = deadline
            try:
                result = fn()
            except botocore.exceptions.ClientError as exc:
                failure, cause = self._client_error(exc, operation, resource, limit_key), exc
                if not _transient(exc, failure):
                    retry_until = None
            except botocore.exceptions.NoCredentialsError as exc:
                raise AccessDenied(operation, resource, "NoCredentials", "no AWS credentials found") from exc
            except botocore.exceptions.EndpointConnectionError as exc:  # also ConnectTimeoutError
                # the endpoint cannot be reached at all: retried while it has been down for less than
                # ``unreachable_seconds`` in all (shared by every call), then one line naming it
                failure, cause = (
                    self._unreachable(exc, fn, operation, resource, limit_key, service, account),
                    exc,
                )
                retry_until = min(deadline, self._down_until()) if self._still_trying() else None
            except (
                botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError,
            ) as exc:
                failure, cause = AwsError(operation, resource, "ConnectionError", str(exc)), exc
            except botocore.exceptions.BotoCoreError as exc:
                raise AwsError(operation, resource, type(exc).__name__, str(exc)) from exc
            else:
                if limit_key is not None:
                    self.limiter.succeeded(limit_key)
                self._down_since = None
                return result
            if retry_until is None or attempt >= self.retry.max_attempts or time.monotonic() >= deadline:
                raise failure from cause
            self._backoff(attempt, retry_until)

    def _before_attempt(self, operation: str, resource: str, limit_key: str | None, deadline: float) -> float:
        """Refuse to send once interrupted, wait for the operation's send rate; the (possibly earlier) deadline."""
        if self._abort_at is not None:
            deadline = min(deadline, self._abort_at)
            if time.monotonic() >= self._abort_at:
                raise AwsError(operation, resource, "Interrupted", "not sent: the apply was interrupted")
        if limit_key is not None:
            self.limiter.wait(limit_key)
        return deadline

    def _client_error(
        self, exc: botocore.exceptions.ClientError, operation: str, resource: str, limit_key: str | None
    ) -> AwsError:
        err = exc.response.get("Error", {})
        failure = aws_error(operation, resource, str(err.get("Code", "Unknown")), str(err.get("Message", "")))
        if limit_key is not None and isinstance(failure, Throttled):
            self.limiter.throttled(limit_key)
        return failure

    def _unreachable(
        self,
        exc: botocore.exceptions.EndpointConnectionError,
        fn: Callable[[], Any],
        operation: str,
        resource: str,
        limit_key: str | None,
        service: str | None,
        account: str | None,
    ) -> Unreachable:
        return Unreachable(
            operation,
            resource,
            endpoint=self.endpoint_url or _endpoint_of(exc),
            reason=_connection_reason(exc),
            service=service or _service_of(fn) or "logs",
            account=account or (limit_key.split("/", 1)[0] if limit_key else resource),
            configured=self.endpoint_url is not None,
        )

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

    def _backoff(self, attempt: int, until: float) -> None:
        time.sleep(max(0.0, min(self.retry.delay(attempt), until - time.monotonic())))

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


def _transient(exc: botocore.exceptions.ClientError, failure: AwsError) -> bool:
    """Worth another attempt: throttling, HTTP 5xx, or the transient "currently being updated" conflict."""
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return (
        isinstance(failure, Throttled)
        or status >= 500
        or (failure.code == "ConflictException" and TRANSIENT_CONFLICT in failure.message)
    )


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


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
