"""The pipeline renders the manifests once, also when the default account comes from the caller's identity."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import manifest as manifestmod

from .conftest import Workspace, doc

KB = "arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB00000001"


def test_a_plan_without_a_project_account_renders_each_manifest_once(
    ws: Workspace, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ws.root / "reconciler.yaml").write_text("project: tests\nregion: us-east-1\nmanifests: manifests/\n")
    ws.write("a.yaml", doc("DeliverySource", "s-a", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"))
    ws.write("b.yaml", doc("DeliverySource", "s-b", f"logType: APPLICATION_LOGS\nresourceArn: {KB[:-1]}2"))
    rendered: list[str] = []
    real = manifestmod.render_file

    def counting(env: Any, path: Any, root: Any) -> Any:
        rendered.append(path.name)
        return real(env, path, root)

    monkeypatch.setattr(manifestmod, "render_file", counting)
    result = ws.cli("plan", "--no-color")
    assert result.code == 0, result.err
    assert "s-a" in result.out and "s-b" in result.out, result.out
    assert sorted(rendered) == [
        "a.yaml",
        "b.yaml",
    ]  # before: each twice (once more after the caller's account)
