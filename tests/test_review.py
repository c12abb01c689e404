"""What a reviewer and an on-call engineer see: the pull-request comment (golden markdown with its Mermaid picture),
`graph`, the plan digest and `apply --expect-digest`, `drift --notify` transitions and `scopes --max-jobs`."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from conftest import ROOT, Workspace, client, doc
from test_plan_apply import A, B, apply_ok, base, writes

GOLDEN = ROOT / "tests" / "golden"

WIDER_POLICY = f"""
policy:
  Version: "2012-10-17"
  Statement:
    - Effect: Allow
      Principal: {{AWS: ["{A}", "333333333333"]}}
      Action: logs:CreateDelivery
      Resource: "arn:aws:logs:us-east-1:{B}:delivery-destination:central"
"""


def review_change(ws: Workspace) -> None:
    """From base(): a create, an update, a replace (with its delivery), deletes and a widened policy."""
    text = base(output_format="json", source_tags="{cost: '2', owner: alice}")
    text = text.replace("destinationResourceArn: arn:aws:logs:us-east-1:222222222222:log-group:central\n", "")
    parts = text.split("---\n")
    kept = [p for p in parts if "s-sso" not in p and "name: central" not in p]
    central = doc(
        "DeliveryDestination",
        "central",
        f"outputFormat: json\ndestinationResourceArn: arn:aws:logs:us-east-1:{B}:log-group:central" + WIDER_POLICY,
        account=B,
    )
    new_source = doc(
        "DeliverySource",
        "s-kb2",
        f"logType: APPLICATION_LOGS\nresourceArn: arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB00000002",
    )
    ws.write("main.yaml", "---\n".join([*kept, central, new_source]))


def normalise(md: str) -> str:
    return re.sub(r"- id: \S+", "- id: ID", md)


def test_plan_comment_golden(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    review_change(ws)
    md = ws.cli("plan", "--format", "markdown")
    assert md.code == 0, md.err
    got = normalise(md.out)
    golden = GOLDEN / "plan-comment.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()
