"""Golden cases as data: tests/cases/<name>/ holds manifests/, live.yaml (boto3 calls that seed the sandbox) and
expected.json (the plan's changes). Run with UPDATE_GOLDEN=1 to rewrite expected.json after reviewing a change."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, Workspace, client

CASES = sorted(p for p in (ROOT / "tests" / "cases").iterdir() if p.is_dir())
KEEP = ("address", "action", "reason", "fields", "calls")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, sandbox: Any, tmp_path: Path) -> None:
    for call in yaml.safe_load((case / "live.yaml").read_text()) or []:
        getattr(client(sandbox, account=call.get("account")), call["op"])(**call["params"])
    ws = Workspace(tmp_path)
    shutil.rmtree(tmp_path / "manifests")
    shutil.copytree(case / "manifests", tmp_path / "manifests")
    result = ws.cli("plan", "--format", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    got = {"changes": [{k: c[k] for k in KEEP} for c in plan["changes"]], "unmanaged": plan["unmanaged"]}
    expected_file = case / "expected.json"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(expected_file.read_text())
