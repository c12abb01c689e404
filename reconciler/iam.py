"""IAM policy documents: the one statement reader, and what a statement allows (pure; no I/O).

Used by manifest validation (the public-policy guardrail and the exact-case check), by diff (does a policy change
widen access?), by the plan (may other accounts deliver into a destination?) and by the sandbox's policy evaluation.

A statement is *public* unless its principals are specific accounts, roles, users or services (no wildcard
anywhere), or a condition pins the caller: ``StringEquals`` or ``ArnEquals`` (not ``Like``, not ``IfExists``, not a
set operator) on ``aws:SourceAccount``, ``aws:SourceOrgID``, ``aws:PrincipalOrgID``, ``aws:PrincipalAccount`` or
``aws:SourceArn``, with values that hold no wildcard. ``Allow`` with ``NotPrincipal`` is public (it lets in everyone
but the listed principals). Element names and ``Effect`` values must be in IAM's exact case.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ELEMENTS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
            "Condition")  # fmt: skip
TOP_ELEMENTS = ("Version", "Id", "Statement")
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
EFFECTS = ("Allow", "Deny")
PINNING_OPERATORS = ("StringEquals", "ArnEquals")
PINNING_KEYS = ("aws:sourceaccount", "aws:sourceorgid", "aws:principalorgid", "aws:principalaccount",
                "aws:sourcearn")  # fmt: skip
_ACCOUNT = re.compile(r"\d{12}")
_ACCOUNT_ARN = re.compile(r"arn:aws[\w-]*:(?:iam|sts)::(\d{12}):\S+")


@dataclass(frozen=True)
class Condition:
    operator: str  # as written, e.g. "StringEquals", "ForAnyValue:StringLike", "StringEqualsIfExists"
    key: str  # as written (condition keys are case-insensitive: compare ``key.lower()``); "" for a malformed block
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One statement, normalised: every element a tuple of trimmed strings; principals as ``TYPE:value``."""

    index: int
    effect: str
    principals: tuple[str, ...] | None  # None when the statement has no Principal element; ("*",) for anyone
    not_principals: tuple[str, ...] | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[Condition, ...] = field(default_factory=tuple)
    sid: str = ""
    raw: dict[str, Any] = field(
        default_factory=dict, compare=False, hash=False
    )  # as written (to quote or rewrite)

    @property
    def label(self) -> str:
        return f"Statement[{self.index}]" + (f" ({self.sid})" if self.sid else "")


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(str(v).strip() for v in items if v is not None)


