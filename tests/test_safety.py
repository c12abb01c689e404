"""Never touch what is not ours, never miss what is: declared scopes, partial paths, saved-plan checks, pair
adoption, protection and ownership labels, the public-policy guardrail, replace rollback, emulator faults.
Each test drives the real CLI against the sandbox."""

from __future__ import annotations

import json
from typing import Any

from conftest import Workspace, client, doc, docs
from test_plan_apply import KB, SSO, A, B, apply_ok, base, writes

SRC_WEST = doc(
    "DeliverySource",
    "s-west",
    "logType: APPLICATION_LOGS\nresourceArn: arn:aws:bedrock:us-west-2:111111111111:knowledge-base/KBWEST0001",
    region="us-west-2",
)


def set_regions(ws: Workspace, regions: list[str] | None = None, account: bool = True) -> None:
    text = (ws.root / "reconciler.yaml").read_text()
    if regions is not None:
        text = text.replace("region: us-east-1\n", f"region: us-east-1\nregions: [{', '.join(regions)}]\n")
    if not account:
        text = text.replace('account: "111111111111"\n', "")
    (ws.root / "reconciler.yaml").write_text(text)


# ---- 1. declared scopes -------------------------------------------------------------------------------------


def test_a_region_outside_the_project_is_a_validation_error(ws: Workspace, sandbox: Any) -> None:
    path = ws.write("west.yaml", SRC_WEST)
    for command in ("validate", "plan"):
        result = ws.cli(command)
        assert result.code == 1 and result.err.splitlines() == [
            f"error: manifests/{path.name}:5: DeliverySource/s-west: metadata.region: us-west-2 is not one of "
            "the project's regions (us-east-1); add it to regions in reconciler.yaml"
        ], result.err
    assert sandbox.counters()["total"] == 0
    ws.write(
        "west.yaml", SRC_WEST.replace('region: "us-west-2"', 'region: "us-west-2"\n  account: "333333333333"')
    )
    result = ws.cli("validate")
    assert (
        result.code == 1
        and (
            f"error: manifests/{path.name}:6: DeliverySource/s-west: metadata.account: 333333333333 is not one of the "
            f"project's accounts ({A}, {B}); add it to accounts in reconciler.yaml"
        )
        in result.err.splitlines()
    ), result.err


def test_prune_and_drift_cover_every_declared_region(ws: Workspace, sandbox: Any) -> None:
    set_regions(ws, ["us-east-1", "us-west-2"])
    ws.write("west.yaml", SRC_WEST)
    apply_ok(ws)
    assert (
        client(sandbox, region="us-west-2").describe_delivery_sources()["deliverySources"][0]["name"]
        == "s-west"
    )
    ws.remove("west.yaml")
    ws.write("east.yaml", doc("DeliverySource", "s-kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"))
    drift = ws.cli("drift", "--format", "json")
    assert drift.code == 2, drift.out + drift.err
    entries = {e["address"]: e["status"] for e in json.loads(drift.out)["drift"]}
    assert entries[f"{A}/us-west-2/DeliverySource/s-west"] == "unexpected"
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert ("delete", f"{A}/us-west-2/DeliverySource/s-west") in [
        (c["action"], c["address"]) for c in plan["changes"]
    ]
    assert plan["scopes"] == [f"{A}/us-east-1", f"{A}/us-west-2", f"{B}/us-east-1", f"{B}/us-west-2"]
    apply_ok(ws)
    assert client(sandbox, region="us-west-2").describe_delivery_sources()["deliverySources"] == []


def test_scopes_lists_every_declared_scope_and_resolves_the_caller(ws: Workspace, sandbox: Any) -> None:
    set_regions(ws, ["us-east-1", "eu-west-1"], account=False)
    result = ws.cli("scopes")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [f"{A}/eu-west-1", f"{A}/us-east-1", f"{B}/eu-west-1", f"{B}/us-east-1"]
    assert "(caller)" not in result.out
    matrix = json.loads(ws.cli("scopes", "--format", "json").out)
    assert [m["scope"] for m in matrix["include"]] == result.out.splitlines()


