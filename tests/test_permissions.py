"""`reconciler permissions`: least-privilege policies for the example project, accepted by an IAM policy checker."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import ROOT, Workspace, doc, docs, run_cli
from parliament import analyze_policy_string

WRITE_PREFIXES = ("Put", "Create", "Update", "Delete", "Tag", "Untag", "Pass", "AssumeRole")


def actions(policy: dict[str, Any]) -> set[str]:
    return {a for st in policy["Statement"] for a in st["Action"]}


def check_grammar(text: str, escalation_ok: bool = False) -> None:
    """parliament finds nothing, except actions its database does not know yet (newer vended-log services) and,
    with grants: managed, that a role which may edit a bucket or key policy could widen it (inherent to the feature)."""
    findings = analyze_policy_string(text).findings
    unexpected = [
        (f.issue, f.detail)
        for f in findings
        if not (
            f.issue in ("UNKNOWN_ACTION", "UNKNOWN_PREFIX")
            and "AllowVendedLogDeliveryForResource" in str(f.location)
        )
        and not (escalation_ok and f.issue == "RESOURCE_POLICY_PRIVILEGE_ESCALATION")
    ]
    assert unexpected == []


def example(tmp_path: Path) -> Path:
    root = tmp_path / "example"
    shutil.copytree(ROOT / "manifests", root / "manifests")
    shutil.copy(ROOT / "reconciler.yaml", root / "reconciler.yaml")
    return root


def test_plan_policy_is_read_only_and_valid(tmp_path: Path) -> None:
    root = example(tmp_path)
    result = run_cli("permissions", "--for", "plan", cwd=root)
    assert result.code == 0, result.err
    policy = json.loads(result.out)
    check_grammar(result.out)
    acts = actions(policy)
    writes = {a for a in acts if a.split(":")[1].startswith(WRITE_PREFIXES) and a != "sts:AssumeRole"}
    assert writes == set()
    # the write-path reads for each destination type in the manifests (S3, CWL, Firehose, X-Ray)
    assert {"s3:GetBucketPolicy", "s3:GetEncryptionConfiguration", "logs:DescribeResourcePolicies",
            "firehose:ListTagsForDeliveryStream", "xray:GetTraceSegmentDestination"} <= acts  # fmt: skip
    assert {"sts:AssumeRole"} <= acts  # the central account is reached through a role


def test_apply_policy_adds_writes_on_the_manifests_resources(tmp_path: Path) -> None:
    root = example(tmp_path)
    result = run_cli("permissions", "--for", "apply", cwd=root)
    assert result.code == 0, result.err
    check_grammar(result.out)
    policy = json.loads(result.out)
    acts = actions(policy)
    assert {
        "logs:CreateDelivery",
        "logs:PutDeliverySource",
        "logs:DeleteDelivery",
        "logs:TagResource",
    } <= acts
    assert "s3:PutBucketPolicy" not in acts and "firehose:TagDeliveryStream" not in acts  # grants not managed
    assert "logs:PutResourcePolicy" not in acts and "logs:DeleteResourcePolicy" not in acts
    write = next(st for st in policy["Statement"] if st["Sid"] == "ReconcilerWrite")
    assert "arn:aws:logs:us-east-1:222222222222:delivery-destination:*" in write["Resource"]
    assert all(r != "*" for r in write["Resource"])
    slr = next(st for st in policy["Statement"] if st["Sid"] == "ReconcilerLogDeliveryRole")
    assert slr["Condition"] == {"StringLike": {"iam:AWSServiceName": "delivery.logs.amazonaws.com"}}


def test_only_the_types_in_use(ws: Workspace) -> None:
    ws.write("main.yaml", docs(
        doc("DeliverySource", "kb", "logType: APPLICATION_LOGS\n"
            "resourceArn: arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB00000001"),
        doc("DeliveryDestination", "to-s3", "outputFormat: json\ndestinationResourceArn: arn:aws:s3:::b-logs/x"),
        doc("Delivery", "kb-to-s3", "source: kb\ndestination: to-s3"),
    ))  # fmt: skip
    result = ws.cli("permissions", "--for", "apply")
    check_grammar(result.out)
    policy = json.loads(result.out)
    acts = actions(policy)
    assert not any(a.startswith(("firehose:", "xray:")) for a in acts)
    s3 = next(st for st in policy["Statement"] if st["Sid"] == "ReconcilerS3WritePath")
    assert s3["Resource"] == ["arn:aws:s3:::b-logs"]
    vended = next(
        st for st in policy["Statement"] if st["Action"] == ["bedrock:AllowVendedLogDeliveryForResource"]
    )
    assert vended["Resource"] == ["arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB00000001"]


def test_grant_writes_only_with_grants_managed(ws: Workspace) -> None:
    ws.write("main.yaml", docs(
        doc("DeliverySource", "kb", "logType: APPLICATION_LOGS\n"
            "resourceArn: arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB00000001"),
        doc("DeliveryDestination", "to-s3", "outputFormat: json\ndestinationResourceArn: arn:aws:s3:::b-logs"),
        doc("Delivery", "kb-to-s3", "source: kb\ndestination: to-s3"),
    ))  # fmt: skip
    assert "s3:PutBucketPolicy" not in actions(json.loads(ws.cli("permissions").out))
    (ws.root / "reconciler.yaml").write_text((ws.root / "reconciler.yaml").read_text() + "grants: managed\n")
    result = ws.cli("permissions", "--for", "apply")
    check_grammar(result.out, escalation_ok=True)
    policy = json.loads(result.out)
    grant = next(st for st in policy["Statement"] if st["Sid"] == "ReconcilerS3Grant")
    assert grant["Resource"] == ["arn:aws:s3:::b-logs"] and "s3:PutBucketPolicy" in grant["Action"]
    assert "kms:PutKeyPolicy" in actions(policy)
    assert not any(
        a.startswith(("s3:Put", "kms:Put"))
        for a in actions(json.loads(ws.cli("permissions", "--for", "plan").out))
    )


def test_log_group_grant_writes_only_with_grants_managed(ws: Workspace) -> None:
    ws.write("main.yaml", docs(
        doc("DeliverySource", "kb", "logType: APPLICATION_LOGS\n"
            "resourceArn: arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB00000001"),
        doc("DeliveryDestination", "to-cwl", "outputFormat: json\n"
            "destinationResourceArn: arn:aws:logs:us-east-1:111111111111:log-group:app-logs"),
        doc("Delivery", "kb-to-cwl", "source: kb\ndestination: to-cwl"),
    ))  # fmt: skip
    grant_writes = {"logs:PutResourcePolicy", "logs:DeleteResourcePolicy"}
    assert not grant_writes & actions(json.loads(ws.cli("permissions", "--for", "apply").out))
    ws.write("main.yaml", (ws.root / "manifests" / "main.yaml").read_text().replace(
        "outputFormat: json\n", "outputFormat: json\n  grants: managed\n", 1))  # fmt: skip
    result = ws.cli("permissions", "--for", "apply")
    check_grammar(result.out, escalation_ok=True)
    assert grant_writes <= actions(json.loads(result.out))
    plan_policy = json.loads(ws.cli("permissions", "--for", "plan").out)
    assert not grant_writes & actions(plan_policy) and "logs:DescribeResourcePolicies" in actions(plan_policy)
