"""The output formats: one registry per thing a command prints, feeding both its ``--format`` choice and the
dispatch (like cfn-lint's formatters), so a new format is one entry here (returns strings; never prints)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import yaml

from . import coverage as coveragemod
from . import graph as graphmod
from . import render
from . import verify as verifymod
from .drift import DriftReport
from .plan import Plan
from .results import ApplyResult

T = TypeVar("T")
Scope = tuple[str, str]  # (account, region)
View = Callable[[T, bool], str]  # (what is shown, colour) -> text


@dataclass(frozen=True)
class Formats(Generic[T]):
    """The formats one kind of output can be printed in; the first is the default."""

    views: dict[str, View[T]]

    @property
    def names(self) -> list[str]:
        return list(self.views)

    @property
    def default(self) -> str:
        return self.names[0]

    def render(self, fmt: str, value: T, color: bool = False) -> str:
        return self.views[fmt](value, color)


@dataclass
class ScopeJobs:
    """``scopes``: the scopes found, grouped into jobs (``grouped``: --max-jobs was given)."""

    found: list[Scope]
    jobs: list[list[Scope]]
    grouped: bool


@dataclass
class Verified:
    """``verify``: the observations' result, the command's exit code and the scopes it could not read."""

    result: verifymod.VerifyResult
    exit_code: int
    unreadable: list[str]


def _scopes_text(s: ScopeJobs, color: bool) -> str:
    if not s.grouped:
        return "".join(f"{a}/{r}\n" for a, r in s.found)
    return "".join(f"job {i}: {' '.join(f'{a}/{r}' for a, r in job)}\n" for i, job in enumerate(s.jobs, 1))


def _scopes_json(s: ScopeJobs, color: bool) -> str:
    from .scopes import (
        matrix_entry,
    )  # scopes reads the project file, whose region check is botocore's: only here

    return json.dumps({"include": [matrix_entry(i, job) for i, job in enumerate(s.jobs, 1)]}) + "\n"


def _verify_json(v: Verified, color: bool) -> str:
    doc = verifymod.to_json(v.result)
    doc["exit_code"], doc["unreadable_scopes"] = v.exit_code, v.unreadable
    return json.dumps(doc, indent=2) + "\n"


PLAN: Formats[Plan] = Formats(
    {
        "text": render.plan_text,
        "json": lambda p, _: render.plan_json(p),
        "markdown": lambda p, _: render.plan_markdown(p),
    }
)
APPLY: Formats[ApplyResult] = Formats({"text": render.apply_text, "json": lambda r, _: render.apply_json(r)})
DRIFT: Formats[DriftReport] = Formats(
    {
        "text": render.drift_text,
        "json": lambda r, _: render.drift_json(r),
        "markdown": lambda r, _: render.drift_markdown(r),
    }
)
COVERAGE: Formats[coveragemod.Report] = Formats(
    {
        "text": lambda r, _: coveragemod.render_text(r),
        "json": lambda r, _: coveragemod.render_json(r),
        "markdown": lambda r, _: coveragemod.render_markdown(r),
        "csv": lambda r, _: coveragemod.render_csv(r),
    }
)
GRAPH: Formats[graphmod.Graph] = Formats(
    {"mermaid": lambda g, _: graphmod.mermaid(g), "dot": lambda g, _: graphmod.dot(g)}
)
DOCUMENTS: Formats[list[dict[str, Any]]] = Formats(
    {
        "yaml": lambda docs, _: yaml.safe_dump_all(
            docs, sort_keys=False, default_flow_style=False, allow_unicode=True
        ),
        "json": lambda docs, _: json.dumps(docs, indent=2, sort_keys=False) + "\n",
    }
)
SCOPES: Formats[ScopeJobs] = Formats({"text": _scopes_text, "json": _scopes_json})
VERIFY: Formats[Verified] = Formats(
    {"text": lambda v, _: "\n".join(verifymod.summary(v.result)) + "\n", "json": _verify_json}
)
