"""The manifest rule registry: unique ids, and the README's table of rules says what the code registers."""

from __future__ import annotations

import re

from conftest import ROOT

from reconciler import manifest_rules


def registered() -> list[tuple[str, str, str]]:
    admission = [(a.id, a.summary, a.check.__name__) for a in manifest_rules.ADMISSION]
    return admission + [(r.id, r.summary, r.check.__name__) for r in manifest_rules.RULES]


def test_rule_ids_are_unique_and_in_order() -> None:
    ids = [i for i, _, _ in registered()]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert all(re.fullmatch(r"M\d{3}", i) for i in ids)


def test_the_readme_lists_every_rule() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (M\d{3}) \| (.+?) \| `(\w+)` \|$", readme, re.MULTILINE)
    assert rows == registered()
