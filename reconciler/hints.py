"""``did you mean ...?``: the closest valid values to a mistyped one (difflib), for one-line error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """The ``n`` candidates closest to ``word`` (case-insensitive), best first; empty when none is close."""
    pool = sorted({c for c in candidates if isinstance(c, str)})
    if not isinstance(word, str) or not pool:
        return []
    lowered = {c.lower(): c for c in pool}
    exact = lowered.get(word.lower())
    if exact is not None and exact != word:
        return [exact]
    found = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=cutoff)
    return [lowered[f] for f in found if lowered[f] != word]


def did_you_mean(word: str, candidates: Iterable[str], quote: bool = True) -> str:
    """``"; did you mean 'x'?"`` or ``""``: appended to a message."""
    best = closest(word, candidates)
    if not best:
        return ""
    return f"; did you mean {best[0]!r}?" if quote else f"; did you mean {best[0]}?"
