"""Findings, notes and change warnings travel through the plan, its saved form and every view."""

from __future__ import annotations

import json

from reconciler import plan as planmod
from reconciler import render
from reconciler.diff import Action, Change
from reconciler.findings import Finding, Severity
from reconciler.models import Kind, Resource


def _plan() -> planmod.Plan:
    src = Resource(Kind.SOURCE, "111111111111", "us-east-1", "alb", {"resourceArn": "arn:x", "logType": "A"})
    change = Change(Action.CREATE, None, src, "new", warnings=["objects will land under a new S3 prefix"])
    findings = [
        Finding("Delivery/b", "s3-policy-missing", Severity.ERROR, "bucket policy has no grant", "add it"),
        Finding("", "capabilities-stale", Severity.INFO, "live templates differ"),
    ]
    return planmod.build([change], "p", findings=findings, notes=["prune off: only 1 of 5 manifest files"])


def test_findings_sorted_and_round_trip_through_saved_plan() -> None:
    plan = _plan()
    assert [f.code for f in plan.findings] == ["capabilities-stale", "s3-policy-missing"]
    loaded = planmod.from_json(json.loads(planmod.dumps(plan)))
    assert loaded.findings == plan.findings
    assert loaded.notes == plan.notes
    assert loaded.changes[0].warnings == ["objects will land under a new S3 prefix"]


def test_views_show_findings_notes_and_warnings() -> None:
    plan = _plan()
    text = render.plan_text(plan)
    assert text.startswith("prune off: only 1 of 5 manifest files\n")
    assert "! objects will land under a new S3 prefix" in text
    assert "! error s3-policy-missing Delivery/b: bucket policy has no grant" in text
    doc = json.loads(render.plan_json(plan))
    assert doc["findings"][1] == {
        "address": "Delivery/b",
        "code": "s3-policy-missing",
        "severity": "error",
        "message": "bucket policy has no grant",
        "fix": "add it",
    }
    assert doc["notes"] == ["prune off: only 1 of 5 manifest files"]
    md = render.plan_markdown(plan)
    assert "**Findings: 2**" in md
    assert md.index("s3-policy-missing") < md.index("<details>")  # findings before the changes
