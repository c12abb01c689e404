"""The complexity gate: no function outside reconciler/sandbox/ above radon cyclomatic complexity 15.

Functions above the limit today are listed in scripts/complexity-allowlist.txt (one ``path:function`` per line,
``#`` comments allowed); the list only shrinks: a listed function that is back at or below the limit (or gone) fails
the gate too, until its line is removed. ``python scripts/complexity.py --list`` prints every function above the
limit, worst first, allowlisted or not.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 15
PACKAGE = "reconciler"
EXCLUDED = ("reconciler/sandbox/",)
ALLOWLIST = ROOT / "scripts" / "complexity-allowlist.txt"


def _functions(blocks: list[Function | Class]) -> Iterator[tuple[str, int]]:
    """(qualified name, complexity) of every function and method (radon lists methods beside their class) and of
    every closure, a nested function named outer.inner."""
    for block in blocks:
        if isinstance(block, Function):
            yield block.fullname, block.complexity
            yield from _closures(block, block.fullname)


def _closures(func: Function, prefix: str) -> Iterator[tuple[str, int]]:
    for inner in func.closures:
        yield f"{prefix}.{inner.name}", inner.complexity
        yield from _closures(inner, f"{prefix}.{inner.name}")


def measure(root: Path = ROOT) -> dict[str, int]:
    """``path:function`` -> cyclomatic complexity, for every function of the package outside the emulator."""
    out: dict[str, int] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(EXCLUDED):
            continue
        for name, value in _functions(cc_visit(path.read_text())):
            key = f"{rel}:{name}"
            out[key] = max(value, out.get(key, 0))  # same name twice (e.g. an overload): the worst counts
    return out


def read_allowlist(path: Path = ALLOWLIST) -> list[str]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def problems(measured: dict[str, int], allowed: list[str]) -> list[str]:
    out = []
    for key, value in sorted(measured.items()):
        if value > LIMIT and key not in allowed:
            out.append(f"{key} has cyclomatic complexity {value} (limit {LIMIT}): split it")
    for key in sorted(set(allowed)):
        if key not in measured:
            out.append(f"{key} is in {ALLOWLIST.name} but no longer exists: remove it from the allowlist")
        elif measured[key] <= LIMIT:
            out.append(
                f"{key} is down to complexity {measured[key]} (limit {LIMIT}): remove it from the allowlist"
            )
    dupes = sorted({key for key in allowed if allowed.count(key) > 1})
    out += [f"{key} is listed twice in {ALLOWLIST.name}" for key in dupes]
    return out


def main(argv: list[str]) -> int:
    measured = measure()
    over = sorted(((v, k) for k, v in measured.items() if v > LIMIT), reverse=True)
    if "--list" in argv:
        for value, key in over:
            print(f"{value:4d}  {key}")
        return 0
    allowed = read_allowlist()
    found = problems(measured, allowed)
    for line in found:
        print(line)
    worst = ", ".join(f"{k.split(':', 1)[1]} {v}" for v, k in over[:5])
    print(
        f"complexity: {len(over)} functions above {LIMIT} ({len(allowed)} allowlisted); worst: {worst or 'none'}"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
