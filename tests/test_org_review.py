"""Organisation scale as a user meets it: edge cases of accounts from Organizations, selectors and coverage,
through the CLI on the sandbox."""

from __future__ import annotations

import json
from typing import Any

from conftest import Workspace, client
from test_organization import SELECTOR, A, B, bus, changes, org_project, org_with_accounts

from reconciler.coverage import UNTAGGED
from reconciler.sandbox import Faults, Rule
from reconciler.selectors import NO_MATCH

OTHER_SELECTOR = """\
---
apiVersion: reconciler/v1
kind: DeliverySelector
metadata: {name: pay}
spec:
  resourceType: events:event-bus
  logType: ERROR_LOGS
  tags: {team: other}
  destination: central
  accounts: ["111111111111"]
"""


def test_a_new_colliding_match_never_renames_an_existing_selector_source(ws: Workspace, sandbox: Any) -> None:
    b1 = bus(sandbox, "b1", "payments")
    ws.write("sel.yaml", SELECTOR)
    assert ws.cli("apply", "--auto-approve").code == 0
    # selector 'pay' over bus 'bus-b1' derives 'pay-bus-b1' too: the newcomer gets the hash, the live one stays
    bus(sandbox, "bus-b1", "other")
    ws.write("sel.yaml", SELECTOR + OTHER_SELECTOR)
    planned = changes(ws)
    assert [c[0] for c in planned] == ["create", "create"], planned
    hashed = planned[0][1].split("/")[1]
    assert hashed.startswith("pay-bus-b1-") and len(hashed) == len("pay-bus-b1-") + 8
    assert planned == [
        ("create", f"DeliverySource/{hashed}", "not in AWS (DeliverySelector/pay)"),
        ("create", f"Delivery/{hashed}", "not in AWS (DeliverySelector/pay)"),
    ]
    rendered = json.loads(ws.cli("render", "--format", "json").out)
    assert sorted(d["metadata"]["name"] for d in rendered if d["kind"] == "DeliverySource") == [
        "pay-bus-b1",
        hashed,
    ]
    assert ws.cli("apply", "--auto-approve").code == 0
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    # the collision ends (b1 loses its tag): b1's source is pruned, bus-b1's keeps its hashed name
    client(sandbox, "events").untag_resource(ResourceARN=b1, TagKeys=["team"])
    assert [c[:2] for c in changes(ws)] == [
        ("delete", "Delivery/pay-bus-b1"),
        ("delete", "DeliverySource/pay-bus-b1"),
    ]


def test_two_selectors_matching_one_resource_say_which_took_it(ws: Workspace, sandbox: Any) -> None:
    bus(sandbox, "b1", "payments")
    first = OTHER_SELECTOR.replace("{name: pay}", "{name: aaa-first}").replace(
        "team: other", "team: payments"
    )
    ws.write("sel.yaml", SELECTOR + first)
    res = ws.cli("plan", "--format", "json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert [c["address"].split("/", 2)[2] for c in doc["changes"] if c.get("selector")] == [
        "DeliverySource/aaa-first-b1",
        "Delivery/aaa-first-b1",
    ]
    assert "DeliverySelector/aaa-first: 1 matching resources" in doc["notes"]
    assert (
        "DeliverySelector/pay-bus: 0 matching resources (1 more taken by DeliverySelector/aaa-first)"
        in doc["notes"]
    )


def test_coverage_of_an_unreadable_account_is_exit_3_and_counts_nothing_there(
    ws: Workspace, sandbox: Any, quick_retries: Any
) -> None:
    b1 = bus(sandbox, "b1", "payments")
    client(sandbox, "events", account=B).create_event_bus(
        Name="bb", Tags=[{"Key": "team", "Value": "payments"}]
    )
    ws.write("sel.yaml", SELECTOR)
    # B's event bus is found, but B's deliveries cannot be listed: nothing may say it delivers nothing
    sandbox.set_faults(Faults(rules=[Rule("DescribeDeliverySources", code="AccessDeniedException",
                                          message="not allowed", times=-1, account=B)]))  # fmt: skip
    res = ws.cli("coverage", "--format", "json")
    assert res.code == 3, res.err  # unreadable wins over a selector below 100 %, as in drift
    doc = json.loads(res.out)
    why = f"DescribeDeliverySources {B}/us-east-1: AccessDeniedException: not allowed"
    assert doc["unreadable"] == {f"{B}/us-east-1": why}
    scope_b = next(s for s in doc["scopes"] if s["scope"] == f"{B}/us-east-1")
    assert scope_b["readable"] is False and scope_b["resources"] == []
    assert scope_b["totals"] == {"resources": 0, "covered": 0, "percent": 0.0}
    assert next(s for s in doc["scopes"] if s["scope"] == f"{A}/us-east-1")["readable"] is True
    assert doc["totals"] == {"resources": 1, "covered": 0, "percent": 0.0}
    assert doc["selectors"][0]["expected"] == 1 and doc["selectors"][0]["missing"] == [f"{b1} ERROR_LOGS"]
    text = ws.cli("coverage")
    assert text.code == 3
    assert f"{B}/us-east-1: could not be read: {why}" in text.out.splitlines()
    assert "Total: 0 of 1 resources covered (0.0%); 1 scope could not be read, not counted" in text.out
    assert "bb" not in text.out and f"{B}/us-east-1: 0 of" not in text.out
    # tagging API denied in B: the same, whatever was denied
    sandbox.set_faults(
        Faults(rules=[Rule("GetResources", code="AccessDeniedException", times=-1, account=B)])
    )
    md = ws.cli("coverage", "--format", "markdown")
    assert md.code == 3 and "1 scope could not be read, not counted" in md.out.splitlines()[0]


