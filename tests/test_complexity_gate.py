"""The complexity gate (scripts/complexity.py): pure tests of what it measures and when it fails."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType

from conftest import ROOT


def gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("complexity_gate", ROOT / "scripts" / "complexity.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def branches(name: str, n: int) -> str:
    """A function of cyclomatic complexity n + 1 (n ifs)."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(n))
    return f"def {name}(x):\n{body}    return -1\n"


def test_measures_functions_methods_and_closures_outside_the_emulator(tmp_path: Path) -> None:
    pkg = tmp_path / "reconciler"
    (pkg / "sandbox").mkdir(parents=True)
    (pkg / "a.py").write_text(
        branches("flat", 15)
        + "class K:\n"
        + textwrap.indent(branches("method", 3), "    ")
        + "def outer():\n"
        + textwrap.indent(branches("inner", 16), "    ")
        + "    return inner\n"
    )
    (pkg / "sandbox" / "server.py").write_text(branches("emulated", 40))
    measured = gate().measure(tmp_path)
    assert measured == {
        "reconciler/a.py:flat": 16,
        "reconciler/a.py:K.method": 4,
        "reconciler/a.py:outer": 1,
        "reconciler/a.py:outer.inner": 17,
    }


def test_fails_on_a_new_offender_and_on_a_listed_function_that_no_longer_needs_its_line() -> None:
    g = gate()
    measured = {"m.py:big": 16, "m.py:listed": 30, "m.py:fixed": 15, "m.py:small": 3}
    assert g.problems(measured, ["m.py:big", "m.py:listed"]) == []
    assert g.problems(measured, ["m.py:listed"]) == [
        "m.py:big has cyclomatic complexity 16 (limit 15): split it"
    ]
    assert g.problems(measured, ["m.py:big", "m.py:listed", "m.py:fixed", "m.py:gone"]) == [
        "m.py:fixed is down to complexity 15 (limit 15): remove it from the allowlist",
        "m.py:gone is in complexity-allowlist.txt but no longer exists: remove it from the allowlist",
    ]
