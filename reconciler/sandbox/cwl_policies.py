"""CloudWatch Logs resource policies on a log group (``resourceArn``), which moto 5.2.5 ignores.

moto stores account-level resource policies only: it drops ``resourceArn``, ``policyScope`` and
``expectedRevisionId``, so a log-group-level policy would land in the account's list (and count toward its 10).
``install()`` wraps moto's ``PutResourcePolicy`` / ``DescribeResourcePolicies`` / ``DeleteResourcePolicy`` handlers:
calls with a ``resourceArn`` (or ``policyScope: RESOURCE``) are answered here, the others still by moto. As AWS's
PutResourcePolicy reference says: one policy per log group (a second name is ``LimitExceededException``), not counted
toward the account's 10; each answer carries ``policyScope``, ``resourceArn`` and a ``revisionId``, and a write to an
existing policy with another ``expectedRevisionId`` is ``OperationAbortedException`` (the error the model lists;
unconfirmed which one AWS sends). Every policy, account-level ones included, holds at most 5,120 characters (the
CloudWatch Logs quota; moto checks no size). The state lives on moto's per-account, per-region ``LogsBackend``, so
the sandbox's reset clears it with the rest.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.logs.models import LogsBackend, logs_backends
from moto.logs.responses import LogsResponse

POLICY_CHARS_MAX = 5120
_ATTR = "_reconciler_group_policies"
_lock = threading.RLock()
_installed = False
_moto: dict[str, Any] = {}


class _Err(JsonRESTError):
    code = 400

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)


def group_arn(arn: str) -> str:
    """``arn:aws:logs:R:A:log-group:NAME`` (a trailing ``:*`` dropped)."""
    return arn.removesuffix(":*")


def _store(backend: LogsBackend) -> dict[str, dict[str, Any]]:
    """Log group ARN -> its policy (as DescribeResourcePolicies answers it)."""
    store: dict[str, dict[str, Any]] | None = backend.__dict__.get(_ATTR)
    if store is None:
        store = backend.__dict__[_ATTR] = {}
    return store


def policies_of(account: str, region: str, arn: str) -> list[tuple[str, str]]:
    """(name, document) of a log group's own resource policies (what the delivery check reads)."""
    backend = logs_backends[account][region]
    with _lock:
        p = _store(backend).get(group_arn(arn))
    return [(str(p["policyName"]), str(p["policyDocument"]))] if p else []


def _group_name(backend: LogsBackend, arn: str) -> str:
    parts = arn.split(":", 6)
    name = group_arn(parts[6]) if len(parts) == 7 and parts[5] == "log-group" else ""
    if not name or parts[4] != backend.account_id or parts[3] != backend.region_name:
        raise _Err(
            "InvalidParameterException", f"resourceArn {arn} is not a log group of this account and region"
        )
    if name not in backend.groups:
        raise _Err("ResourceNotFoundException", f"The specified log group does not exist: {name}")
    return name


def _check_document(doc: str) -> None:
    if len(doc) > POLICY_CHARS_MAX:
        raise _Err("LimitExceededException", f"the policy document has {len(doc)} characters (at most 5120)")
    try:
        json.loads(doc)
    except ValueError as exc:
        raise _Err("InvalidParameterException", "the policy document is not valid JSON") from exc


def _check_revision(current: dict[str, Any], expected: Any) -> None:
    if expected != current["revisionId"]:
        raise _Err(
            "OperationAbortedException",
            f"the resource policy changed: expectedRevisionId {expected!r}, current {current['revisionId']!r}",
        )


def _put(self: Any) -> str:
    arn = self._get_param("resourceArn")
    doc = str(self._get_param("policyDocument") or "")
    _check_document(doc)
    if not arn:
        return str(_moto["put_resource_policy"](self))
    backend = self.logs_backend
    name = str(self._get_param("policyName") or "")
    _group_name(backend, arn)
    with _lock:
        store = _store(backend)
        current = store.get(group_arn(arn))
        if current is not None and current["policyName"] != name:
            raise _Err(
                "LimitExceededException",
                f"log group {arn} already has resource policy {current['policyName']} (one per log group)",
            )
        if current is not None:
            _check_revision(current, self._get_param("expectedRevisionId"))
        policy = {
            "policyName": name,
            "policyDocument": doc,
            "lastUpdatedTime": int(time.time() * 1000),
            "policyScope": "RESOURCE",
            "resourceArn": group_arn(arn),
            "revisionId": uuid.uuid4().hex,
        }
        store[group_arn(arn)] = policy
    return json.dumps({"resourcePolicy": policy, "revisionId": policy["revisionId"]})


def _describe(self: Any) -> str:
    arn = self._get_param("resourceArn")
    scope = self._get_param("policyScope")
    if not arn and scope != "RESOURCE":
        answer = json.loads(_moto["describe_resource_policies"](self))
        for p in answer.get("resourcePolicies", []):
            p.setdefault("policyScope", "ACCOUNT")
        return json.dumps(answer)
    backend = self.logs_backend
    with _lock:
        store = _store(backend)
        found = [store[group_arn(arn)]] if arn and group_arn(arn) in store else []
        if not arn:
            found = [store[k] for k in sorted(store)]
    if arn:
        _group_name(backend, arn)
    return json.dumps({"resourcePolicies": found})


def _delete(self: Any) -> str:
    arn = self._get_param("resourceArn")
    if not arn:
        return str(_moto["delete_resource_policy"](self))
    backend = self.logs_backend
    name = self._get_param("policyName")
    with _lock:
        store = _store(backend)
        current = store.get(group_arn(arn))
        if current is None or (name and current["policyName"] != name):
            raise _Err("ResourceNotFoundException", f"Policy with name [{name}] does not exist on {arn}")
        _check_revision(current, self._get_param("expectedRevisionId"))
        del store[group_arn(arn)]
    return ""


def install() -> None:
    """Wrap moto's resource-policy handlers (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        for op, handler in (
            ("put_resource_policy", _put),
            ("describe_resource_policies", _describe),
            ("delete_resource_policy", _delete),
        ):
            _moto[op] = getattr(LogsResponse, op)
            setattr(LogsResponse, op, handler)
        _installed = True
