"""Golden cases as pure data: tests/golden/diff/<group>/<case>.json gives desired and live resources and the diff
options, and the expected plan (changes, steps in execution order, problems, unmanaged, ignored). No server: diff and
plan are pure. The format is described in tests/golden/diff/README.md. Run with UPDATE_GOLDEN=1 to rewrite the
``expected`` blocks after reviewing a change."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from reconciler import catalog
from reconciler import diff as diffmod
from reconciler import plan as planmod
from reconciler.models import Resource

CASES = sorted((ROOT / "tests" / "golden" / "diff").glob("*/*.json"))
PROJECT = "tests"
ACCOUNT, REGION = "111111111111", "us-east-1"
HOME = f"{ACCOUNT}/{REGION}/"
ARN_KIND = {"DeliverySource": "delivery-source", "DeliveryDestination": "delivery-destination"}
DELIVERY_DEFAULTS = {"recordFields": None, "fieldDelimiter": None, "s3DeliveryConfiguration": None}


def _arn(kind: str, account: str, region: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{account}:{ARN_KIND[kind]}:{name}"


def resource(item: dict[str, Any], live: bool) -> Resource:
    """A case's resource: account and region default to 111111111111/us-east-1, ARNs follow from the names, a live
    resource is the project's unless it says ``"owner": null`` (or another project), a desired one comes from
    ``manifests/NAME.yaml:1``."""
    data = dict(item)
    kind = data["kind"]
    account, region = data.setdefault("account", ACCOUNT), data.setdefault("region", REGION)
    attrs = dict(data.get("attrs", {}))
    if kind == "DeliverySource":
        attrs.setdefault("deliverySourceConfiguration", {})
    elif kind == "DeliveryDestination":
        attrs.setdefault("roleArn", None)
        attrs.setdefault(
            "deliveryDestinationType", catalog.destination_type_for_arn(attrs["destinationResourceArn"])
        )
    elif kind == "Delivery":
        target = str(data.pop("destination"))
        attrs["deliverySourceName"] = data.pop("source")
        attrs["deliveryDestinationArn"] = (
            target if target.startswith("arn:") else _arn("DeliveryDestination", account, region, target)
        )
        attrs = {**DELIVERY_DEFAULTS, **attrs}
    if kind in ("DeliverySource", "DeliveryDestination"):
        data.setdefault("arn", _arn(kind, account, region, data["name"]))
    elif kind == "DeliveryDestinationPolicy":
        data.setdefault("arn", _arn("DeliveryDestination", account, region, data["name"]))
    if live:
        data.setdefault("owner", PROJECT)
    else:
        data.setdefault("origin", f"manifests/{data['name']}.yaml:1")
    data["attrs"] = attrs
    return Resource.from_json(data)


def short(text: str) -> str:
    return text.replace(HOME, "")


def run(case: dict[str, Any]) -> dict[str, Any]:
    options = case.get("options", {})
    ignore = [diffmod.Ignore(i["address"], tuple(i.get("fields", ()))) for i in options.get("ignore", [])]
    desired = [resource(r, live=False) for r in case.get("desired", [])]
    live = [resource(r, live=True) for r in case.get("live", [])]
    result = diffmod.diff(
        desired,
        live,
        PROJECT,
        prune=options.get("prune", True),
        adopt=options.get("adopt", False),
        ignore=ignore,
    )
    plan = planmod.build(
        result.changes, PROJECT, targets=options.get("targets", []), excludes=options.get("excludes", [])
    )
    changes = []
    for c in plan.changes:
        entry: dict[str, Any] = {
            "action": c.action.value,
            "address": short(c.address),
            "reason": short(c.reason),
            "fields": [f.path for f in c.fields],
            "calls": planmod.calls_for(c),
        }
        if c.adopt:
            entry["adopt"] = True
        if c.warnings:
            entry["warnings"] = [short(w) for w in c.warnings]
        changes.append(entry)
    return {
        "changes": changes,
        "steps": [f"{phase} {short(plan.changes[i].address)}" for i, phase in plan.steps],
        "problems": [{"address": short(p.address), "message": short(p.message)} for p in result.problems],
        "unmanaged": [short(r.address) for r in result.unmanaged],
        "ignored": [short(i) for i in result.ignored],
    }


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_golden_data(path: Path) -> None:
    case = json.loads(path.read_text())
    got = run(case)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps({**case, "expected": got}, indent=2) + "\n")
    assert got == case["expected"], case.get("about", "")


def test_every_group_has_cases() -> None:
    groups = {p.parent.name for p in CASES}
    assert {"create", "update", "replace", "delete", "adopt", "prune", "ignore", "cascade", "order"} <= groups
