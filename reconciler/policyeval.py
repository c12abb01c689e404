"""Evaluate resource-policy statements for one request (pure): does a policy let a principal do an action?

This is the part of IAM's evaluation that decides whether the log delivery service may write into a destination:
``Principal``/``NotPrincipal`` (service and ``*`` principals), ``Action``/``NotAction`` and ``Resource``/
``NotResource`` with IAM wildcards (``*``, ``?``; actions case-insensitive), and ``Condition`` blocks with the
string and ARN operators (``StringEquals``, ``StringNotEquals``, ``StringEqualsIgnoreCase``, ``StringLike``,
``StringNotLike``, ``ArnEquals``, ``ArnLike``, ``ArnNotEquals``, ``ArnNotLike``), ``Bool``, ``Null``, the
``...IfExists`` suffix and the ``ForAnyValue:``/``ForAllValues:`` prefixes (single-valued keys). Condition keys are
case-insensitive. A key the request does not carry fails a positive operator and passes a negated one (as IAM does).
An operator this module does not know makes an Allow statement not apply (so nothing is assumed allowed) and a
Deny statement not apply either; ``Decision.unknown_operators`` names them so callers can say so.

Evaluation order is IAM's: an explicit Deny wins, then any Allow, else the implicit deny. ``explain`` says why one
statement does not apply, so a caller can name the nearest miss ("allows aws:SourceArn in eu-west-1").
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Request:
    """One request as IAM sees it: who, what, on which resource, with which context keys (lower-cased names)."""

    service_principal: str
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    account_principal: str = ""  # an account id, for {"AWS": "ACCOUNT"} principals


@dataclass(frozen=True)
class Miss:
    """Why a statement does not apply: the element (principal, action, resource, condition) and its detail."""

    element: str
    key: str = ""
    operator: str = ""
    values: tuple[str, ...] = ()
    actual: str | None = None


@dataclass
class Decision:
    allowed: bool
    denied_by: list[int] = field(default_factory=list)  # indexes of explicit Deny statements that apply
    allowed_by: list[int] = field(default_factory=list)
    unknown_operators: list[str] = field(default_factory=list)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(policy: Any) -> list[dict[str, Any]]:
    """The statements of a policy document (a JSON string or a parsed document); malformed parts are skipped."""
    if isinstance(policy, str | bytes):
        return list(_parsed_statements(policy))
    return _statements_of(policy)


@lru_cache(maxsize=1024)
def _parsed_statements(text: str | bytes) -> tuple[dict[str, Any], ...]:
    """Parsed once per policy text: a plan evaluates the same policy for every delivery into a destination."""
    try:
        return tuple(_statements_of(json.loads(text)))
    except ValueError:
        return ()


def _statements_of(policy: Any) -> list[dict[str, Any]]:
    if not isinstance(policy, dict):
        return []
    return [st for st in as_list(policy.get("Statement")) if isinstance(st, dict)]


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """IAM's ArnLike: six colon-separated parts, each matched with wildcards."""
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return fnmatch.fnmatchcase(value, pattern)
    return all(glob_match(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _principal_matches(principal: Any, req: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind, values in principal.items():
        for v in as_list(values):
            v = str(v)
            if v == "*":
                return True
            if kind == "Service" and v == req.service_principal:
                return True
            if (
                kind == "AWS"
                and req.account_principal
                and v
                in (
                    req.account_principal,
                    f"arn:aws:iam::{req.account_principal}:root",
                )
            ):
                return True
    return False


def _actions_match(patterns: Any, action: str) -> bool:
    return any(glob_match(str(p), action, ignore_case=True) for p in as_list(patterns))


def _resources_match(patterns: Any, resource: str) -> bool:
    return any(glob_match(str(p), resource) for p in as_list(patterns))


_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: glob_match(p, v),
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": arn_like,
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, values: list[str], req: Request) -> bool | None:
    """True/False, or None for an operator this module does not evaluate."""
    op = operator
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        op = op.removeprefix(prefix)
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    actual = req.context.get(key.lower())
    if op == "Null":
        want_missing = any(v.lower() == "true" for v in values)
        return (actual is None) == want_missing
    if op in _POSITIVE:
        if actual is None:
            return if_exists
        return any(_POSITIVE[op](v, actual) for v in values)
    if op in _NEGATED:
        if actual is None:
            return True
        return not any(_POSITIVE[_NEGATED[op]](v, actual) for v in values)
    return None


def explain(st: dict[str, Any], req: Request, unknown: list[str] | None = None) -> Miss | None:
    """None when the statement applies to the request, else the first element that does not match."""
    if "NotPrincipal" in st:
        if _principal_matches(st["NotPrincipal"], req):
            return Miss("principal")
    elif not _principal_matches(st.get("Principal"), req):
        return Miss("principal")
    if "NotAction" in st:
        if _actions_match(st["NotAction"], req.action):
            return Miss("action")
    elif not _actions_match(st.get("Action"), req.action):
        return Miss("action")
    if "NotResource" in st:
        if _resources_match(st["NotResource"], req.resource):
            return Miss("resource", values=tuple(str(r) for r in as_list(st["NotResource"])))
    elif "Resource" in st and not _resources_match(st["Resource"], req.resource):
        return Miss("resource", values=tuple(str(r) for r in as_list(st["Resource"])), actual=req.resource)
    cond = st.get("Condition") or {}
    if not isinstance(cond, dict):
        return Miss("condition", operator="?")
    for operator, block in cond.items():
        if not isinstance(block, dict):
            return Miss("condition", operator=str(operator))
        for key, raw in block.items():
            values = [str(v) for v in as_list(raw)]
            holds = _condition_holds(str(operator), str(key), values, req)
            if holds is None:
                if unknown is not None:
                    unknown.append(str(operator))
                return Miss("condition", str(key), str(operator), tuple(values))
            if not holds:
                return Miss(
                    "condition", str(key), str(operator), tuple(values), req.context.get(str(key).lower())
                )
    return None


def evaluate(policy: Any, req: Request) -> Decision:
    """IAM's order for one resource policy: explicit Deny, then Allow, else implicit deny."""
    decision = Decision(False)
    for i, st in enumerate(statements(policy)):
        effect = st.get("Effect")
        if explain(st, req, decision.unknown_operators) is not None:
            continue
        if effect == "Deny":
            decision.denied_by.append(i)
        elif effect == "Allow":
            decision.allowed_by.append(i)
    decision.allowed = bool(decision.allowed_by) and not decision.denied_by
    return decision


def near_misses(policy: Any, req: Request) -> list[tuple[dict[str, Any], Miss]]:
    """Allow statements for this principal and action that still do not apply, with why (nearest first)."""
    out = []
    for st in statements(policy):
        if st.get("Effect") != "Allow":
            continue
        miss = explain(st, req)
        if miss is not None and miss.element in ("resource", "condition"):
            out.append((st, miss))
    out.sort(key=lambda pair: 0 if pair[1].element == "condition" else 1)
    return out


def region_of_arn(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" else None


def account_of_arn(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[0] == "arn" else None
