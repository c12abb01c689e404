"""Saved plan files: recognised by their content, read into a ``Plan``, compared with a reviewed one (no AWS import,
so ``show`` stays light)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import plan as planmod
from .errors import ReconcilerError, StalePlanError


def is_plan_file(paths: tuple[Path, ...]) -> bool:
    """One PATH whose content is a saved plan (whatever its name; a manifest never is one)."""
    if len(paths) != 1 or not paths[0].is_file():
        return False
    try:
        with paths[0].open("rb") as f:
            head = f.read(1)
            while head in (b" ", b"\n", b"\r", b"\t"):
                head = f.read(1)
            if head != b"{":
                return False
        return planmod.is_plan_document(paths[0].read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


def read(path: Path) -> planmod.Plan:
    """A saved plan from its file (steps recomputed from its changes)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StalePlanError(f"{path}: not a readable plan file: {exc}") from None
    return planmod.from_json(doc)


def digest_mismatch(plan: planmod.Plan, expected: str) -> tuple[str, list[str]] | None:
    """``--expect-digest DIGEST|PLANFILE``: None when the plan's changes are the reviewed ones, else a headline and
    one line per change that differs (from a reviewed JSON plan) or per change now planned (from a bare digest)."""
    reviewed: list[dict[str, Any]] | None = None
    path = Path(expected)
    if expected.endswith(".json") or path.is_file():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            reviewed = list(doc["changes"])
            expected = planmod.json_changes_digest(reviewed)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise ReconcilerError(f"--expect-digest {path}: not a readable JSON plan: {exc}") from None
    now = plan.plan_digest
    if expected.strip().lower() == now:
        return None
    if reviewed is not None:
        lines = planmod.digest_difference(reviewed, plan.changes)
    else:
        lines = [f"  now: {ch.action.value} {ch.address}" for ch in plan.changes[:50]]
        if len(plan.changes) > 50:
            lines.append(f"  ... and {len(plan.changes) - 50} more")
        if not plan.changes:
            lines.append("  now: no changes")
    head = (
        f"the plan's changes are not the reviewed ones (reviewed digest {expected}, now {now}): AWS or the "
        "manifests changed since the review"
    )
    return head, lines
