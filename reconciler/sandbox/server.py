"""The sandbox HTTP server: moto's server with the fidelity fixes, fault injection and request counters.

A WSGI middleware in front of moto's app:
- names each request's operation (``X-Amz-Target`` or the query ``Action``) and account (access key → moto's
  account, falling back to the sandbox's default account) and counts them;
- injects faults, seeded and reproducible for a given request order: fixed latency plus jitter, a
  requests-per-second limit per operation and account (``ThrottlingException`` beyond it), a rate of HTTP 500
  ``ServiceUnavailableException``, a rate of the transient ``ConflictException`` on writes, dropped connections, and
  targeted rules (fail the Nth call of an operation whose body contains a string);
- counts write requests (``Put*``, ``Create*``, ``Update*``, ``Delete*``, ``Tag*``, ``Untag*`` of any service) and
  can hold every write after the Nth: a held request waits in the sandbox, never reaches moto, and is answered by
  a dropped connection once released, so a test can stop a client at an exact write (``hold-writes``), wait for
  that moment as an event (``wait-held``), kill the client and release (``release-writes``);
- serves a small control API under ``/_sandbox/``: ``GET counters``, ``POST reset-counters``, ``GET|POST faults``,
  ``POST reset`` (all state and counters), ``POST options`` (fidelity knobs), ``POST deliver`` (one round of
  sample records from every delivery whose grant allows it, or ``{"every": N}`` on a timer; see ``deliver.py``),
  ``POST hold-writes`` (``{"after": N}``: hold the writes after the next N), ``POST wait-held`` (``{"timeout": S}``:
  answers once a write is held, or holding is released, or after S seconds), ``POST release-writes`` and
  ``POST wait-counted`` (``{"operation": O, "count": N, "timeout": S}``: answers once N requests of O arrived).

A reset drops the requests that arrived before it and still wait out their injected latency: a client killed in the
middle of a request never writes into the state that follows the reset.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from . import cwl_policies, deliver, fidelity, xray

DEFAULT_ACCOUNT = "111111111111"
MOTO_DEFAULT_ACCOUNT = "123456789012"
WRITE_PREFIXES = ("Put", "Create", "Update", "Delete", "Tag", "Untag")
HOLD_LIMIT_SECONDS = 300.0  # a held write is dropped after this even if nobody releases it


@dataclass
class Rule:
    """Fail matching requests: ``operation`` (exact), ``contains`` (substring of the body), ``times`` (-1 = always)."""

    operation: str
    code: str = "ServiceUnavailableException"
    message: str = "injected failure"
    status: int = 400
    contains: str = ""
    times: int = 1
    account: str = ""


@dataclass
class Faults:
    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    throttle: dict[str, float] = field(default_factory=dict)  # operation (or "*") -> requests per second
    throttle_rate: float = 0.0  # share of requests answered with ThrottlingException
    fail_rate: float = 0.0  # HTTP 500 ServiceUnavailableException
    conflict_rate: float = 0.0  # transient ConflictException on writes
    drop_rate: float = 0.0  # connection closed without an answer
    operations: list[str] = field(default_factory=list)  # random faults only for these (empty = all logs ops)
    rules: list[Rule] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        data = dict(data)
        data["rules"] = [Rule(**r) for r in data.get("rules", [])]
        return cls(**data)


class _Bucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
           500: "Internal Server Error"}  # fmt: skip


def protocol_of(environ: dict[str, Any], body: bytes) -> str:
    """The wire protocol of a request, as botocore will parse the answer: ``json`` (an ``X-Amz-Target``: Logs,
    DynamoDB, Organizations...), ``query`` (an ``Action=`` form: STS, IAM...), ``rest-xml`` (S3) or ``rest-json``."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if b"Action=" in body or "Action=" in environ.get("QUERY_STRING", ""):
        return "query"
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
    return "rest-xml" if len(scope) > 3 and scope[3] == "s3" else "rest-json"


