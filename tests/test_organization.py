"""Organisation scale through the CLI on the sandbox: accounts from AWS Organizations, selectors, coverage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Workspace, client

A, B = "111111111111", "222222222222"


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


def org_project(
    ws: Workspace, ids: dict[str, str], extra: str = "", tags: str = "{logging: required}"
) -> None:
    (ws.root / "reconciler.yaml").write_text(
        f'project: tests\nregion: us-east-1\naccount: "{A}"\n'
        "accounts:\n"
        f'  fromOrganization:\n    ous: [{ids["prod"]}]\n    exclude: ["{ids["excluded"]}"]\n'
        f"    roleName: reconciler-delivery\n    tags: {tags}\n"
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


def test_organization_tag_filters_take_any_of_several_values_or_any_value(
    ws: Workspace, sandbox: Any
) -> None:
    ids = org_with_accounts(sandbox)
    org = client(sandbox, "organizations")
    status = org.create_account(AccountName="bare", Email="bare@example.com")  # no logging tag at all
    ids["bare"] = str(status["CreateAccountStatus"]["AccountId"])
    org.move_account(AccountId=ids["bare"], SourceParentId=ids["root"], DestinationParentId=ids["prod"])
    ws.write("none.yaml", "")

    def matrix() -> list[str]:
        res = ws.cli("scopes", "--format", "json")
        assert res.code == 0, res.err
        return [m["account"] for m in json.loads(res.out)["include"]]

    # the same forms as a selector's tag filters: any of several values ...
    org_project(ws, ids, tags="{logging: [required, optional]}")
    assert matrix() == sorted([A, ids["p1"], ids["t1"], ids["untagged"]])
    org_project(ws, ids, tags="{logging: [optional]}")
    assert matrix() == sorted([A, ids["untagged"]])
    # ... and any value, which leaves out only the account without the key
    org_project(ws, ids, tags="{logging: []}")
    assert matrix() == sorted([A, ids["p1"], ids["t1"], ids["untagged"]])
    plan = ws.cli("plan", "--no-color")
    assert plan.code == 0, plan.err
    want = sorted([ids["p1"], ids["t1"], ids["untagged"]])
    assert f"accounts from AWS Organizations ({ids['prod']}): 3: {', '.join(want)}; excluded:" in plan.out
    org_project(ws, ids, tags="{}")  # no filter: every active account
    assert matrix() == sorted([A, ids["p1"], ids["t1"], ids["untagged"], ids["bare"]])
    org_project(
        ws, ids, tags="{logging: [required, 1]}"
    )  # one line, as a selector's filter, not one per form
    res = ws.cli("validate")
    assert res.code == 1 and "Traceback" not in res.err
    assert res.err.strip() == (
        "error: reconciler.yaml:9: accounts.fromOrganization.tags: tag 'logging': 1 is not a tag value (quote "
        "numbers and booleans in YAML); key: value, key: [any, of, these], or key: [] for any value"
    )


def test_explicit_account_entry_wins_over_the_organization(ws: Workspace, sandbox: Any) -> None:
    ids = org_with_accounts(sandbox)
    org_project(ws, ids, extra=f'  "{ids["p1"]}": {{roleArn: "arn:aws:iam::{ids["p1"]}:role/hand-picked"}}\n')
    ws.write("none.yaml", "")
    doc = json.loads(ws.cli("plan", "--format", "json").out)
    assert f"{ids['p1']}/us-east-1" in doc["scopes"]


def test_environment_overlay_resolves_its_own_organizational_units(ws: Workspace, sandbox: Any) -> None:
    ids = org_with_accounts(sandbox)
    org_project(ws, ids, extra=(
        "environments:\n"
        f"  other:\n    accounts:\n      fromOrganization: {{ous: [{ids['other']}], roleName: reconciler-delivery}}\n"
        "  tagged:\n    region: us-east-1\n"
    ))  # fmt: skip
    ws.write("none.yaml", "")

    def matrix(*env: str) -> list[str]:
        res = ws.cli("scopes", "--format", "json", *env)
        assert res.code == 0, res.err
        return [m["account"] for m in json.loads(res.out)["include"]]

    base = sorted([A, ids["p1"], ids["t1"]])
    assert matrix() == base
    assert matrix("--env", "tagged") == base  # an overlay without fromOrganization keeps the base one
    # the overlay replaces the base fromOrganization: its OU, no exclusion, no tag filter
    assert matrix("--env", "other") == sorted([A, ids["elsewhere"]])
    plan = ws.cli("plan", "--no-color", "--env", "other")
    assert plan.code == 0, plan.err
    assert f"accounts from AWS Organizations ({ids['other']}): 1: {ids['elsewhere']}" in plan.out
    assert sandbox.count("DescribeDeliverySources", ids["elsewhere"]) >= 1
    (ws.root / "reconciler.yaml").write_text(
        "project: tests\nregion: us-east-1\nenvironments:\n  prod:\n    accounts:\n"
        "      fromOrganization: {roots: [root]}\n"
    )
    res = ws.cli("validate", "--env", "prod")
    assert res.code == 1
    assert res.err.strip() == (
        "error: reconciler.yaml:6: environments.prod.accounts.fromOrganization.roots: 'root' is not a root id like "
        "r-ab12"
    )


def test_bad_organization_settings_are_one_line(ws: Workspace, sandbox: Any, tmp_path: Path) -> None:
    (ws.root / "reconciler.yaml").write_text(
        "project: tests\nregion: us-east-1\naccounts:\n  fromOrganization: {ous: [prod]}\n"
    )
    res = ws.cli("validate")
    assert res.code == 1
    assert res.err.strip() == (
        "error: reconciler.yaml:4: accounts.fromOrganization.ous: 'prod' is not an organisational unit id like "
        "ou-ab12-cd34ef56"
    )
    (ws.root / "reconciler.yaml").write_text(
        "project: tests\nregion: us-east-1\naccounts:\n  fromOrganization: {}\n"
    )
    res = ws.cli("validate")
    assert "accounts.fromOrganization: name at least one organisational unit (ous) or root (roots)" in res.err


SELECTOR = """\
apiVersion: reconciler/v1
kind: DeliveryDestination
metadata: {name: central}
spec: {destinationResourceArn: "arn:aws:logs:us-east-1:111111111111:log-group:central", outputFormat: json}
---
apiVersion: reconciler/v1
kind: DeliverySelector
metadata: {name: pay-bus}
spec:
  resourceType: events:event-bus
  logType: ERROR_LOGS
  tags: {team: payments}
  destination: central
  delivery: {tags: {via: selector}}
