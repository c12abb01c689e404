"""The exception tree: every error a user can cause is a ReconcilerError with a one-line message.

    ReconcilerError                  one clear line; the CLI prints it and exits 1
    ├── ConfigError                  reconciler.yaml: missing, malformed, unknown environment
    ├── ManifestError                one or more manifest problems, each FILE:LINE: Kind/name: field: message
    ├── AwsError                     an AWS call failed: operation, resource, error code, message
    │   ├── NotFound                 the resource (or its policy, bucket, key) does not exist
    │   ├── Conflict                 it exists already, or a condition or concurrent change got in the way
    │   ├── InUse                    it cannot be deleted while something still uses it
    │   ├── Throttled                the request rate was exceeded (after this project's retries)
    │   ├── AccessDenied             the call was denied (a scope cannot be read)
    │   ├── Invalid                  the request was rejected as invalid (parameters, policy document)
    │   └── Unreachable              the endpoint could not be reached
    ├── PlanError                    the plan cannot be built (unowned name, protected resource, limits)
    ├── StalePlanError               a saved plan no longer matches live state or format
    └── LockError                    another apply holds the lock

Third-party exceptions are translated into these at one boundary (the ``aws`` package for botocore: one table,
``aws.transport.ERROR_TABLE``, maps AWS error codes to the ``AwsError`` subclasses), with ``raise ... from exc`` so
``--debug`` still shows the cause. Callers catch the subclass, never compare code strings; ``code`` stays on every
error for messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class ReconcilerError(Exception):
    """Base of every error a user can cause; ``str()`` is the one line the CLI prints."""


class ConfigError(ReconcilerError):
    pass


@dataclass(frozen=True, order=True)
class Problem:
    """One manifest problem, located in its file."""

    file: str
    line: int
    resource: str  # "Kind/name" or "" when the document has no usable kind/name
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        parts = [where]
        if self.resource:
            parts.append(self.resource)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return one_line(": ".join(parts))


def one_line(text: str) -> str:
    """Line breaks and other control characters escaped, so one problem is always one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


class ManifestError(ReconcilerError):
    """All problems found in the manifests (collected, not just the first)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class AwsError(ReconcilerError):
    def __init__(self, operation: str, resource: str, code: str, message: str) -> None:
        self.operation = operation
        self.resource = resource
        self.code = code
        self.message = message
        super().__init__(f"{operation} {resource}: {code}: {message}")


class NotFound(AwsError):
    pass


class Conflict(AwsError):
    pass


class InUse(AwsError):
    pass


class Throttled(AwsError):
    pass


class AccessDenied(AwsError):
    pass


class Invalid(AwsError):
    pass


class Unreachable(AwsError):
    """The endpoint could not be reached (refused, unresolved, timed out) for longer than the retry budget."""

    def __init__(
        self,
        operation: str,
        resource: str,
        *,
        endpoint: str,
        reason: str,
        service: str,
        account: str,
        configured: bool,
    ) -> None:
        super().__init__(operation, resource, "Unreachable", reason)
        self.endpoint = endpoint
        check = (
            "check --endpoint-url / AWS_ENDPOINT_URL"
            if configured
            else "check the network, proxy settings (HTTPS_PROXY) and the region"
        )
        self.args = (f"cannot reach {endpoint} ({reason}) for {service}:{operation} in {account}; {check}",)

    def __str__(self) -> str:
        return str(self.args[0])


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^@/\s]+@")


def mask_secrets(text: str) -> str:
    """Passwords in URLs (``scheme://user:PASSWORD@host``) replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\g<head>:***@", text)


class PlanError(ReconcilerError):
    pass


class StalePlanError(ReconcilerError):
    pass


class LockError(ReconcilerError):
    pass
