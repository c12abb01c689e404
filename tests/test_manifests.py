"""Manifests: examples validate; every bad manifest in the corpus fails with its exact message and no AWS call."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import botocore
import jsonschema
import pytest
import yaml
from conftest import ROOT, Workspace, run_cli

CORPUS = sorted((ROOT / "tests" / "bad_manifests").glob("*.yaml"))


def expected(case: Path) -> list[str]:
    head = case.read_bytes().split(b"\n", 1)[0].decode()
    assert head.startswith("# expect: ")
    return head.removeprefix("# expect: ").replace("BOTOCORE", botocore.__version__).split(" || ")


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("case", CORPUS, ids=[c.stem for c in CORPUS])
def test_bad_manifest(case: Path, ws: Workspace, sandbox: object) -> None:
    shutil.copy(case, ws.root / "manifests" / case.name)
    sandbox.reset_counters()  # type: ignore[attr-defined]
    for command in ("validate", "plan"):
        result = ws.cli(command)
        assert result.code == 1, result
        lines = result.err.strip().splitlines()
        assert lines == [f"error: {line}" for line in expected(case)]
        assert "Traceback" not in result.err and result.out == ""
    assert sandbox.counters()["total"] == 0  # type: ignore[attr-defined]  # no AWS call for a bad manifest


def test_examples_validate() -> None:
    result = run_cli("validate", cwd=ROOT)
    assert result.code == 0, result.err
    assert result.out.startswith(
        "OK: 5 files, 7 Delivery, 5 DeliveryDestination, 1 DeliveryDestinationPolicy, 7 DeliverySource"
    )
    assert "111111111111/us-east-1, 222222222222/us-east-1" in result.out


def test_render_is_stable_and_defaulted() -> None:
    first = run_cli("render", "--format", "json", cwd=ROOT)
    second = run_cli("render", "--format", "json", cwd=ROOT)
    assert first.code == 0 and first.out == second.out
    docs = json.loads(first.out)
    names = [
        (d["metadata"]["account"], d["metadata"]["region"], d["kind"], d["metadata"]["name"]) for d in docs
    ]
    assert names == sorted(names)
    kb = next(d for d in docs if d["metadata"]["name"] == "kb-logs-s3")
    assert kb["spec"]["destinationResourceArn"] == "arn:aws:s3:::payments-dev-logs/bedrock"  # jinja rendered
    assert kb["spec"]["deliveryDestinationType"] == "S3"  # derived default
    assert kb["spec"]["tags"] == {"team": "platform"}  # defaultTags merged
    assert all("sourceService" not in d["spec"] for d in docs)  # derived fields stay internal
    yaml_out = run_cli("render", cwd=ROOT)
    assert list(yaml.safe_load_all(yaml_out.out)) == docs


def test_env_and_vars_are_applied(tmp_path: Path) -> None:
    prod = json.loads(run_cli("render", "--format", "json", "--env", "prod", cwd=ROOT).out)
    assert any(
        d["spec"].get("destinationResourceArn") == "arn:aws:s3:::payments-prod-logs/bedrock" for d in prod
    )
    qa = json.loads(run_cli("render", "--format", "json", "--var", "env=qa", cwd=ROOT).out)
    assert any(d["spec"].get("destinationResourceArn") == "arn:aws:s3:::payments-qa-logs/bedrock" for d in qa)
    var_file = tmp_path / "vars.yaml"
    var_file.write_text("buses: [only]\n")
    one = json.loads(run_cli("render", "--format", "json", "--var-file", str(var_file), cwd=ROOT).out)
    assert [d["metadata"]["name"] for d in one if d["metadata"]["name"].startswith("bus-")] == [
        "bus-only-errors",
        "bus-only-errors",
    ]
    missing = run_cli("validate", "--env", "staging", cwd=ROOT)
    assert missing.code == 1 and "environment 'staging' is not defined (defined: prod)" in missing.err


def test_schemas_are_up_to_date() -> None:
    assert run_cli("schema", "--out", str(ROOT / "schemas"), "--check").code == 0


def test_schemas_accept_examples_and_editor_lines() -> None:
    schemas = {p.name: json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.schema.json")}
    for path in sorted((ROOT / "manifests").glob("*.yaml")):
        text = path.read_text()
        assert text.startswith("# yaml-language-server: $schema=../schemas/manifest.schema.json")
        if "{%" in text or "{{" in text:
            continue
        for doc in yaml.safe_load_all(text):
            jsonschema.validate(doc, schemas[f"{doc['kind']}.schema.json"])
    project = yaml.safe_load((ROOT / "reconciler.yaml").read_text())
    jsonschema.validate(project, schemas["project.schema.json"])


def test_symlink_leaving_the_root_is_refused(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.yaml"
    outside.write_text("kind: DeliverySource\n")
    os.symlink(outside, ws.root / "manifests" / "link.yaml")
    result = ws.cli("validate")
    assert result.code == 1
    assert result.err.strip() == "error: manifests/link.yaml:1: symlink leaves the manifest root; refused"


def test_include_through_a_symlink_leaving_the_root(
    ws: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("password: hunter2\n")
    os.symlink(outside, ws.root / "snippet.txt")
    (ws.root / "inside.txt").write_text("# a comment from an allowed include\n")
    ws.write("ok.yaml", "{% include 'inside.txt' %}\n")
    assert ws.cli("validate").code == 0
    ws.write("leak.yaml", "{% include 'snippet.txt' %}\n")
    result = ws.cli("validate")
    assert result.code == 1
    assert (
        result.err.strip()
        == "error: manifests/leak.yaml:1: template: include 'snippet.txt' not found inside the manifest root"
    )


def test_debug_shows_the_traceback(ws: Workspace) -> None:
    shutil.copy(ROOT / "tests" / "bad_manifests" / "name-too-long.yaml", ws.root / "manifests")
    assert "Traceback" in ws.cli("validate", "--debug").err


def test_missing_project_file(tmp_path: Path) -> None:
    result = run_cli("validate", cwd=tmp_path)
    assert result.code == 1 and result.err.strip() == (
        "error: reconciler.yaml: project file not found; create one with `reconciler init` (or pass --config FILE)"
    )