"""


def bus(box: Any, name: str, team: str) -> str:
    events = client(box, "events")
    return str(events.create_event_bus(Name=name, Tags=[{"Key": "team", "Value": team}])["EventBusArn"])


def changes(ws: Workspace) -> list[tuple[str, str, str]]:
    doc = json.loads(ws.cli("plan", "--format", "json").out)
    return [(c["action"], c["address"].split("/", 2)[2], c["reason"]) for c in doc["changes"]]


def test_selector_expands_creates_for_new_matches_and_prunes_what_stops_matching(
    ws: Workspace, sandbox: Any
) -> None:
    b1 = bus(sandbox, "b1", "payments")
    bus(sandbox, "b2", "other")
    ws.write("sel.yaml", SELECTOR)
    assert changes(ws) == [
        ("create", "DeliverySource/pay-bus-b1", "not in AWS (DeliverySelector/pay-bus)"),
        ("create", "DeliveryDestination/central", "not in AWS"),
        ("create", "Delivery/pay-bus-b1", "not in AWS (DeliverySelector/pay-bus)"),
    ]
    doc = json.loads(ws.cli("plan", "--format", "json").out)
    assert doc["changes"][0]["origin"] == "manifests/sel.yaml:6 DeliverySelector/pay-bus"
    assert "DeliverySelector/pay-bus: 1 matching resources" in doc["notes"]
    assert sandbox.count("GetResources") >= 2  # one per scope (A and B), each a page of up to 100
    assert ws.cli("apply", "--auto-approve").code == 0
    live = client(sandbox).describe_delivery_sources()["deliverySources"]
    assert [(s["name"], s["resourceArns"], s["logType"]) for s in live] == [
        ("pay-bus-b1", [b1], "ERROR_LOGS")
    ]
    assert ws.cli("plan", "--detailed-exitcode").code == 0

    rendered = ws.cli("render", "--format", "json")
    docs = json.loads(rendered.out)
    assert [(d["kind"], d["metadata"]["name"], d["metadata"].get("generatedBy")) for d in docs] == [
        ("Delivery", "pay-bus-b1", "DeliverySelector/pay-bus"),
        ("DeliveryDestination", "central", None),
        ("DeliverySource", "pay-bus-b1", "DeliverySelector/pay-bus"),
    ]

    bus(sandbox, "b3", "payments")  # a new matching resource: creates
    assert [c[:2] for c in changes(ws)] == [
        ("create", "DeliverySource/pay-bus-b3"),
        ("create", "Delivery/pay-bus-b3"),
    ]
    assert ws.cli("apply", "--auto-approve").code == 0

    client(sandbox, "events").untag_resource(ResourceARN=b1, TagKeys=["team"])  # stops matching: pruned
    assert [c[:2] for c in changes(ws)] == [
        ("delete", "Delivery/pay-bus-b1"),
        ("delete", "DeliverySource/pay-bus-b1"),
    ]
    assert ws.cli("apply", "--auto-approve").code == 0
    assert ws.cli("plan", "--detailed-exitcode").code == 0


def test_a_pruned_selector_resource_names_its_selector_even_when_the_selector_is_gone(
    ws: Workspace, sandbox: Any
) -> None:
    b1 = bus(sandbox, "b1", "payments")
    bus(sandbox, "b2", "payments")
    ws.write("sel.yaml", SELECTOR)
    assert ws.cli("apply", "--auto-approve").code == 0
    logs = client(sandbox)
    sources = {s["name"]: s["arn"] for s in logs.describe_delivery_sources()["deliverySources"]}
    assert (
        logs.list_tags_for_resource(resourceArn=sources["pay-bus-b1"])["tags"]["reconciler:selector"]
        == "pay-bus"
    )
    delivery = next(
        d for d in logs.describe_deliveries()["deliveries"] if d["deliverySourceName"] == "pay-bus-b1"
    )
    assert (
        logs.list_tags_for_resource(resourceArn=delivery["arn"])["tags"]["reconciler:selector"] == "pay-bus"
    )

    client(sandbox, "events").untag_resource(ResourceARN=b1, TagKeys=["team"])  # stops matching
    pruned = [
        ("delete", "Delivery/pay-bus-b1", "not in the manifests (prune) (DeliverySelector/pay-bus)"),
        ("delete", "DeliverySource/pay-bus-b1", "not in the manifests (prune) (DeliverySelector/pay-bus)"),
    ]
    assert changes(ws) == pruned
    doc = json.loads(ws.cli("plan", "--format", "json").out)
    assert [c.get("selector") for c in doc["changes"]] == ["pay-bus", "pay-bus"]
    text = ws.cli("plan", "--no-color").out
    assert "not in the manifests (prune) (DeliverySelector/pay-bus)" in text

    # the selector itself removed from the manifests: what it made is pruned, and still named after it
    ws.write("sel.yaml", SELECTOR.split("---")[0])
    assert changes(ws) == [
        ("delete", "Delivery/pay-bus-b1", "not in the manifests (prune) (DeliverySelector/pay-bus)"),
        ("delete", "Delivery/pay-bus-b2", "not in the manifests (prune) (DeliverySelector/pay-bus)"),
        ("delete", "DeliverySource/pay-bus-b1", "not in the manifests (prune) (DeliverySelector/pay-bus)"),
        ("delete", "DeliverySource/pay-bus-b2", "not in the manifests (prune) (DeliverySelector/pay-bus)"),
    ]
    rendered = json.loads(ws.cli("render", "--format", "json").out)
    assert [(d["kind"], d["metadata"].get("generatedBy")) for d in rendered] == [
        ("DeliveryDestination", None)
    ]


def test_selector_resources_made_without_the_selector_tag_are_not_drift(ws: Workspace, sandbox: Any) -> None:
    bus(sandbox, "b1", "payments")
    ws.write("sel.yaml", SELECTOR)
    assert ws.cli("apply", "--auto-approve").code == 0
    logs = client(sandbox)
    made = [s["arn"] for s in logs.describe_delivery_sources()["deliverySources"]]
    made += [d["arn"] for d in logs.describe_deliveries()["deliveries"]]
    for arn in made:  # as an older version left them: no reconciler:selector tag
        logs.untag_resource(resourceArn=arn, tagKeys=["reconciler:selector"])
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    assert ws.cli("drift").code == 0
    ws.write("sel.yaml", SELECTOR.replace("via: selector", "via: selectors"))  # an update tags it on the way
    assert [c[:2] for c in changes(ws)] == [("update", "Delivery/pay-bus-b1")]
    assert ws.cli("apply", "--auto-approve").code == 0
    assert logs.list_tags_for_resource(resourceArn=made[1])["tags"]["reconciler:selector"] == "pay-bus"


HAND_MADE = """\
---
apiVersion: reconciler/v1
kind: DeliverySource
metadata: {name: hand}
spec: {resourceArn: "arn:aws:events:us-east-1:111111111111:event-bus/b9", logType: ERROR_LOGS}
---
apiVersion: reconciler/v1
kind: Delivery
metadata: {name: hand}
spec: {source: hand, destination: central}
"""


def test_selector_deliveries_are_checked_against_the_live_templates(ws: Workspace, sandbox: Any) -> None:
    from reconciler.sandbox import Faults, Rule

    bus(sandbox, "b1", "payments")
    fields = "  delivery: {tags: {via: selector}, recordFields: [timestamp, details]}\n"
    ws.write("sel.yaml", SELECTOR.replace("  delivery: {tags: {via: selector}}\n", fields))
    sandbox.reset_counters()
    ok = ws.cli("plan", "--format", "json")  # the sandbox answers from the table, which has both fields
    assert ok.code == 0, ok.err
    # known only after discovery, then asked once for the region
    assert sandbox.count("DescribeConfigurationTemplates") == 1
    # AWS's live answer no longer offers 'details' for event buses' ERROR_LOGS to CloudWatch Logs
    allowed = [{"name": "timestamp", "mandatory": True}, {"name": "error", "mandatory": False}]
    sandbox.options(template_overrides=[{"service": "events", "logType": "ERROR_LOGS",
                                         "deliveryDestinationType": "CWL", "allowedFields": allowed}])  # fmt: skip
    try:
        refused = ws.cli("plan")
        assert refused.code == 1
        assert refused.err.splitlines()[-1] == (
            "error: manifests/sel.yaml:6: DeliverySelector/pay-bus: spec.delivery.recordFields.1: 'details' is not a "
            "record field of Amazon EventBridge Event Bus (Custom) ERROR_LOGS; allowed: timestamp, error "
            "(Delivery/pay-bus-b1 in 111111111111/us-east-1; DescribeConfigurationTemplates)"
        )
        # a manifest delivery of the same service, log type and destination type: still one request per region
        ws.write("sel.yaml", SELECTOR + HAND_MADE)
        sandbox.reset_counters()
        assert ws.cli("plan").code == 0
        assert sandbox.count("DescribeConfigurationTemplates") == 1
    finally:
        sandbox.options(template_overrides=[])
    # no template (denied): the selector's deliveries are checked against the capability table instead
    ws.write(
        "sel.yaml",
        SELECTOR.replace("  delivery: {tags: {via: selector}}\n", fields.replace("details", "nosuch")),
    )
    sandbox.set_faults(
        Faults(rules=[Rule("DescribeConfigurationTemplates", code="AccessDeniedException", times=-1)])
    )
    denied = ws.cli("plan")
    assert denied.code == 1
    assert "spec.delivery.recordFields.1: 'nosuch' is not a record field" in denied.err
    assert "(Delivery/pay-bus-b1 in 111111111111/us-east-1; the capability table)" in denied.err


def test_selector_names_are_stable_short_and_collision_free() -> None:
    from reconciler.models import Kind, Resource, SelectorSpec
    from reconciler.selectors import Selector, expand

    spec = SelectorSpec.model_validate(
        {
            "resourceType": "elasticloadbalancing:loadbalancer/app",
            "logType": "ALB_ACCESS_LOGS",
            "destination": "d",
        }
    )
    sel = Selector("web", spec, "m.yaml:1")
    alb = "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/{}/50dc6c495c0c9188"
    long = "x" * 40  # web-<40>-<16 hex> is 61 characters
    found = [
        (alb.format("shop"), {}),
        (alb.format("shop").replace("50dc", "60dc"), {}),  # same load balancer name, another id
        (alb.format(long), {}),
        (alb.replace("/app/", "/net/").format("nlb"), {}),  # another type under the same tagging filter
    ]
    dest = Resource(Kind.DESTINATION, "111111111111", "us-east-1", "d",
                    {"deliveryDestinationType": "S3", "destinationResourceArn": "arn:aws:s3:::b"})  # fmt: skip
    explicit = Resource(Kind.SOURCE, "111111111111", "us-east-1", "web-shop-60dc6c495c0c9188",
                        {"resourceArn": "arn:aws:bedrock:us-east-1:111111111111:agent/A", "logType": "EVENT_LOGS"})  # fmt: skip
    one = expand([sel], {("web", "111111111111", "us-east-1"): found}, [dest, explicit], {})
    two = expand([sel], {("web", "111111111111", "us-east-1"): list(reversed(found))}, [explicit, dest], {})
    names = [r.name for r in one.resources if r.kind is Kind.SOURCE]
    assert names == [r.name for r in two.resources if r.kind is Kind.SOURCE]  # order of inputs never matters
    assert not one.problems and len(names) == 3 and all(len(n) <= 60 for n in names)
    assert names[0] == "web-shop-50dc6c495c0c9188"
    assert (
        names[1].startswith("web-shop-60dc6c495c0c9188-")
        and len(names[1]) == len("web-shop-60dc6c495c0c9188") + 9
    )
    assert names[2].startswith("web-" + "x" * 40) and len(names[2]) == 60


def test_coverage_on_a_seeded_estate(ws: Workspace, sandbox: Any) -> None:
    b1, b2 = bus(sandbox, "b1", "payments"), bus(sandbox, "b2", "payments")
    b3 = bus(sandbox, "b3", "other")
    b4 = str(
        client(sandbox, "events", account=B).create_event_bus(
            Name="b4", Tags=[{"Key": "team", "Value": "payments"}]
        )["EventBusArn"]
    )
    ws.write(
        "sel.yaml",
        SELECTOR.replace("  destination: central\n", f'  destination: central\n  accounts: ["{A}"]\n'),
    )
    before = ws.cli("coverage", "--format", "json")
    assert before.code == 2, before.err  # the selector expects deliveries that do not exist yet
    doc = json.loads(before.out)
    assert doc["format_version"] == 1 and doc["totals"] == {"resources": 4, "covered": 0, "percent": 0.0}
    assert doc["selectors"] == [{"name": "pay-bus", "expected": 2, "delivered": 0, "percent": 0.0,
                                 "missing": [f"{b1} ERROR_LOGS", f"{b2} ERROR_LOGS"], "matched": 2}]  # fmt: skip
    assert ws.cli("apply", "--auto-approve").code == 0
    after = ws.cli("coverage", "--format", "json")
    assert after.code == 0, after.err
    doc = json.loads(after.out)
    assert doc["totals"] == {"resources": 4, "covered": 2, "percent": 50.0}
    assert doc["selectors"][0] | {"missing": []} == {
        "name": "pay-bus",
        "expected": 2,
        "delivered": 2,
        "percent": 100.0,
        "missing": [],
        "matched": 2,
    }
    scope_a = next(s for s in doc["scopes"] if s["scope"] == f"{A}/us-east-1")
    assert scope_a["totals"] == {"resources": 3, "covered": 2, "percent": 66.7}
    rows = {r["arn"]: r for r in scope_a["resources"]}
    assert rows[b1] == {"arn": b1, "service": "events", "logTypes": {"ERROR_LOGS": True, "INFO_LOGS": False, "TRACE_LOGS": False},
                        "expected": ["ERROR_LOGS"], "selectors": ["pay-bus"], "covered": True}  # fmt: skip
    assert rows[b3]["covered"] is False and rows[b3]["expected"] == []
    scope_b = next(s for s in doc["scopes"] if s["scope"] == f"{B}/us-east-1")
    assert [r["arn"] for r in scope_b["resources"]] == [b4]  # not in the selector's accounts: not expected
    csv_out = ws.cli("coverage", "--format", "csv").out.splitlines()
    assert (
        csv_out[0] == "account,region,resource_arn,service,log_type,expected,delivered" and len(csv_out) == 13
    )
    assert f"{A},us-east-1,{b1},events,ERROR_LOGS,true,true" in csv_out
    assert "Log delivery coverage: 2 of 4 resources (50.0%)" in ws.cli("coverage", "--format", "markdown").out
    text = ws.cli("coverage").out
    assert "Total: 2 of 4 resources covered (50.0%)" in text and "DeliverySelector/pay-bus: 2 of 2" in text
    assert (
        json.loads(ws.cli("coverage", "--format", "json", "--service", "s3").out)["totals"]["resources"] == 0
    )
    bad = ws.cli("coverage", "--service", "nosuch")
    assert bad.code == 1 and "--service 'nosuch': not a service that can be a delivery source" in bad.err


def test_ownership_tags_are_read_in_pages_with_a_per_resource_fallback(ws: Workspace, sandbox: Any) -> None:
    from reconciler.sandbox import Rule

    ws.write("sel.yaml", SELECTOR)
    bus(sandbox, "b1", "payments")
    assert ws.cli("apply", "--auto-approve").code == 0
    client(sandbox).put_delivery_source(  # hand-made, untagged: not in the tagging API's pages
        name="hand-made",
        resourceArn="arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB1",
        logType="TRACES",
    )
    sandbox.reset_counters()
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    # two scopes: one tag page each plus one selector discovery each; only the untagged source is read alone
    assert sandbox.count("GetResources") == 4 and sandbox.count("ListTagsForResource") == 1
    sandbox.set_faults(rules=[Rule("GetResources", code="AccessDeniedException", message="no tag:GetResources",
                                   times=-1, contains="logs:delivery")])  # fmt: skip
    sandbox.reset_counters()
    assert (
        ws.cli("plan", "--detailed-exitcode").code == 0
    )  # denied: one ListTagsForResource per resource instead
    assert sandbox.count("ListTagsForResource") == 4