def test_a_scope_outside_the_project_is_refused(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    result = ws.cli("plan", "--scope", "333333333333/us-east-1")
    assert result.code == 1 and result.err.splitlines() == [
        f"error: --scope 333333333333/us-east-1 is not one of the project's scopes ({A}/us-east-1, {B}/us-east-1); "
        "declare the account under accounts and the region under regions in reconciler.yaml"
    ], result.err
    assert sandbox.counters()["total"] == 0


def test_scopes_without_account_or_credentials_fails_in_one_line(
    ws: Workspace, sandbox: Any, monkeypatch: Any
) -> None:
    set_regions(ws, account=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = ws.cli("scopes")
    assert result.code == 1 and len(result.err.splitlines()) == 1, result.err
    assert "sts:GetCallerIdentity failed" in result.err and "set account in reconciler.yaml" in result.err


# ---- 2. a partial PATH never prunes the rest ----------------------------------------------------------------


def test_a_partial_path_never_prunes_the_rest(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    ws.write(
        "alb.yaml", doc("DeliverySource", "s-kb2", f"logType: APPLICATION_LOGS\nresourceArn: {KB[:-1]}2")
    )
    apply_ok(ws)
    text = ws.cli("plan", "manifests/alb.yaml")
    assert text.code == 0 and text.out.splitlines()[0] == (
        "prune off: only 1 of 2 manifest files was read; --prune to delete what they do not name"
    ), text.out
    assert text.out.rstrip().endswith("No changes.")
    plan = json.loads(ws.cli("plan", "--format", "json", "manifests/alb.yaml").out)
    assert plan["prune"] is False and plan["changes"] == [] and plan["notes"][0].startswith("prune off:")
    marker = writes(sandbox)
    assert ws.cli("apply", "--auto-approve", "manifests/alb.yaml").code == 0
    assert writes(sandbox) == marker  # nothing deleted
    full = json.loads(ws.cli("plan", "--format", "json", "manifests/").out)
    assert full["prune"] is True and full["notes"] == []
    pruning = json.loads(ws.cli("plan", "--format", "json", "--prune", "manifests/alb.yaml").out)
    assert pruning["prune"] is True and pruning["summary"]["delete"] == 6
    both = ws.cli("plan", "--prune", "--no-prune", "manifests/alb.yaml")
    assert both.code == 1 and "contradict" in both.err


# ---- 3. saved plans: any file name, re-checked before every write ------------------------------------------


def test_saved_plan_with_any_name_applies_as_the_hint_says(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    made = ws.cli("plan", "--out", "tonight.plan")
    assert made.code == 0, made.err
    hint = made.err.strip().splitlines()[-1]
    assert hint.endswith("apply it with `reconciler apply tonight.plan`.")
    doc_ = json.loads((ws.root / "tonight.plan").read_text())
    doc_.pop("steps", None)  # steps and deps are recomputed from the changes, never taken from the file
    doc_["deps"] = []
    (ws.root / "tonight.plan").write_text(json.dumps(doc_))
    applied = ws.cli("apply", "tonight.plan", "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert ws.cli("plan", "--detailed-exitcode").code == 0
    # a manifest (even one written as JSON) is never mistaken for a plan
    ws.write("extra.json", json.dumps({"apiVersion": "reconciler/v1", "kind": "DeliverySource",
                                       "metadata": {"name": "s-json"},
                                       "spec": {"logType": "APPLICATION_LOGS", "resourceArn": KB[:-1] + "9"}}))  # fmt: skip
    one = ws.cli("plan", "--format", "json", "manifests/extra.json")
    assert one.code == 0, one.err
    assert [c["name"] for c in json.loads(one.out)["changes"]] == ["s-json"]


def test_a_tampered_plan_cannot_delete_what_is_not_ours(ws: Workspace, sandbox: Any) -> None:
    from reconciler.aws import source_from_api
    from reconciler.freshness import fingerprint

    ws.write("main.yaml", base())
    apply_ok(ws)
    logs = client(sandbox)
    theirs_arn = KB[:-1] + "7"
    logs.put_delivery_source(name="theirs", resourceArn=theirs_arn, logType="APPLICATION_LOGS",
                             tags={"reconciler:project": "payments"})  # fmt: skip
    ws.write("main.yaml", base(source_tags="{cost: '2', owner: alice}"))
    assert ws.cli("plan", "--out", "p.json").code == 0
    doc_ = json.loads((ws.root / "p.json").read_text())
    item = logs.get_delivery_source(name="theirs")["deliverySource"]
    live = source_from_api(A, "us-east-1", item, logs.list_tags_for_resource(resourceArn=item["arn"])["tags"])
    forged = live.to_json() | {"owner": "tests"}  # the editor claims it is ours
    address = f"{A}/us-east-1/DeliverySource/theirs"
    doc_["changes"].append({"address": address, "kind": "DeliverySource", "name": "theirs", "account": A,
                            "region": "us-east-1", "action": "delete", "reason": "prune", "fields": [],
                            "before": forged, "after": None})  # fmt: skip
    doc_["fingerprints"][address] = fingerprint(live)  # and matches what is live
    (ws.root / "p.json").write_text(json.dumps(doc_))
    marker = writes(sandbox)
    result = ws.cli("apply", "p.json", "--auto-approve")
    assert result.code == 1 and "Traceback" not in result.err, result.out + result.err
    assert f"{address}: the plan would delete it, but it is owned by project 'payments'" in result.err
    assert writes(sandbox) == marker  # nothing written, not even the legitimate change
    assert logs.get_delivery_source(name="theirs")["deliverySource"]["name"] == "theirs"


def test_apply_of_a_plan_whose_manifests_changed_says_so(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    assert ws.cli("plan", "--out", "p").code == 0
    ws.write("main.yaml", "# edited after the plan was made\n" + base())
    result = ws.cli("apply", "p", "--auto-approve")
    assert result.code == 0, result.err
    assert "the manifests changed since this plan was made" in result.err
    again = ws.cli("plan", "--out", "q")
    assert again.code == 0
    quiet = ws.cli("apply", "q", "--auto-approve")
    assert quiet.code == 0 and "manifests changed" not in quiet.err


# ---- 4. CreateDelivery never takes over someone else's delivery --------------------------------------------


def test_pair_created_by_another_project_while_apply_waits_is_not_taken(ws: Workspace, sandbox: Any) -> None:
    from test_tty import run_on_tty

    cwl = doc(
        "DeliveryDestination",
        "cwl",
        f"outputFormat: json\ndestinationResourceArn: arn:aws:logs:us-east-1:{A}:log-group:g",
    )
    ws.write("main.yaml", docs(base(), cwl))
    apply_ok(ws)
    ws.write("more.yaml", doc("Delivery", "kb-to-cwl", "source: s-kb\ndestination: cwl"))
    logs = client(sandbox)
    central = f"arn:aws:logs:us-east-1:{A}:delivery-destination:cwl"  # s-kb's other delivery goes to S3

    def meanwhile() -> None:  # another party creates the same pair while apply waits for "yes"
        logs.create_delivery(deliverySourceName="s-kb", deliveryDestinationArn=central,
                             tags={"reconciler:project": "payments"})  # fmt: skip

    code, out = run_on_tty(ws, sandbox, ["apply"], "yes", before_answer=meanwhile)
    assert code == 1, out
    assert (
        f"a delivery from s-kb to {central} already exists, owned by project 'payments'; it was not taken over"
        in out
    ), out
    pair = next(d for d in logs.describe_deliveries()["deliveries"] if d["deliveryDestinationArn"] == central
                and d["deliverySourceName"] == "s-kb")  # fmt: skip
    assert logs.list_tags_for_resource(resourceArn=pair["arn"])["tags"] == {"reconciler:project": "payments"}
    # and a later plan names the owner instead of taking it over
    later = ws.cli("plan")
    assert later.code == 1 and "is owned by project 'payments'; refusing to touch it" in later.err


def test_an_untagged_pair_is_adopted_only_with_adopt(ws: Workspace, sandbox: Any) -> None:
    from test_tty import run_on_tty

    cwl = doc(
        "DeliveryDestination",
        "cwl",
        f"outputFormat: json\ndestinationResourceArn: arn:aws:logs:us-east-1:{A}:log-group:g",
    )
    ws.write("main.yaml", docs(base(), cwl))
    apply_ok(ws)
    ws.write("more.yaml", doc("Delivery", "kb-to-central", "source: s-kb\ndestination: cwl"))
    logs = client(sandbox)
    central = f"arn:aws:logs:us-east-1:{A}:delivery-destination:cwl"  # s-kb's other delivery goes to S3
    made: list[dict[str, str]] = []

    def meanwhile() -> None:  # created by hand, untagged, while apply waits for "yes"
        made.append(
            logs.create_delivery(deliverySourceName="s-kb", deliveryDestinationArn=central)["delivery"]
        )

    code, out = run_on_tty(ws, sandbox, ["apply"], "yes", before_answer=meanwhile)
    assert code == 1 and "without a reconciler:project tag (plan with --adopt to take it over)" in out, out
    assert logs.list_tags_for_resource(resourceArn=made[0]["arn"])["tags"] == {}  # nothing re-tagged
    logs.delete_delivery(id=made[0]["id"])
    code, out = run_on_tty(ws, sandbox, ["apply", "--adopt"], "yes", before_answer=meanwhile)
    assert code == 0, out
    tags = logs.list_tags_for_resource(resourceArn=made[1]["arn"])["tags"]
    assert tags["reconciler:project"] == "tests" and tags["reconciler:name"] == "kb-to-central"
    assert ws.cli("plan", "--detailed-exitcode").code == 0


# ---- 5. protection and ownership labels ---------------------------------------------------------------------


def test_protect_tags_any_case_and_the_way_out(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", docs(doc("DeliverySource", "s-kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"),
                               doc("DeliverySource", "s-sso", f"logType: ERROR_LOGS\nresourceArn: {SSO}")))  # fmt: skip
    apply_ok(ws)
    logs = client(sandbox)
    kb_arn = f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb"
    sso_arn = f"arn:aws:logs:us-east-1:{A}:delivery-source:s-sso"
    logs.tag_resource(resourceArn=kb_arn, tags={"Reconciler:Protect": " Yes "})
    logs.tag_resource(resourceArn=sso_arn, tags={"PROTECT": " No "})  # does not protect
    ws.write(
        "main.yaml", doc("DeliverySource", "s-new", f"logType: APPLICATION_LOGS\nresourceArn: {KB[:-1]}5")
    )
    address = f"{A}/us-east-1/DeliverySource/s-kb"
    refused = ws.cli("plan")
    assert refused.code == 1, refused.out + refused.err
    assert (
        f"error: {address} is protected by its live tag Reconciler:Protect= Yes ; refusing to delete it. To go "
        f"ahead, remove the tag in AWS, or leave it out with --exclude '{address}'"
    ) in refused.err.splitlines(), refused.err
    assert "s-sso" not in refused.err
    logs.tag_resource(resourceArn=sso_arn, tags={"PROTECT": "0"})
    excluded = ws.cli("plan", "--format", "json", "--exclude", address)
    assert excluded.code == 0, excluded.err
    changes = {c["address"]: c["action"] for c in json.loads(excluded.out)["changes"]}
    assert address not in changes and changes[f"{A}/us-east-1/DeliverySource/s-sso"] == "delete"
    applied = ws.cli("apply", "--auto-approve", "--exclude", address)
    assert applied.code == 0, applied.out + applied.err
    assert logs.get_delivery_source(name="s-kb")["deliverySource"]["name"] == "s-kb"


def test_resources_of_another_project_are_labelled_with_their_owner(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", doc("DeliverySource", "s-kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"))
    logs = client(sandbox)
    logs.put_delivery_source(name="theirs", resourceArn=KB[:-1] + "8", logType="APPLICATION_LOGS",
                             tags={"reconciler:project": "payments"})  # fmt: skip
    logs.put_delivery_source(name="by-hand", resourceArn=KB[:-1] + "9", logType="APPLICATION_LOGS")
    text = ws.cli("plan").out
    assert f"    {A}/us-east-1/DeliverySource/theirs  (owned by project 'payments')" in text.splitlines()
    assert f"    {A}/us-east-1/DeliverySource/by-hand  (no reconciler:project tag)" in text.splitlines()
    plan = json.loads(ws.cli("plan", "--format", "json").out)
    assert plan["unmanaged_owners"] == {f"{A}/us-east-1/DeliverySource/theirs": "payments"}
    drift = ws.cli("drift").out
    assert f"    {A}/us-east-1/DeliverySource/theirs  (owned by project 'payments')" in drift.splitlines()


# ---- 7. the public-policy guardrail; the emulator evaluates policies with the same reader ---------------------


def central_with_policy(statement: str, public: bool = False) -> str:
    dest = doc(
        "DeliveryDestination",
        "central",
        "destinationResourceArn: arn:aws:s3:::central-logs\n"
        + ("allowPublicPolicy: true\n" if public else "")
        + f"policy:\n  Version: '2012-10-17'\n  Statement:\n    - {statement}",
        account=B,
    )
    src = doc("DeliverySource", "s-kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}")
    return docs(src, dest, doc("Delivery", "kb-to-central", "source: s-kb\ndestination: central"))


def test_a_pinned_condition_passes_and_not_principal_is_evaluated_by_the_emulator(
    ws: Workspace, sandbox: Any
) -> None:
    resource = f"arn:aws:logs:us-east-1:{B}:delivery-destination:central"
    pinned = ('{Effect: Allow, Principal: "*", Action: "logs:CreateDelivery", Resource: "' + resource + '", '
              'Condition: {StringEquals: {"aws:SourceAccount": "' + A + '"}}}')  # fmt: skip
    ws.write("main.yaml", central_with_policy(pinned))
    assert ws.cli("validate").code == 0
    # Allow + NotPrincipal: public (refused without allowPublicPolicy); the emulator lets in all but the listed
    others = (
        '{Effect: Allow, NotPrincipal: {AWS: "333333333333"}, Action: "logs:CreateDelivery", Resource: "*"}'
    )
    ws.write("main.yaml", central_with_policy(others))
    refused = ws.cli("validate")
    assert (
        refused.code == 1
        and "Allow with NotPrincipal lets in every principal it does not list" in refused.err
    )
    ws.write("main.yaml", central_with_policy(others, public=True))
    apply_ok(ws)
    ws.remove("main.yaml")
    ws.write("main.yaml", doc("DeliverySource", "s-x", f"logType: APPLICATION_LOGS\nresourceArn: {KB[:-1]}3"))
    apply_ok(ws)  # prune all of it
    not_us = '{Effect: Allow, NotPrincipal: {AWS: "' + A + '"}, Action: "logs:CreateDelivery", Resource: "*"}'
    ws.write("main.yaml", central_with_policy(not_us, public=True))
    denied = ws.cli("apply", "--auto-approve")
    assert denied.code == 1 and "CreateDelivery" in denied.err + denied.out
    assert "AccessDeniedException" in denied.err + denied.out


# ---- 8. the emulator fails like AWS does -------------------------------------------------------------------


def test_access_denied_on_assume_role_reaches_the_cli_as_aws_sends_it(ws: Workspace, sandbox: Any) -> None:
    from reconciler.sandbox import Faults, Rule

    ws.write("main.yaml", base())
    role = f"arn:aws:iam::{B}:role/log-admin"
    denied = (
        f"User: arn:aws:iam::{A}:user/ci is not authorized to perform: sts:AssumeRole on resource: {role}"
    )
    sandbox.set_faults(Faults(rules=[Rule(operation="AssumeRole", code="AccessDenied", status=403,
                                          message=denied, times=-1)]))  # fmt: skip
    plan = ws.cli("plan")
    assert plan.code == 1 and "Traceback" not in plan.err
    errors = [
        line for line in plan.err.splitlines() if not line.startswith("read ")
    ]  # not the progress lines
    assert errors == [f"error: AssumeRole {role} (account {B}): AccessDenied: {denied}"], plan.err
    drift = ws.cli("drift", "--format", "json")
    assert drift.code == 3, drift.out + drift.err
    report = json.loads(drift.out)
    assert sorted(report["unreadable"]) == [f"{B}/us-east-1"]
    assert "AccessDenied" in report["unreadable"][f"{B}/us-east-1"]
    text = ws.cli("drift")
    assert text.code == 3 and f"{B}/us-east-1" in text.out


def test_fault_rules_answer_in_each_services_protocol(sandbox: Any) -> None:
    import boto3
    import botocore.exceptions

    from reconciler.sandbox import Faults, Rule

    sandbox.set_faults(Faults(rules=[
        Rule(operation="GetCallerIdentity", code="ExpiredToken", status=403, message="expired", times=1),
        Rule(operation="DescribeDeliverySources", code="AccessDeniedException", status=400, message="no", times=1),
    ]))  # fmt: skip
    for service, call, code in (("sts", "get_caller_identity", "ExpiredToken"),
                                ("logs", "describe_delivery_sources", "AccessDeniedException")):  # fmt: skip
        api = boto3.client(service, region_name="us-east-1", endpoint_url=sandbox.url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        try:
            getattr(api, call)()
        except botocore.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == code
        else:
            raise AssertionError(f"{service} {call} did not fail")


# ---- 6. a replace cascade that cannot finish puts back what it removed -------------------------------------


def test_a_replace_that_cannot_finish_puts_back_our_delivery(ws: Workspace, sandbox: Any) -> None:
    c = "333333333333"  # an account this project cannot read
    cd_arn = f"arn:aws:logs:us-east-1:{A}:delivery-destination:cd"

    def manifests(fmt: str) -> str:
        policy = (f"policy:\n  Version: '2012-10-17'\n  Statement:\n    - {{Effect: Allow, Principal: {{AWS: '{c}'}}, "
                  f"Action: 'logs:CreateDelivery', Resource: '{cd_arn}'}}")  # fmt: skip
        return docs(
            doc("DeliverySource", "s-kb", f"logType: APPLICATION_LOGS\nresourceArn: {KB}"),
            doc("DeliveryDestination", "cd", f"outputFormat: {fmt}\ndestinationResourceArn: arn:aws:s3:::cd-logs\n{policy}"),
            doc("Delivery", "kb-to-cd", "source: s-kb\ndestination: cd\ns3DeliveryConfiguration: {suffixPath: 'kb/{yyyy}'}"
                "\ntags: {tier: gold}"),
        )  # fmt: skip

    ws.write("main.yaml", manifests("json"))
    apply_ok(ws)
    logs, theirs = client(sandbox), client(sandbox, account=c)
    theirs.put_delivery_source(name="c-src", logType="APPLICATION_LOGS",
                               resourceArn=f"arn:aws:bedrock:us-east-1:{c}:knowledge-base/KBC0000001")  # fmt: skip
    theirs.create_delivery(deliverySourceName="c-src", deliveryDestinationArn=cd_arn)
    before = next(d for d in logs.describe_deliveries()["deliveries"] if d["deliverySourceName"] == "s-kb")
    ws.write("main.yaml", manifests("w3c"))
    plan = ws.cli("plan")
    assert plan.code == 0, plan.err
    assert (f"! its policy lets account {c} deliver into it: if they have deliveries here, "
            "DeleteDeliveryDestination fails and this replace cannot finish") in plan.out  # fmt: skip
    result = ws.cli("apply", "--auto-approve")
    assert result.code == 1, result.out + result.err
    assert "put back what this apply deleted for it: Delivery/kb-to-cd" in result.out, result.out
    now = [d for d in logs.describe_deliveries()["deliveries"] if d["deliverySourceName"] == "s-kb"]
    assert len(now) == 1 and now[0]["deliveryDestinationArn"] == cd_arn
    for key in ("recordFields", "fieldDelimiter", "s3DeliveryConfiguration"):
        assert now[0].get(key) == before.get(key), key
    assert logs.list_tags_for_resource(resourceArn=now[0]["arn"])["tags"] == {
        "reconciler:project": "tests", "reconciler:name": "kb-to-cd", "tier": "gold", "team": "platform"}  # fmt: skip
    assert logs.get_delivery_destination(name="cd")["deliveryDestination"]["outputFormat"] == "json"
