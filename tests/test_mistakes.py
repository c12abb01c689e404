"""A new user's mistakes: one line each, located (FILE:LINE: field), with a hint where one is close."""

from __future__ import annotations

import tomllib

import botocore
from conftest import ROOT, Workspace, doc, docs


def test_project_file_errors_carry_lines_and_hints(ws: Workspace) -> None:
    (ws.root / "reconciler.yaml").write_text(
        "project: p\n"
        "region: us-east-1\n"
        'account: "111111111111"\n'
        "acounts: {}\n"
        "manifests: manifests/\n"
        "lock: {dynamodbTable: t, leaseSecond: 3}\n"
    )
    result = ws.cli("validate")
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: reconciler.yaml:4: acounts: unknown field; did you mean accounts?",
        "error: reconciler.yaml:6: lock.leaseSecond: unknown field; did you mean leaseSeconds?",
    ]


def test_a_region_that_does_not_exist_is_refused_by_validate(ws: Workspace) -> None:
    (ws.root / "reconciler.yaml").write_text("project: p\nregion: eu-west-10\nmanifests: manifests/\n")
    result = ws.cli("validate")
    assert result.code == 1
    assert result.err.splitlines() == [
        f"error: reconciler.yaml:2: region: 'eu-west-10' is not an AWS region (botocore {botocore.__version__} "
        "partition data); did you mean 'eu-west-1' or 'us-west-1' or 'eu-west-3'?"
    ]


def test_unknown_environment_has_a_hint(ws: Workspace) -> None:
    (ws.root / "reconciler.yaml").write_text(
        "project: p\nregion: us-east-1\nenvironments: {production: {}}\nmanifests: manifests/\n"
    )
    result = ws.cli("validate", "--env", "prodution")
    assert result.code == 1
    assert result.err.strip() == (
        "error: reconciler.yaml: --env: environment 'prodution' is not defined (defined: production); "
        "did you mean 'production'?"
    )


SOURCE = doc(
    "DeliverySource",
    "kb-app-logs",
    """
    logType: APPLICATION_LOGS
    resourceArn: arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB1
    """,
)


def test_target_or_exclude_matching_nothing_is_an_error_with_the_closest(
    ws: Workspace, sandbox: object
) -> None:
    ws.write("s.yaml", SOURCE)
    result = ws.cli("plan", "--target", "DeliverySource/kb-app-log")
    assert result.code == 1
    assert result.err.strip() == (
        "error: --target 'DeliverySource/kb-app-log' matches no resource in the manifests or in AWS; "
        "closest: DeliverySource/kb-app-logs"
    )
    result = ws.cli("plan", "--exclude", "111111111111/us-east-1/DeliverySource/kb-*-x")
    assert result.code == 1
    assert "--exclude '111111111111/us-east-1/DeliverySource/kb-*-x' matches no resource" in result.err
    assert "closest: 111111111111/us-east-1/DeliverySource/kb-app-logs" in result.err
    ok = ws.cli("plan", "--target", "DeliverySource/kb-*")
    assert ok.code == 0, ok.err


def test_a_broken_document_still_counts_for_references(ws: Workspace) -> None:
    destination = doc(
        "DeliveryDestination", "alb-logs-s3", "outputFormat: parquett\ndestinationResourceArn: arn:aws:s3:::b"
    )
    deliveries = [doc("Delivery", f"d{i}", "source: kb-app-logs\ndestination: alb-logs-s3") for i in range(5)]
    ws.write("all.yaml", docs(SOURCE, destination, *deliveries))
    result = ws.cli("validate")
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: manifests/all.yaml:14: DeliveryDestination/alb-logs-s3: spec.outputFormat: Input should be "
        "'json', 'plain', 'w3c', 'raw' or 'parquet'; did you mean 'parquet'?"
    ]


def test_distribution_name_is_ours_everywhere() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["name"] == "vended-log-reconciler"
    assert meta["scripts"] == {"reconciler": "reconciler.cli:main"}
    readme = (ROOT / "README.md").read_text()
    installs = [line for line in readme.splitlines() if "pip install" in line]
    assert installs and all("vended-log-reconciler" in line or "-e '.[dev]'" in line for line in installs)
    assert "git+https://" in readme
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = workflow.read_text()
        assert "pip install reconciler" not in text, workflow
    from reconciler.cli import main  # noqa: F401 - the import package keeps its name
