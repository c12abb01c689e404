"""A new user's mistakes: one line each, located (FILE:LINE: field), with a hint where one is close."""

from __future__ import annotations

import re
import socket
import time
import tomllib

import botocore
import pytest
from conftest import ROOT, Workspace, doc, docs, run_cli


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
        "partition data); did you mean 'eu-west-1'?"
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
    assert result.err.strip().splitlines()[-1] == (
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
    assert meta["scripts"] == {"reconciler": "reconciler.launch:main"}
    readme = (ROOT / "README.md").read_text()
    installs = [line for line in readme.splitlines() if re.search(r"pip install\W+(reconciler|vended)", line)]
    assert installs and all("vended-log-reconciler" in line for line in installs)
    assert "git+https://" in readme
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = workflow.read_text()
        assert "pip install reconciler" not in text, workflow
    version = run_cli("--version")  # read from the installed distribution's metadata, under its new name
    assert version.code == 0 and version.out.startswith("reconciler, version "), version


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_endpoint_is_one_line_within_the_budget(ws: Workspace, sandbox: object) -> None:
    (ws.root / "reconciler.yaml").write_text(
        (ws.root / "reconciler.yaml").read_text() + "timeouts: {unreachableSeconds: 2, connectSeconds: 2}\n"
    )
    ws.write("s.yaml", SOURCE)
    port = _closed_port()
    url = f"http://127.0.0.1:{port}"
    line = (
        f"error: cannot reach {url} (connection refused) for sts:GetCallerIdentity in 111111111111; "
        "check --endpoint-url / AWS_ENDPOINT_URL"
    )
    for command, code in (("plan", 1), ("apply", 1), ("drift", 3)):
        start = time.monotonic()
        result = ws.cli(command, "--endpoint-url", url, *(["--auto-approve"] if command == "apply" else []))
        took = time.monotonic() - start
        assert result.code == code, (command, result)
        if command == "drift":  # the scope is reported unreadable: exit 3, never "in sync"
            assert line.removeprefix("error: ") in result.out, result
        else:
            assert line in result.err.splitlines(), (command, result.err)
        assert "Traceback" not in result.err
        assert took < 2 + 8, f"{command} took {took:.1f} s"  # the 2 s budget, plus backoff and a busy machine


def test_passwords_in_urls_are_masked(ws: Workspace, sandbox: object) -> None:
    (ws.root / "reconciler.yaml").write_text(
        (ws.root / "reconciler.yaml").read_text() + "timeouts: {unreachableSeconds: 0}\n"
    )
    ws.write("s.yaml", SOURCE)
    result = ws.cli("plan", "--debug", "--endpoint-url", f"http://admin:hunter2@127.0.0.1:{_closed_port()}")
    assert result.code == 1
    assert "hunter2" not in result.err + result.out
    assert "http://admin:***@127.0.0.1:" in result.err


def test_unknown_aws_profile_is_one_line(
    ws: Workspace, sandbox: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nope")
    ws.write("s.yaml", SOURCE)
    result = ws.cli("plan")
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "error: AWS profile 'nope' (from AWS_PROFILE) is not defined in ~/.aws/config or ~/.aws/credentials "
        "(AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE); `aws configure list-profiles` lists the defined ones"
    ]


def test_sandbox_on_a_busy_port_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("sandbox", "--port", str(port))
    assert result.code == 1
    assert result.err.strip() == (
        f"error: sandbox: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "choose another --port (0 picks a free one)"
    )


def test_reading_live_state_reports_each_scope_in_ci(ws: Workspace, sandbox: object) -> None:
    ws.write("s.yaml", SOURCE)
    result = ws.cli("plan")
    assert result.code == 0, result.err
    scope_lines = [line for line in result.err.splitlines() if line.startswith("read ")]
    assert [line.split(" (")[0] for line in scope_lines] == [
        "read 111111111111/us-east-1",
        "read 222222222222/us-east-1",
    ]
    assert all(": 0 resources" in line for line in scope_lines)
