"""What a reviewer and an on-call engineer see: the pull-request comment (golden markdown with its Mermaid picture),
`graph`, the plan digest and `apply --expect-digest`, `drift --notify` transitions and `scopes --max-jobs`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Workspace, client, doc
from test_plan_apply import A, B, apply_ok, base, writes

from reconciler import graph as graphmod
from reconciler.diff import Action, Change
from reconciler.models import Kind, Resource

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
        f"outputFormat: json\ndestinationResourceArn: arn:aws:logs:us-east-1:{B}:log-group:central"
        + WIDER_POLICY,
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


def test_digest_in_every_view_and_expect_digest_match_and_mismatch(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    reviewed = ws.cli("plan", "--format", "json")
    digest = json.loads(reviewed.out)["plan_digest"]
    (ws.root / "reviewed.json").write_text(reviewed.out)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert f"Plan digest: {digest}" in ws.cli("plan").out
    assert f"<!-- reconciler-plan-digest: {digest} -->" in ws.cli("plan", "--format", "markdown").out
    saved = ws.cli("plan", "--out", "p.json")
    assert json.loads((ws.root / "p.json").read_text())["plan_digest"] == digest and saved.code == 0
    # the same changes planned again (new timings, counts) give the same digest
    assert json.loads(ws.cli("plan", "--format", "json").out)["plan_digest"] == digest

    # someone changes AWS after the review: the merge plan differs, nothing is written
    client(sandbox).put_delivery_source(
        name="s-sso", resourceArn="arn:aws:sso:::instance/ssoins-0000000000000001", logType="ERROR_LOGS",
        tags={"reconciler:project": "tests"},
    )  # fmt: skip
    before = writes(sandbox)
    refused = ws.cli("apply", "--auto-approve", "--expect-digest", digest)
    assert refused.code == 1
    first = refused.err.splitlines()[0]
    assert first.startswith("error: the plan's changes are not the reviewed ones (reviewed digest " + digest)
    assert "nothing was written" in first and "Traceback" not in refused.err
    assert "  now: create 111111111111/us-east-1/DeliverySource/s-kb" in refused.err
    # with the reviewed JSON plan, the exact difference
    exact = ws.cli("apply", "--auto-approve", "--expect-digest", "reviewed.json")
    assert exact.code == 1, exact.err
    assert exact.err.splitlines()[1:] == [
        "  differs: 111111111111/us-east-1/DeliverySource/s-sso (create when reviewed, update now)"
    ]
    assert writes(sandbox) == before
    # the changes as they are now match their own digest and apply
    now = json.loads(ws.cli("plan", "--format", "json").out)["plan_digest"]
    assert now != digest
    ok = ws.cli("apply", "--auto-approve", "--expect-digest", now)
    assert ok.code == 0, ok.err
    # --allow-plan-drift: warn, then apply
    ws.write("main.yaml", base(source_tags="{cost: '3', owner: alice}"))
    drifted = ws.cli("apply", "--auto-approve", "--expect-digest", digest, "--allow-plan-drift")
    assert drifted.code == 0 and "warning: the plan's changes are not the reviewed ones" in drifted.err
    assert ws.cli("plan", "--detailed-exitcode").code == 0


# ---- the picture -----------------------------------------------------------------------------------------------

MERMAID_DIR = ROOT / "tests" / "mermaid"


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)


def parse_mermaid(diagrams: list[str], tmp_path: Path) -> list[str]:
    """Each diagram through mermaid's own parser (node + jsdom, no browser): one "FILE: ok TYPE" line each."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: mermaid's parser cannot run (the structural checks still do)")
    assert (MERMAID_DIR / "node_modules" / "mermaid").is_dir(), "run `make test` (it installs tests/mermaid)"
    files = []
    for i, text in enumerate(diagrams):
        path = tmp_path / f"d{i}.mmd"
        path.write_text(text)
        files.append(str(path))
    proc = subprocess.run(["node", str(MERMAID_DIR / "parse.mjs"), *files], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def check_structure(text: str) -> None:
    """What mermaid's parser does not check: every edge and class names a declared node, linkStyle indexes exist,
    subgraphs close."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    declared = re.findall(r"^\s+(n\d+)\[", text, flags=re.M)
    assert len(declared) == len(set(declared))
    edges = re.findall(r"^\s+(n\d+) (?:-->|-\.->)\|\"[^\"]*\"\| (n\d+)$", text, flags=re.M)
    assert all(a in declared and b in declared for a, b in edges)
    styled = [int(i) for i in re.findall(r"^\s+linkStyle (\d+) ", text, flags=re.M)]
    assert styled == list(range(len(edges)))
    for ids in re.findall(r"^\s+class (\S+) \w+$", text, flags=re.M):
        assert set(ids.split(",")) <= set(declared)
    assert text.count("subgraph ") == len(re.findall(r"^\s+end$", text, flags=re.M))


def many_sources(n: int) -> list[Change]:
    """n new sources in two services and two accounts, each delivering to one of two destinations."""
    changes = []
    dest = {a: Resource(Kind.DESTINATION, a, "us-east-1", "central", {"outputFormat": "json",
            "destinationResourceArn": f"arn:aws:logs:us-east-1:{a}:log-group:c"}) for a in (A, B)}  # fmt: skip
    for d in dest.values():
        changes.append(Change(Action.CREATE, None, d))
    for i in range(n):
        account = A if i % 2 else B
        service = "bedrock" if i % 3 else "sso"
        arn = (f"arn:aws:bedrock:us-east-1:{account}:knowledge-base/KB{i:08d}" if service == "bedrock"
               else f"arn:aws:sso:::instance/ssoins-{i:016d}")  # fmt: skip
        src = Resource(Kind.SOURCE, account, "us-east-1", f"s-{i}", {"resourceArn": arn, "logType": "TRACES"})
        target = dest[B if i % 5 == 0 else account]
        d = Resource(Kind.DELIVERY, account, "us-east-1", f"d-{i}", {"deliverySourceName": f"s-{i}",
                     "deliveryDestinationArn": f"arn:aws:logs:us-east-1:{target.account}:delivery-destination:central",
                     "deliveryDestinationType": "CWL", "sourceService": service})  # fmt: skip
        changes += [Change(Action.CREATE, None, src), Change(Action.CREATE, None, d)]
    return changes


def test_large_picture_folds_by_service_and_says_so() -> None:
    g = graphmod.cap(graphmod.build(many_sources(300), []), 40)
    assert len(g.nodes) <= 40
    assert g.folded.startswith("302 sources and destinations are more than 40: folded by service into ")
    text = graphmod.mermaid(g)
    check_structure(text)
    assert "150 bedrock sources" not in text  # grouped per account: 100 + 100 bedrock, 50 + 50 sso
    assert '"100 bedrock sources' in text and '"50 sso sources' in text
    assert "deliveries · cross-account" in text  # folded edges are counted and keep the cross-account label


def test_picture_renders_without_aws_code() -> None:
    code = "import sys, reconciler.graph; print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_mermaid_parses_and_graph_command(ws: Workspace, sandbox: Any, tmp_path: Path) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    review_change(ws)
    comment = ws.cli("plan", "--format", "markdown").out
    estate = ws.cli("graph")
    changes_only = ws.cli("graph", "--changes-only")
    assert estate.code == 0 and changes_only.code == 0, estate.err + changes_only.err
    dot = ws.cli("graph", "--format", "dot")
    assert dot.code == 0 and dot.out.startswith("digraph reconciler {") and "cluster_222222222222" in dot.out
    assert "sso-to-central (cross-account)" in dot.out and 'style="dashed"' in dot.out
    folded = graphmod.mermaid(graphmod.cap(graphmod.build(many_sources(300), []), 40))
    diagrams = [*mermaid_blocks(comment), estate.out, changes_only.out, folded]
    for text in diagrams:
        check_structure(text)
    assert [line.split(": ", 1)[1] for line in parse_mermaid(diagrams, tmp_path)] == ["ok flowchart-v2"] * 4