def _error(start_response: Any, status: int, code: str, message: str, protocol: str = "json") -> list[bytes]:
    """An error answer in the protocol of the targeted service, so botocore reads its code as AWS would send it."""
    if protocol in ("query", "rest-xml"):
        text = escape(message)
        error = f"<Error><Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{escape(code)}</Code>" \
                f"<Message>{text}</Message></Error>"  # fmt: skip
        request_id = "<RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
        xml = f"<ErrorResponse>{error}{request_id}</ErrorResponse>" if protocol == "query" else error
        body = xml.encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        headers = [("Content-Type", content_type), ("x-amzn-ErrorType", code)]
    start_response(f"{status} {REASONS.get(status, 'Error')}", [*headers, ("Content-Length", str(len(body)))])
    return [body]


class SandboxApp:
    """WSGI middleware: accounting and faults in front of moto."""

    def __init__(self, default_account: str = DEFAULT_ACCOUNT, faults: Faults | None = None) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        fidelity.install()
        cwl_policies.install()
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.default_account = default_account
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        # the (address, port) of every client connection a request came on: the TCP connections clients opened
        self.connections: set[tuple[str, str]] = set()
        self.faults_injected: Counter[str] = Counter()
        self.faulted: Counter[tuple[str, str]] = Counter()  # (operation, account) -> answered with a fault
        self.apps: dict[str, Any] = {}  # X-Amz-Target service prefix -> moto's Flask app for it
        self.writes = 0  # write requests received (see WRITE_PREFIXES)
        self.hold_after: int | None = None  # writes numbered above this are held (None: none is)
        self.held = 0  # writes held since holding was armed
        self.changed = threading.Condition(self.lock)  # notified when a write is held or holding is released
        # A reset starts a new epoch: a request that arrived before it and still waits out its latency is dropped
        # when it wakes (a client killed mid-request must not write into the next test's state); requests already
        # inside moto finish first (``applying``).
        self.epoch = 0
        self.applying = 0
        self.new_epoch = threading.Condition(self.lock)  # a reset: requests waiting out their latency wake
        self.drained = threading.Condition(self.lock)  # no request is inside moto any more
        self.counted = threading.Condition(self.lock)  # a request was counted (``wait-counted``)
        self.set_faults(faults or Faults())

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self.rng = random.Random(faults.seed)
            self.buckets: dict[tuple[str, str], _Bucket] = {}
            self.rule_hits: list[int] = [0] * len(faults.rules)

    # -- control API
    def control(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")[len("/_sandbox/") :]
        method = environ.get("REQUEST_METHOD", "GET")
        body = self._body(environ)
        result: Any
        if path == "counters":
            with self.lock:
                result = {
                    "counts": [
                        {"operation": o, "account": a, "count": n}
                        for (o, a), n in sorted(self.counts.items())
                    ],
                    "total": sum(self.counts.values()),
                    "faulted": [
                        {"operation": o, "account": a, "count": n}
                        for (o, a), n in sorted(self.faulted.items())
                    ],
                    "faults": dict(self.faults_injected),
                    "writes": self.writes,
                    "connections": len(self.connections),
                }
        elif path == "reset-counters" and method == "POST":
            with self.lock:
                self.counts.clear()
                self.connections.clear()
                self.faults_injected.clear()
                self.faulted.clear()
                self.writes = 0
            result = {"ok": True}
        elif path == "wait-counted" and method == "POST":
            result = self._wait_counted(json.loads(body or b"{}"))
        elif path in ("hold-writes", "wait-held", "release-writes") and method == "POST":
            result = self._hold_control(path, json.loads(body or b"{}"))
        elif path == "faults" and method == "POST":
            self.set_faults(Faults.from_json(json.loads(body or b"{}")))
            result = {"ok": True}
        elif path == "faults":
            result = asdict(self.faults)
        elif path == "reset" and method == "POST":
            from moto.core.base_backend import BackendDict

            with self.lock:
                self.epoch += 1
                self.new_epoch.notify_all()  # the requests sleeping through their latency wake and are dropped
                self.drained.wait_for(lambda: self.applying == 0, timeout=HOLD_LIMIT_SECONDS)
            deliver.reset()
            BackendDict.reset()
            xray.reset()
            self._hold_control("release-writes", {})
            with self.lock:
                self.counts.clear()
                self.connections.clear()
                self.faults_injected.clear()
                self.faulted.clear()
                self.writes = 0
            self.set_faults(Faults())
            result = {"ok": True}
        elif path == "deliver" and method == "POST":
            result = deliver.control(json.loads(body or b"{}"))
        elif path == "deliver":
            result = deliver.stats()
        elif path == "options" and method == "POST":
            fidelity.OPTIONS.update(json.loads(body or b"{}"))
            result = dict(fidelity.OPTIONS)
        else:
            return _error(start_response, 404, "NotFound", f"unknown sandbox control path {path!r}")
        data = json.dumps(result).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def _wait_counted(self, data: dict[str, Any]) -> dict[str, Any]:
        """Block until ``count`` requests of ``operation`` (any account) were received, or ``timeout`` seconds."""
        operation, want = str(data["operation"]), int(data.get("count", 1))

        def seen() -> int:
            return sum(n for (o, _), n in self.counts.items() if o == operation)

        with self.counted:
            self.counted.wait_for(lambda: seen() >= want, timeout=float(data.get("timeout", 60)))
            return {"count": seen()}

    def _hold_control(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        """``hold-writes``, ``wait-held`` (blocks until a write is held, holding ends, or the timeout) and
        ``release-writes`` (held writes are dropped, never applied)."""
        with self.changed:
            if path == "hold-writes":
                self.hold_after = self.writes + int(data.get("after", 0))
                self.held = 0
            elif path == "wait-held":
                self.changed.wait_for(
                    lambda: self.held > 0 or self.hold_after is None, timeout=float(data.get("timeout", 60))
                )
            else:
                self.hold_after = None
                self.changed.notify_all()
                released, self.held = self.held, 0
                return {"writes": self.writes, "held": released, "holding": False}
            return {"writes": self.writes, "held": self.held, "holding": self.hold_after is not None}

    def _count_write(self, operation: str) -> bool:
        """Count a write request; True when it is held (it then waits here until released: drop it)."""
        if not operation.startswith(WRITE_PREFIXES):
            return False
        with self.changed:
            self.writes += 1
            if self.hold_after is None or self.writes <= self.hold_after:
                return False
            self.held += 1
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.hold_after is None, timeout=HOLD_LIMIT_SECONDS)
            return True

    @staticmethod
    def _hang_up(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """Close the connection without an answer (waitress exposes the channel through this callback)."""
        probe = environ.get("waitress.client_disconnected")
        sock = getattr(getattr(probe, "__self__", None), "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        start_response("500 Internal Server Error", [("Content-Length", "0")])
        return [b""]

    @staticmethod
    def _body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _identify(self, environ: dict[str, Any], body: bytes) -> tuple[str, str, str]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        service = ""
        if target:
            service, _, operation = target.partition(".")
        else:
            fields = parse_qs(body.decode("utf-8", "replace")) if body else {}
            fields.update(parse_qs(environ.get("QUERY_STRING", "")))
            operation = (fields.get("Action") or ["?"])[0]
        auth = environ.get("HTTP_AUTHORIZATION", "")
        access_key = ""
        if "Credential=" in auth:
            access_key = auth.split("Credential=", 1)[1].split("/", 1)[0]
        from moto.iam.models import get_account_id_from

        account = get_account_id_from(access_key) if access_key else MOTO_DEFAULT_ACCOUNT
        if account == MOTO_DEFAULT_ACCOUNT and "HTTP_X_MOTO_ACCOUNT_ID" not in environ:
            account = self.default_account
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
        return service, operation, account

    def _fault(
        self, service: str, operation: str, account: str, body: bytes
    ) -> tuple[int, str, str] | str | None:
        f = self.faults
        with self.lock:
            for i, rule in enumerate(f.rules):
                if rule.operation != operation or (rule.account and rule.account != account):
                    continue
                if rule.contains and rule.contains.encode() not in body:
                    continue
                if rule.times >= 0 and self.rule_hits[i] >= rule.times:
                    continue
                self.rule_hits[i] += 1
                return (rule.status, rule.code, rule.message)
            if not service.startswith(("Logs", "ResourceGroupsTaggingAPI")):
                return None
            if f.operations and operation not in f.operations:
                return None
            rate = f.throttle.get(operation, f.throttle.get("*"))
            if rate:
                bucket = self.buckets.get((operation, account))
                if bucket is None:
                    bucket = self.buckets[(operation, account)] = _Bucket(rate)
                if not bucket.take():
                    return (400, "ThrottlingException", "Rate exceeded")
            roll = self.rng.random()
            if roll < f.drop_rate:
                return "drop"
            roll -= f.drop_rate
            if roll < f.throttle_rate:
                return (400, "ThrottlingException", "Rate exceeded (injected)")
            roll -= f.throttle_rate
            if roll < f.fail_rate:
                return (500, "ServiceUnavailableException", "Service unavailable (injected)")
            roll -= f.fail_rate
            if operation.startswith(WRITE_PREFIXES) and roll < f.conflict_rate:
                return (
                    400,
                    "ConflictException",
                    "Requested resource is currently being updated. Please try again later.",
                )
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/_sandbox/"):
            return self.control(environ, start_response)
        body = self._body(environ)
        service, operation, account = self._identify(environ, body)
        if self._count_write(operation):
            return self._hang_up(environ, start_response)
        with self.lock:
            self.counts[(operation, account)] += 1
            self.connections.add((str(environ.get("REMOTE_ADDR", "")), str(environ.get("REMOTE_PORT", ""))))
            self.counted.notify_all()
            delay = self.faults.latency_ms + (
                self.rng.random() * self.faults.jitter_ms if self.faults.jitter_ms else 0
            )
            epoch = self.epoch
        if delay:
            with self.new_epoch:
                self.new_epoch.wait_for(lambda: self.epoch != epoch, timeout=delay / 1000.0)
        with self.lock:
            stale = self.epoch != epoch  # the sandbox was reset while this request waited: it never happened
            if not stale:
                self.applying += 1
        if stale:
            return self._hang_up(environ, start_response)
        try:
            return self._answer(environ, start_response, body, service, operation, account)
        finally:
            with self.lock:
                self.applying -= 1
                if self.applying == 0:
                    self.drained.notify_all()

    def _answer(
        self,
        environ: dict[str, Any],
        start_response: Any,
        body: bytes,
        service: str,
        operation: str,
        account: str,
    ) -> Any:
        fault = self._fault(service, operation, account, body)
        if fault == "drop":
            with self.lock:
                self.faults_injected["drop"] += 1
                self.faulted[(operation, account)] += 1
            return self._hang_up(environ, start_response)
        if isinstance(fault, tuple):
            status, code, message = fault
            with self.lock:
                self.faults_injected[code] += 1
                self.faulted[(operation, account)] += 1
            return _error(start_response, status, code, message, protocol_of(environ, body))
        if xray.handles(environ):  # not in moto 5.2.5
            return xray.handle(environ, start_response, body, account)
        # moto's dispatcher works out the service from the host and headers on every request, under a lock (a
        # third of the sandbox's time per request); a JSON-protocol target names it, so its app is kept here
        app = self.apps.get(service) if service else None
        if app is None:
            app = self.moto.get_application(environ)
            if service:
                self.apps[service] = app
        return app(environ, start_response)


class SandboxServer:
    """The sandbox on a loopback port.

    Served by waitress (keep-alive connections and a thread pool) rather than werkzeug's development server, which
    closes every connection and starts a thread per request: at thousands of requests that alone was half of the
    emulator's cost, and the benchmarks must measure the reconciler, not the emulator.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, default_account: str = DEFAULT_ACCOUNT,
                 faults: Faults | None = None, threads: int = 32) -> None:  # fmt: skip
        import waitress

        logging.getLogger("waitress").setLevel(
            logging.CRITICAL
        )  # no queue warnings, no traces for dropped answers
        self.app = SandboxApp(default_account, faults)
        self.server = waitress.create_server(
            self.app,
            host=host,
            port=port,
            threads=threads,
            ident=None,
            connection_limit=1000,
            channel_timeout=60,
        )
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def serve_forever(self) -> None:
        self.server.run()

    def start(self) -> SandboxServer:
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.close()
        if self.thread is not None:
            self.thread.join(timeout=5)
