"""``reconciler init``: a project that validates at once, never overwriting without --force."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import run_cli


def test_init_writes_a_project_that_validates(tmp_path: Path) -> None:
    target = tmp_path / "logging"
    result = run_cli("init", str(target), "--project", "payments", "--account", "123456789012", "--region",
                     "eu-west-1")  # fmt: skip
    assert result.code == 0, result.err
    project = (target / "reconciler.yaml").read_text()
    assert project.startswith("# yaml-language-server: $schema=schemas/project.schema.json\n")
    assert "project: payments" in project and 'account: "123456789012"' in project
    assert "# lock:" in project and "# timeouts:" in project  # the options, commented
    example = (target / "manifests" / "example.yaml").read_text()
    assert example.startswith("# yaml-language-server: $schema=../schemas/manifest.schema.json\n")
    assert (target / "schemas" / "manifest.schema.json").exists()
    assert not (target / ".github").exists()
    ok = run_cli("validate", cwd=target)
    assert ok.code == 0, ok.err
    assert ok.out.startswith("OK: 1 files, 1 Delivery, 1 DeliveryDestination, 1 DeliverySource; scopes: "
                             "123456789012/eu-west-1")  # fmt: skip


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("project: mine\nregion: us-east-1\n")
    result = run_cli("init", cwd=tmp_path)
    assert result.code == 1
    assert result.err.strip() == "error: reconciler.yaml exists; nothing was written (--force overwrites)"
    assert (tmp_path / "reconciler.yaml").read_text() == "project: mine\nregion: us-east-1\n"
    assert not (tmp_path / "manifests").exists()
    forced = run_cli("init", "--force", cwd=tmp_path)
    assert forced.code == 0, forced.err
    assert f"project: {tmp_path.name}" in (tmp_path / "reconciler.yaml").read_text()


def test_init_github_writes_the_three_workflows(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path), "--github")
    assert result.code == 0, result.err
    for what in ("plan", "apply", "drift"):
        flow = yaml.safe_load((tmp_path / ".github" / "workflows" / f"reconciler-{what}.yml").read_text())
        job = flow["jobs"][what]
        assert job["uses"] == f"OWNER/reconciler/.github/workflows/{what}.yml@main"
        assert job["with"]["aws-role-arn"] == "${{ vars.RECONCILER_ROLE_ARN }}"
        assert "vended-log-reconciler" in job["with"]["install"]
        assert flow["permissions"]["id-token"] == "write"


def test_init_refuses_bad_values_in_one_line(tmp_path: Path) -> None:
    bad_account = run_cli("init", str(tmp_path), "--account", "1234")
    assert bad_account.code == 1
    assert bad_account.err.strip() == "error: --account: must be a 12-digit account id (quote it in YAML)"
    bad_region = run_cli("init", str(tmp_path), "--region", "eu-west-10")
    assert bad_region.code == 1
    assert bad_region.err.startswith("error: --region: 'eu-west-10' is not an AWS region")
    assert list(tmp_path.iterdir()) == []


def test_empty_directory_points_to_init(tmp_path: Path) -> None:
    result = run_cli("plan", cwd=tmp_path)
    assert result.code == 1
    assert "create one with `reconciler init`" in result.err
