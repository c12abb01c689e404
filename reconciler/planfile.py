"""Saved plan files: recognised by their content, read into a ``Plan`` (no AWS import, so ``show`` stays light)."""

from __future__ import annotations

import json
from pathlib import Path

from . import plan as planmod
from .errors import StalePlanError


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
