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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .iam import Condition, Statement, glob_match, statement
from .iam import statement_dicts as statements
from .iam import statements as read_statements

__all__ = [
    "Decision",
    "Miss",
    "Request",
    "arn_like",
    "evaluate",
    "explain",
    "glob_match",
    "near_misses",
    "statements",
]


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


def arn_like(pattern: str, value: str) -> bool:
    """IAM's ArnLike: six colon-separated parts, each matched with wildcards."""
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return fnmatch.fnmatchcase(value, pattern)
    return all(glob_match(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _principal_matches(principals: tuple[str, ...] | None, req: Request) -> bool:
    if principals is None:
        return False
    account = req.account_principal
    for p in principals:
        kind, _, value = p.partition(":")
        if p == "*" or (kind == "Service" and value == req.service_principal):
            return True
        if kind == "AWS" and account and value in (account, f"arn:aws:iam::{account}:root"):
            return True
    return False


def _any_match(patterns: tuple[str, ...] | None, value: str, ignore_case: bool = False) -> bool:
    return any(glob_match(p, value, ignore_case) for p in patterns or ())


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


def explain(st: Statement | dict[str, Any], req: Request, unknown: list[str] | None = None) -> Miss | None:
    """None when the statement applies to the request, else the first element that does not match."""
    st = statement(st) if isinstance(st, dict) else st
    if st.not_principals is not None:
        if _principal_matches(st.not_principals, req):
            return Miss("principal")
    elif not _principal_matches(st.principals, req):
        return Miss("principal")
    if st.not_actions is not None:
        if _any_match(st.not_actions, req.action, ignore_case=True):
            return Miss("action")
    elif not _any_match(st.actions, req.action, ignore_case=True):
        return Miss("action")
    miss = _resource_miss(st, req)
    if miss is not None:
        return miss
    for c in st.conditions:
        miss = _condition_miss(c, req, unknown)
        if miss is not None:
            return miss
    return None


def _resource_miss(st: Statement, req: Request) -> Miss | None:
    if st.not_resources is not None:
        return (
            Miss("resource", values=st.not_resources) if _any_match(st.not_resources, req.resource) else None
        )
    if st.resources is not None and not _any_match(st.resources, req.resource):
        return Miss("resource", values=st.resources, actual=req.resource)
    return None


def _condition_miss(c: Condition, req: Request, unknown: list[str] | None) -> Miss | None:
    if not c.key:
        return Miss("condition", operator=c.operator)  # not a mapping of keys to values
    holds = _condition_holds(c.operator, c.key, list(c.values), req)
    if holds is None:
        if unknown is not None:
            unknown.append(c.operator)
        return Miss("condition", c.key, c.operator, c.values)
    if not holds:
        return Miss("condition", c.key, c.operator, c.values, req.context.get(c.key.lower()))
    return None


def evaluate(policy: Any, req: Request) -> Decision:
    """IAM's order for one resource policy: explicit Deny, then Allow, else implicit deny."""
    decision = Decision(False)
    for i, st in enumerate(read_statements(policy)):
        if explain(st, req, decision.unknown_operators) is not None:
            continue
        if st.effect == "Deny":
            decision.denied_by.append(i)
        elif st.effect == "Allow":
            decision.allowed_by.append(i)
    decision.allowed = bool(decision.allowed_by) and not decision.denied_by
    return decision


def near_misses(policy: Any, req: Request) -> list[tuple[dict[str, Any], Miss]]:
    """Allow statements for this principal and action that still do not apply, with why (nearest first)."""
    out = []
    for st in read_statements(policy):
        if st.effect != "Allow":
            continue
        miss = explain(st, req)
        if miss is not None and miss.element in ("resource", "condition"):
            out.append((st.raw, miss))
    out.sort(key=lambda pair: 0 if pair[1].element == "condition" else 1)
    return out


def region_of_arn(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" else None


def account_of_arn(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[0] == "arn" else None
