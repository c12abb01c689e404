"""Live resources → manifest documents, so hand-built delivery setups can be adopted (pure; no I/O).

Each exported kind writes its own spec (``export_spec`` in its module under ``kinds/``); a policy goes into its
destination's document.
"""

from __future__ import annotations

from typing import Any

from .kinds import KINDS, ExportContext
from .models import API_VERSION, Resource


def documents(resources: list[Resource]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Manifest documents per (account, region), in a stable order."""
    live = ExportContext(resources)
    exported = [r for r in resources if r.kind in KINDS and KINDS[r.kind].export_rank is not None]
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in sorted(exported, key=lambda r: (KINDS[r.kind].export_rank, r.account, r.region, r.name)):
        spec = KINDS[r.kind].export_spec(r, live)
        if r.tags:
            spec["tags"] = dict(sorted(r.tags.items()))
        doc = {
            "apiVersion": API_VERSION,
            "kind": r.kind.value,
            "metadata": {"name": r.name, "account": r.account, "region": r.region},
            "spec": spec,
        }
        out.setdefault((r.account, r.region), []).append(doc)
    return out