def test_an_excluded_account_listed_explicitly_is_read_and_the_plan_says_so(
    ws: Workspace, sandbox: Any
) -> None:
    ids = org_with_accounts(sandbox)
    explicit = f'  "{ids["excluded"]}": {{roleArn: "arn:aws:iam::{ids["excluded"]}:role/hand-picked"}}\n'
    org_project(ws, ids, extra=explicit)
    ws.write("none.yaml", "")
    res = ws.cli("plan", "--format", "json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert f"{ids['excluded']}/us-east-1" in doc["scopes"]  # the explicit entry wins over exclude
    want = sorted([ids["p1"], ids["t1"]])
    assert doc["notes"] == [
        f"accounts from AWS Organizations ({ids['prod']}): 2: {want[0]}, {want[1]}; "
        f"excluded, but an explicit accounts: entry wins: {ids['excluded']}"
    ]
    assert sandbox.count("DescribeDeliverySources", ids["excluded"]) >= 1


def test_organization_refusals_are_one_line_saying_what_to_fix(
    ws: Workspace, sandbox: Any, quick_retries: Any
) -> None:
    ids = org_with_accounts(sandbox)
    org_project(ws, ids)
    ws.write("none.yaml", "")
    # not the management account (or a delegated administrator)
    denied = "You don't have permissions to access this resource."
    sandbox.set_faults(Faults(rules=[Rule("ListAccountsForParent", code="AccessDeniedException", message=denied,
                                          times=-1)]))  # fmt: skip
    for command in (["plan"], ["scopes"], ["coverage"]):
        res = ws.cli(*command)
        assert res.code == 1 and "Traceback" not in res.err
        assert res.err.strip().splitlines() == [
            f"error: ListAccountsForParent {ids['prod']}: AccessDeniedException: {denied}; reconciler.yaml "
            "accounts.fromOrganization is read with the caller's credentials, which must be the organisation's "
            "management account or a delegated administrator allowed organizations:ListAccountsForParent, "
            "ListChildren and ListTagsForResource"
        ]
    sandbox.set_faults(Faults())
    # an OU id of another organisation (or a typo that is still a valid id)
    (ws.root / "reconciler.yaml").write_text(
        f'project: tests\nregion: us-east-1\naccount: "{A}"\n'
        "accounts:\n  fromOrganization: {ous: [ou-zzzz-zzzzzzzz]}\nmanifests: manifests/\n"
    )
    res = ws.cli("plan")
    assert res.code == 1
    assert res.err.strip() == (
        "error: ListAccountsForParent ou-zzzz-zzzzzzzz: ParentNotFoundException: You specified parent that doesn't "
        "exist.; reconciler.yaml accounts.fromOrganization names a root or OU this organisation does not have"
    )


def test_coverage_of_one_service_reports_only_that_services_selectors(ws: Workspace, sandbox: Any) -> None:
    bus(sandbox, "b1", "payments")
    ws.write("sel.yaml", SELECTOR)
    res = ws.cli("coverage", "--format", "json", "--service", "s3")
    assert res.code == 0, res.err  # the event-bus selector is below 100 %, but not asked about
    doc = json.loads(res.out)
    assert doc["service"] == "s3" and doc["selectors"] == [] and doc["totals"]["resources"] == 0
    assert "pay-bus" not in ws.cli("coverage", "--service", "s3").out
    events = ws.cli("coverage", "--format", "json", "--service", "events")
    assert events.code == 2 and [s["name"] for s in json.loads(events.out)["selectors"]] == ["pay-bus"]


def test_coverage_says_that_never_tagged_resources_are_not_listed(ws: Workspace, sandbox: Any) -> None:
    bus(sandbox, "b1", "payments")
    client(sandbox, "events").create_event_bus(Name="never-tagged")
    ws.write("sel.yaml", SELECTOR)
    text, md = ws.cli("coverage"), ws.cli("coverage", "--format", "markdown")
    assert (
        "never-tagged" not in text.out and "never-tagged" not in md.out
    )  # the tagging API does not return it
    assert text.out.splitlines()[-1] == UNTAGGED and md.out.splitlines()[-1] == UNTAGGED
    assert "never had a tag" in UNTAGGED


def test_a_selector_naming_an_account_or_region_outside_the_scopes_is_noted(
    ws: Workspace, sandbox: Any
) -> None:
    bus(sandbox, "b1", "payments")
    typo = SELECTOR.replace(
        "  destination: central\n", '  destination: central\n  accounts: ["111111111112"]\n'
    )
    ws.write("sel.yaml", typo)
    res = ws.cli("plan", "--format", "json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["notes"] == [
        "manifests/sel.yaml:6: DeliverySelector/pay-bus: account 111111111112 not among the scopes read; "
        "it covers none of them"
    ]
    partly = typo.replace('["111111111112"]', f'["{A}", "111111111112"]\n  regions: [us-east-1, eu-west-3]')
    ws.write("sel.yaml", partly)
    notes = json.loads(ws.cli("plan", "--format", "json").out)["notes"]
    assert notes == [
        "DeliverySelector/pay-bus: 1 matching resources",
        "manifests/sel.yaml:6: DeliverySelector/pay-bus: account 111111111112, region eu-west-3 not among the "
        "scopes read",
    ]
    assert (
        "account 111111111112, region eu-west-3 not among the scopes read" in ws.cli("plan", "--no-color").out
    )


def test_one_missing_delivery_in_thousands_is_below_100_percent_and_exit_2() -> None:
    from reconciler.coverage import Report, SelectorTotal, render_text, to_json

    # 1999 of 2000 rounds to 100.0; a selector missing one delivery must neither say 100 % nor exit 0
    total = SelectorTotal(
        "web", expected=2000, delivered=1999, missing=["arn:aws:x ERROR_LOGS"], matched=2000
    )
    report = Report("p", None, [(A, "us-east-1")], [], [total], {})
    assert total.percent == 99.9 and report.exit_code == 2
    assert to_json(report)["selectors"][0]["percent"] == 99.9
    assert "DeliverySelector/web: 1999 of 2000 expected deliveries (99.9%)" in render_text(report)
    assert SelectorTotal("web", expected=3, delivered=2).percent == 66.7
    assert SelectorTotal("web", expected=2, delivered=2).percent == 100.0


def test_a_selector_without_tag_filters_says_never_tagged_resources_are_not_matched(
    ws: Workspace, sandbox: Any
) -> None:
    from reconciler.selectors import UNTAGGED_NOTE

    bus(sandbox, "b1", "payments")
    client(sandbox, "events").create_event_bus(Name="never-tagged")
    ws.write("sel.yaml", SELECTOR.replace("  tags: {team: payments}\n", ""))
    res = ws.cli("plan", "--format", "json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert {c["address"].split("/", 2)[2] for c in doc["changes"] if c.get("selector")} == {
        "DeliverySource/pay-bus-b1",
        "Delivery/pay-bus-b1",
    }  # 'never-tagged' is not found
    assert f"manifests/sel.yaml:6: DeliverySelector/pay-bus: {UNTAGGED_NOTE}" in doc["notes"]
    ws.write("sel.yaml", SELECTOR)
    assert not any(UNTAGGED_NOTE in n for n in json.loads(ws.cli("plan", "--format", "json").out)["notes"])


def test_a_selector_that_matches_nothing_says_so_in_coverage_and_plan(ws: Workspace, sandbox: Any) -> None:
    bus(sandbox, "b1", "payments")
    ws.write("sel.yaml", SELECTOR.replace("team: payments", "team: paymnets"))  # a typo in the tag value
    res = ws.cli("coverage", "--format", "json")
    assert res.code == 0, res.err  # nothing expected is nothing missing: the exit code stays
    doc = json.loads(res.out)
    assert doc["format_version"] == 1
    assert doc["selectors"] == [
        {"name": "pay-bus", "expected": 0, "delivered": 0, "percent": 100.0, "missing": [], "matched": 0}
    ]
    assert NO_MATCH == "matched no resource; check its resourceType and tags"
    text = ws.cli("coverage")
    assert text.code == 0 and f"DeliverySelector/pay-bus: {NO_MATCH}" in text.out.splitlines()
    assert "expected deliveries" not in text.out  # no "0 of 0 expected deliveries (100.0%)"
    md = ws.cli("coverage", "--format", "markdown").out.splitlines()
    assert "| `pay-bus` | 0 | 0 | no match |" in md and f"> `pay-bus`: {NO_MATCH}" in md
    # the plan says it in the same words
    notes = json.loads(ws.cli("plan", "--format", "json").out)["notes"]
    assert notes == [f"DeliverySelector/pay-bus: {NO_MATCH}"]
    assert f"DeliverySelector/pay-bus: {NO_MATCH}" in ws.cli("plan", "--no-color").out

    ws.write("sel.yaml", SELECTOR)  # fixed: it matches, and says how many
    doc = json.loads(ws.cli("coverage", "--format", "json").out)
    assert doc["selectors"][0]["matched"] == 1 and doc["selectors"][0]["expected"] == 1
    assert NO_MATCH not in ws.cli("coverage").out
    assert json.loads(ws.cli("plan", "--format", "json").out)["notes"] == [
        "DeliverySelector/pay-bus: 1 matching resources"
    ]


def test_a_selector_that_matches_nothing_because_its_scopes_were_not_read_says_that_instead(
    ws: Workspace, sandbox: Any, quick_retries: Any
) -> None:
    only_b = SELECTOR.replace("  destination: central\n", f'  destination: central\n  accounts: ["{B}"]\n')
    ws.write("sel.yaml", only_b)
    sandbox.set_faults(Faults(rules=[Rule("DescribeDeliverySources", code="AccessDeniedException",
                                          message="not allowed", times=-1, account=B)]))  # fmt: skip
    res = ws.cli("coverage")
    assert res.code == 3, res.err
    assert (
        "DeliverySelector/pay-bus: matched no resource; none of the scopes it covers could be read" in res.out
    )
    sandbox.set_faults(Faults())
    res = ws.cli("coverage", "--scope", f"{A}/us-east-1", "--format", "json")  # B left out of the report
    assert res.code == 0, res.err
    assert json.loads(res.out)["selectors"][0]["matched"] == 0
    text = ws.cli("coverage", "--scope", f"{A}/us-east-1").out
    assert (
        "DeliverySelector/pay-bus: matched no resource; its accounts and regions cover none of the scopes read"
        in text
    )


def selector(name: str, tags: str) -> str:
    return (
        SELECTOR.split("---\n")[1]
        .replace("{name: pay-bus}", f"{{name: {name}}}")
        .replace("{team: payments}", tags)
    )


def test_a_resource_stays_with_the_selector_that_delivers_it_while_that_one_matches(
    ws: Workspace, sandbox: Any
) -> None:
    events = client(sandbox, "events")
    b1 = bus(sandbox, "b1", "payments")
    destination = SELECTOR.split("---\n")[0]
    ws.write("sel.yaml", destination + "---\n" + selector("zzz", "{team: payments}"))
    assert ws.cli("apply", "--auto-approve").code == 0

    # a new selector, first by name, starts matching the bus zzz delivers: zzz keeps it (no delete and re-create)
    events.tag_resource(ResourceARN=b1, Tags=[{"Key": "env", "Value": "prod"}])
    both = (
        destination + "---\n" + selector("zzz", "{team: payments}") + "---\n" + selector("aaa", "{env: prod}")
    )
    ws.write("sel.yaml", both)
    res = ws.cli("plan", "--format", "json", "--detailed-exitcode")
    assert res.code == 0, res.err  # no changes
    doc = json.loads(res.out)
    assert doc["changes"] == []
    assert doc["notes"] == [
        "DeliverySelector/aaa: 0 matching resources (1 more taken by DeliverySelector/zzz)",
        "DeliverySelector/zzz: 1 matching resources",
    ]
    rendered = json.loads(ws.cli("render", "--format", "json").out)  # render shows what plan keeps
    assert [(d["metadata"]["name"], d["metadata"]["generatedBy"]) for d in rendered
            if d["kind"] == "DeliverySource"] == [("zzz-b1", "DeliverySelector/zzz")]  # fmt: skip
    # a bus both match that nothing delivers yet: the first by name takes it
    b2 = str(events.create_event_bus(Name="b2", Tags=[{"Key": "team", "Value": "payments"},
                                                      {"Key": "env", "Value": "prod"}])["EventBusArn"])  # fmt: skip
    doc = json.loads(ws.cli("plan", "--format", "json").out)
    assert [(c["action"], c["address"].split("/", 2)[2]) for c in doc["changes"]] == [
        ("create", "DeliverySource/aaa-b2"),
        ("create", "Delivery/aaa-b2"),
    ]
    assert doc["notes"] == [
        "DeliverySelector/aaa: 1 matching resources (1 more taken by DeliverySelector/zzz)",
        "DeliverySelector/zzz: 1 matching resources (1 more taken by DeliverySelector/aaa)",
    ]
    assert ws.cli("apply", "--auto-approve").code == 0
    assert ws.cli("plan", "--detailed-exitcode").code == 0

    # zzz stops matching b1 (its tag removed): only then does b1 move to aaa
    events.untag_resource(ResourceARN=b1, TagKeys=["team"])
    assert sorted(changes(ws)) == [
        ("create", "Delivery/aaa-b1", "not in AWS (DeliverySelector/aaa)"),
        ("create", "DeliverySource/aaa-b1", "not in AWS (DeliverySelector/aaa)"),
        ("delete", "Delivery/zzz-b1", "not in the manifests (prune) (DeliverySelector/zzz)"),
        ("delete", "DeliverySource/zzz-b1", "not in the manifests (prune) (DeliverySelector/zzz)"),
    ]
    assert ws.cli("apply", "--auto-approve").code == 0
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    # zzz matches b1 again: aaa now delivers it and keeps it, both ways
    events.tag_resource(ResourceARN=b1, Tags=[{"Key": "team", "Value": "payments"}])
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    live = client(sandbox).describe_delivery_sources()["deliverySources"]
    assert sorted((s["name"], s["resourceArns"][0]) for s in live) == [("aaa-b1", b1), ("aaa-b2", b2)]

    # the selector that delivers them is gone from the manifests: the other one takes them over
    ws.write("sel.yaml", destination + "---\n" + selector("zzz", "{team: payments}"))
    assert sorted(c[:2] for c in changes(ws)) == [
        ("create", "Delivery/zzz-b1"),
        ("create", "Delivery/zzz-b2"),
        ("create", "DeliverySource/zzz-b1"),
        ("create", "DeliverySource/zzz-b2"),
        ("delete", "Delivery/aaa-b1"),
        ("delete", "Delivery/aaa-b2"),
        ("delete", "DeliverySource/aaa-b1"),
        ("delete", "DeliverySource/aaa-b2"),
    ]
    assert ws.cli("apply", "--auto-approve").code == 0
    assert ws.cli("plan", "--detailed-exitcode").code == 0


def test_only_a_live_source_tagged_with_a_matching_selector_keeps_its_resource_there() -> None:
    from reconciler.models import Kind, Resource, SelectorSpec
    from reconciler.selectors import Selector, expand, live_names

    arn = f"arn:aws:events:us-east-1:{A}:event-bus/b1"
    spec = SelectorSpec.model_validate({"resourceType": "events:event-bus", "logType": "ERROR_LOGS",
                                        "destination": "d"})  # fmt: skip
    aaa, zzz = Selector("aaa", spec, "m.yaml:1"), Selector("zzz", spec, "m.yaml:9")
    found = {("aaa", A, "us-east-1"): [(arn, {"t": "x"})], ("zzz", A, "us-east-1"): [(arn, {"t": "x"})]}
    dest = Resource(Kind.DESTINATION, A, "us-east-1", "d", {"deliveryDestinationType": "CWL",
                    "destinationResourceArn": f"arn:aws:logs:us-east-1:{A}:log-group:g"})  # fmt: skip

    def taker(selector: str | None, selectors: list[Selector]) -> str:
        live = Resource(Kind.SOURCE, A, "us-east-1", "zzz-b1", {"resourceArn": arn, "logType": "ERROR_LOGS"},
                        selector=selector)  # fmt: skip
        exp = expand(selectors, found, [dest], {}, live_names([live]))
        (source,) = [r for r in exp.resources if r.kind is Kind.SOURCE]
        return f"{source.selector}:{source.name}"

    assert taker("zzz", [aaa, zzz]) == "zzz:zzz-b1"  # its live selector still matches: it keeps the resource
    assert taker("zzz", [zzz, aaa]) == "zzz:zzz-b1"  # whatever the order of the inputs
    assert taker(None, [aaa, zzz]) == "aaa:aaa-b1"  # hand-made, or made before the tag: first by name
    assert taker("gone", [aaa, zzz]) == "aaa:aaa-b1"  # its selector was deleted
    assert taker("zzz", [aaa]) == "aaa:aaa-b1"  # ... or no longer matches