def _principals(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return ("*",) if value.strip() == "*" else (f"AWS:{value.strip()}",)
    if isinstance(value, dict):
        out = []
        for kind, vs in value.items():
            for v in _strings(vs):
                out.append("*" if v == "*" else f"{kind}:{v}")
        return tuple(out)
    return tuple(f"AWS:{v}" for v in _strings(value))


def _conditions(value: Any) -> tuple[Condition, ...]:
    if not value:
        return ()
    if not isinstance(value, dict):
        return (Condition("?", "", ()),)  # not a mapping: applies to no request
    out = []
    for operator, block in value.items():
        if isinstance(block, dict):
            for key, vs in block.items():
                out.append(Condition(str(operator), str(key), _strings(vs)))
        else:
            out.append(Condition(str(operator), "", _strings(block)))
    return tuple(out)


def _opt(st: dict[str, Any], name: str) -> tuple[str, ...] | None:
    return _strings(st[name]) if name in st else None


def document(policy: Any) -> Any:
    """A policy document: parsed when given as JSON text (None when the text is not JSON), else as given."""
    if isinstance(policy, str | bytes):
        return _parsed(policy)
    return policy


@lru_cache(maxsize=1024)
def _parsed(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def raw_statements(policy: Any) -> list[Any]:
    """The ``Statement`` element as a list, whatever its items are."""
    policy = document(policy)
    if not isinstance(policy, dict):
        return []
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def statement_dicts(policy: Any) -> list[dict[str, Any]]:
    """The statements that are mappings, as written (to quote or rewrite them)."""
    return [st for st in raw_statements(policy) if isinstance(st, dict)]


def statement(st: dict[str, Any], index: int = 0) -> Statement:
    """One statement as written (exact-case element names; see ``case_problems`` for the others), normalised."""
    return Statement(
        index=index,
        effect=str(st.get("Effect", "")).strip(),
        principals=_principals(st.get("Principal")) if "Principal" in st else None,
        not_principals=_principals(st.get("NotPrincipal")) if "NotPrincipal" in st else None,
        actions=_opt(st, "Action"),
        not_actions=_opt(st, "NotAction"),
        resources=_opt(st, "Resource"),
        not_resources=_opt(st, "NotResource"),
        conditions=_conditions(st.get("Condition")),
        sid=str(st.get("Sid", "")),
        raw=st,
    )


def statements(policy: Any) -> list[Statement]:
    """The policy's statements (a document, or its JSON text: parsed once per text), normalised; the one reader
    for the public-policy guardrail, the widening check, the plan's account check and the emulator."""
    if isinstance(policy, str | bytes):
        return list(_text_statements(policy))
    return [statement(st, i) for i, st in enumerate(raw_statements(policy)) if isinstance(st, dict)]


@lru_cache(maxsize=1024)
def _text_statements(text: str | bytes) -> tuple[Statement, ...]:
    """Read once per policy text: a plan evaluates the same policy for every delivery into a destination."""
    return tuple(statements(_parsed(text)))


def case_problems(policy: Any) -> list[str]:
    """Element names and ``Effect`` values that IAM would not read as meant (it is case-sensitive), one line each."""
    out: list[str] = []
    if not isinstance(policy, dict):
        return out

    def check(names: dict[str, Any], known: tuple[str, ...], where: str) -> None:
        exact = {k.lower(): k for k in known}
        for name in names:
            want = exact.get(str(name).lower())
            if want is None:
                out.append(f"{where}unknown element {name!r} (IAM knows {', '.join(known)})")
            elif want != name:
                out.append(f"{where}element {name!r} must be written {want!r} (IAM's exact case)")

    check(policy, TOP_ELEMENTS, "")
    for i, st in enumerate(raw_statements(policy)):
        where = f"Statement[{i}]: "
        if not isinstance(st, dict):
            out.append(f"{where}a statement must be a mapping")
            continue
        check(st, ELEMENTS, where)
        effect = st.get("Effect")
        if effect is None:
            out.append(f"{where}Effect is required (Allow or Deny)")
        elif effect not in EFFECTS:
            out.append(f"{where}Effect {effect!r} must be exactly Allow or Deny")
        for name in ("Principal", "NotPrincipal"):
            value = st.get(name)
            if isinstance(value, dict):
                check(value, PRINCIPAL_TYPES, f"{where}{name}: ")
    return out


def _specific(principal: str) -> bool:
    """An account, role, user or service named exactly (no wildcard anywhere)."""
    if principal == "*" or "*" in principal or "?" in principal:
        return False
    kind, _, value = principal.partition(":")
    if kind == "AWS":
        return bool(_ACCOUNT.fullmatch(value) or _ACCOUNT_ARN.fullmatch(value))
    if kind == "Service":
        return bool(re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com(\.cn)?", value))
    return bool(value)  # Federated, CanonicalUser: named


def _pins(c: Condition) -> bool:
    return (
        c.operator in PINNING_OPERATORS
        and c.key.lower() in PINNING_KEYS
        and bool(c.values)
        and all(v and "*" not in v and "?" not in v for v in c.values)
    )


def public_reason(st: Statement) -> str | None:
    """Why an Allow statement lets anyone in (None when it does not, or is a Deny)."""
    if st.effect != "Allow":
        return None
    if st.not_principals is not None:
        return "Allow with NotPrincipal lets in every principal it does not list"
    principals = st.principals if st.principals is not None else ("*",)
    loose = [p for p in principals if not _specific(p)]
    if not loose:
        return None
    if any(_pins(c) for c in st.conditions):
        return None
    shown = ", ".join(sorted({p.partition(":")[2] or p for p in loose}))
    return (
        f"principal {shown} is not a specific account, role or service and no condition pins the caller "
        "(StringEquals or ArnEquals on aws:SourceAccount, aws:SourceOrgID, aws:PrincipalOrgID, aws:PrincipalAccount "
        "or aws:SourceArn, without wildcards)"
    )


def public_statements(policy: Any) -> list[tuple[int, str]]:
    """(index, reason) of every public statement."""
    return [(st.index, r) for st in statements(policy) if (r := public_reason(st)) is not None]


def grants(policy: Any) -> set[tuple[str, str, str, bool]]:
    """What a policy allows, as (principal, action, resource, conditioned) per Allow statement."""
    out: set[tuple[str, str, str, bool]] = set()
    for st in statements(policy):
        if st.effect != "Allow":
            continue
        if st.not_principals is not None:
            principals: tuple[str, ...] = tuple(f"not {p}" for p in st.not_principals) or ("*",)
        else:
            principals = st.principals if st.principals is not None else ("*",)
        actions = st.actions if st.actions is not None else tuple(f"not {a}" for a in st.not_actions or ())
        resources = st.resources if st.resources is not None else ("*",)
        for p in principals:
            for a in actions:
                for r in resources:
                    out.add((p, a, r, bool(st.conditions)))
    return out


def principal_account(principal: str) -> str | None:
    """The account a principal belongs to ("*" for any), or None for a service or other non-account principal."""
    if principal == "*":
        return "*"
    kind, _, value = principal.partition(":")
    if kind != "AWS":
        return None
    if value == "*":
        return "*"
    if _ACCOUNT.fullmatch(value):
        return value
    parts = value.split(":")
    if len(parts) > 4 and value.startswith("arn:"):
        return "*" if "*" in parts[4] or "?" in parts[4] or not parts[4] else parts[4]
    return None


def _applies_to(st: Statement, account: str) -> bool:
    if st.not_principals is not None:
        return all(principal_account(p) not in (account, "*") for p in st.not_principals)
    principals = st.principals if st.principals is not None else ("*",)
    return any(principal_account(p) in (account, "*") for p in principals)


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special."""
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _matches(patterns: tuple[str, ...] | None, not_patterns: tuple[str, ...] | None, value: str,
             fold: bool) -> bool:  # fmt: skip
    def hit(ps: tuple[str, ...]) -> bool:
        return any(glob_match(p, value, ignore_case=fold) for p in ps)

    if patterns is not None:
        return hit(patterns)
    if not_patterns is not None:
        return not hit(not_patterns)
    return False


def allows(policy: Any, account: str, action: str, resource: str) -> bool:
    """Does a resource policy let ``account`` do ``action`` on ``resource``? An explicit Deny wins; NotPrincipal,
    NotAction and NotResource are honoured; conditions are not evaluated (a caller with no context matches)."""
    allowed = False
    for st in statements(policy):
        if st.effect not in EFFECTS or not _applies_to(st, account):
            continue
        if not _matches(st.actions, st.not_actions, action, fold=True):
            continue
        if not _matches(st.resources, st.not_resources, resource, fold=False):
            continue
        if st.effect == "Deny":
            return False
        allowed = True
    return allowed


def accounts_allowed(policy: Any, action: str = "logs:CreateDelivery") -> set[str]:
    """Accounts an Allow statement names for ``action`` ("*" for any account)."""
    out: set[str] = set()
    for st in statements(policy):
        if st.effect != "Allow" or not _matches(st.actions, st.not_actions, action, fold=True):
            continue
        if st.not_principals is not None:
            out.add("*")
            continue
        for p in st.principals if st.principals is not None else ("*",):
            acct = principal_account(p)
            if acct is not None:
                out.add(acct)
    return out
