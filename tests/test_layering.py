"""The views of a saved plan import no AWS code: ``show`` and the renderers load a plan from JSON and print it
without boto3, botocore or reconciler.aws in the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

AWS_MODULES = ("boto3", "botocore", "reconciler.aws", "reconciler.apply")


def _loaded_after(code: str, cwd: Path) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "module", ["reconciler.render", "reconciler.formats", "reconciler.planfile", "reconciler.freshness",
               "reconciler.results", "reconciler.dag"],
)  # fmt: skip
def test_importing_a_view_or_plain_data_module_loads_no_aws_module(module: str, tmp_path: Path) -> None:
    loaded = _loaded_after(f"import {module}", tmp_path)
    assert module in loaded
    assert not [m for m in loaded if m.startswith(AWS_MODULES)], sorted(
        m for m in loaded if m.startswith(AWS_MODULES)
    )


def test_a_saved_plan_is_read_and_shown_in_every_format_without_aws(tmp_path: Path) -> None:
    source = {"kind": "DeliverySource", "name": "s1", "account": "111111111111", "region": "us-east-1",
              "attrs": {"logType": "APPLICATION_LOGS",
                        "resourceArn": "arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB12345678"},
              "tags": {}}  # fmt: skip
    doc = {"format_version": 1, "project": "p",
           "changes": [{"address": "111111111111/us-east-1/DeliverySource/s1", "action": "create",
                        "before": None, "after": source}]}  # fmt: skip
    (tmp_path / "saved.plan").write_text(json.dumps(doc))
    code = (
        "from pathlib import Path\n"
        "import json\n"
        "from reconciler import planfile, render\n"
        "assert planfile.is_plan_file((Path('saved.plan'),))\n"
        "p = planfile.read(Path('saved.plan'))\n"
        "assert p.steps == [(0, 'apply')], p.steps\n"
        "for text in (render.plan_text(p), render.plan_json(p), render.plan_markdown(p)):\n"
        "    assert 'DeliverySource' in text, text\n"
    )
    loaded = _loaded_after(code, tmp_path)
    assert "reconciler.render" in loaded and "reconciler.planfile" in loaded
    assert not [m for m in loaded if m.startswith(AWS_MODULES)]
