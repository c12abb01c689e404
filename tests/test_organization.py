"""Organisation scale through the CLI on the sandbox: accounts from AWS Organizations, selectors, coverage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Workspace, client

A = "111111111111"


def org_with_accounts(box: Any) -> dict[str, str]:
    """An organisation managed by A: prod (with a nested team OU), other; accounts in each. Returns ids by role."""
    org = client(box, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    team = org.create_organizational_unit(ParentId=prod, Name="team")["OrganizationalUnit"]["Id"]
    other = org.create_organizational_unit(ParentId=root, Name="other")["OrganizationalUnit"]["Id"]
    ids = {"root": root, "prod": prod, "team": team, "other": other}

    def account(name: str, parent: str, tags: dict[str, str]) -> str:
        status = org.create_account(AccountName=name, Email=f"{name}@example.com",
                                    Tags=[{"Key": k, "Value": v} for k, v in tags.items()])  # fmt: skip
        acct = str(status["CreateAccountStatus"]["AccountId"])
        org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=parent)
        return acct

    ids["p1"] = account("p1", prod, {"logging": "required"})
    ids["t1"] = account("t1", team, {"logging": "required"})
    ids["untagged"] = account("untagged", prod, {"logging": "optional"})
    ids["excluded"] = account("excluded", prod, {"logging": "required"})
    ids["closed"] = account("closed", team, {"logging": "required"})
    ids["elsewhere"] = account("elsewhere", other, {"logging": "required"})
    org.close_account(AccountId=ids["closed"])
    return ids


def org_project(ws: Workspace, ids: dict[str, str], extra: str = "") -> None:
    (ws.root / "reconciler.yaml").write_text(
        f'project: tests\nregion: us-east-1\naccount: "{A}"\n'
        "accounts:\n"
        f'  fromOrganization:\n    ous: [{ids["prod"]}]\n    exclude: ["{ids["excluded"]}"]\n'
        "    roleName: reconciler-delivery\n    tags: {logging: required}\n"
        f"{extra}manifests: manifests/\n"
    )


def test_accounts_from_organization_recursive_active_tagged_excluded(ws: Workspace, sandbox: Any) -> None:
    ids = org_with_accounts(sandbox)
    org_project(ws, ids)
    ws.write("none.yaml", "")
    want = sorted(
        [ids["p1"], ids["t1"]]
    )  # nested OU included; closed, untagged, excluded and other OU left out
    plan = ws.cli("plan", "--no-color")
    assert plan.code == 0, plan.err
    line = f"accounts from AWS Organizations ({ids['prod']}): 2: {want[0]}, {want[1]}; excluded: {ids['excluded']}"
    assert line in plan.out
    doc = json.loads(ws.cli("plan", "--format", "json").out)
    assert doc["notes"] == [line]
    assert doc["scopes"] == sorted([f"{A}/us-east-1", *(f"{a}/us-east-1" for a in want)])
    # each member account is read through the role the project names
    assert sandbox.count("DescribeDeliverySources", want[0]) >= 1
    matrix = json.loads(ws.cli("scopes", "--format", "json").out)
    assert [m["account"] for m in matrix["include"]] == sorted([A, *want])


def test_explicit_account_entry_wins_over_the_organization(ws: Workspace, sandbox: Any) -> None:
    ids = org_with_accounts(sandbox)
    org_project(ws, ids, extra=f'  "{ids["p1"]}": {{roleArn: "arn:aws:iam::{ids["p1"]}:role/hand-picked"}}\n')
    ws.write("none.yaml", "")
    doc = json.loads(ws.cli("plan", "--format", "json").out)
    assert f"{ids['p1']}/us-east-1" in doc["scopes"]


def test_bad_organization_settings_are_one_line(ws: Workspace, sandbox: Any, tmp_path: Path) -> None:
    (ws.root / "reconciler.yaml").write_text(
        "project: tests\nregion: us-east-1\naccounts:\n  fromOrganization: {ous: [prod]}\n"
    )
    res = ws.cli("validate")
    assert res.code == 1
    assert res.err.strip() == (
        "error: reconciler.yaml: accounts.fromOrganization.ous: 'prod' is not an organisational unit id like "
        "ou-ab12-cd34ef56"
    )
    (ws.root / "reconciler.yaml").write_text(
        "project: tests\nregion: us-east-1\naccounts:\n  fromOrganization: {}\n"
    )
    res = ws.cli("validate")
    assert "accounts.fromOrganization: name at least one organisational unit (ous) or root (roots)" in res.err
