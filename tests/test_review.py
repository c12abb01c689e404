"""What a reviewer and an on-call engineer see: the pull-request comment (golden markdown with its Mermaid picture),
`graph`, the plan digest and `apply --expect-digest`, `drift --notify` transitions and `scopes --max-jobs`."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Workspace, client, doc
from test_plan_apply import A, B, apply_ok, base, writes

from reconciler import graph as graphmod
from reconciler.diff import Action, Change
from reconciler.models import Kind, Resource
from reconciler.sandbox import Faults, Rule

GOLDEN = ROOT / "tests" / "golden"

WIDER_POLICY = f"""
policy:
  Version: "2012-10-17"
  Statement:
    - Effect: Allow
      Principal: {{AWS: ["{A}", "333333333333"]}}
      Action: logs:CreateDelivery
      Resource: "arn:aws:logs:us-east-1:{B}:delivery-destination:central"
"""


def review_change(ws: Workspace) -> None:
    """From base(): a create, an update, a replace (with its delivery), deletes and a widened policy."""
    text = base(output_format="json", source_tags="{cost: '2', owner: alice}")
    text = text.replace("destinationResourceArn: arn:aws:s3:::central-222222222222\n", "")
    parts = text.split("---\n")
    kept = [p for p in parts if "s-sso" not in p and "name: central" not in p]
    central = doc(
        "DeliveryDestination",
        "central",
        f"outputFormat: json\ndestinationResourceArn: arn:aws:s3:::central-{B}" + WIDER_POLICY,
        account=B,
    )
    new_source = doc(
        "DeliverySource",
        "s-kb2",
        f"logType: APPLICATION_LOGS\nresourceArn: arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB00000002",
    )
    ws.write("main.yaml", "---\n".join([*kept, central, new_source]))


def normalise(md: str) -> str:
    return re.sub(r"- id: \S+", "- id: ID", md)


def test_plan_comment_golden(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    review_change(ws)
    md = ws.cli("plan", "--format", "markdown")
    assert md.code == 0, md.err
    got = normalise(md.out)
    golden = GOLDEN / "plan-comment.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()


def test_digest_in_every_view_and_expect_digest_match_and_mismatch(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    reviewed = ws.cli("plan", "--format", "json")
    digest = json.loads(reviewed.out)["plan_digest"]
    (ws.root / "reviewed.json").write_text(reviewed.out)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert f"Plan digest: {digest}" in ws.cli("plan").out
    assert f"<!-- reconciler-plan-digest: {digest} -->" in ws.cli("plan", "--format", "markdown").out
    saved = ws.cli("plan", "--out", "p.json")
    assert json.loads((ws.root / "p.json").read_text())["plan_digest"] == digest and saved.code == 0
    # the comment CI posts comes from the saved plan: the digest survives the round trip through the file
    assert (
        f"<!-- reconciler-plan-digest: {digest} -->" in ws.cli("show", "p.json", "--format", "markdown").out
    )
    # the same changes planned again (new timings, counts) give the same digest
    assert json.loads(ws.cli("plan", "--format", "json").out)["plan_digest"] == digest

    # someone changes AWS after the review: the merge plan differs, nothing is written
    client(sandbox).put_delivery_source(
        name="s-sso", resourceArn="arn:aws:sso:::instance/ssoins-0000000000000001", logType="ERROR_LOGS",
        tags={"reconciler:project": "tests"},
    )  # fmt: skip
    before = writes(sandbox)
    refused = ws.cli("apply", "--auto-approve", "--expect-digest", digest)
    assert refused.code == 1
    first = next(line for line in refused.err.splitlines() if line.startswith("error: "))
    assert first.startswith("error: the plan's changes are not the reviewed ones (reviewed digest " + digest)
    assert "nothing was written" in first and "Traceback" not in refused.err
    assert "  now: create 111111111111/us-east-1/DeliverySource/s-kb" in refused.err
    # with the reviewed JSON plan, the exact difference
    exact = ws.cli("apply", "--auto-approve", "--expect-digest", "reviewed.json")
    assert exact.code == 1, exact.err
    assert [line for line in exact.err.splitlines() if not line.startswith("read ")][1:] == [
        "  differs: 111111111111/us-east-1/DeliverySource/s-sso (create when reviewed, update now)"
    ]
    assert writes(sandbox) == before
    # the changes as they are now match their own digest and apply
    now = json.loads(ws.cli("plan", "--format", "json").out)["plan_digest"]
    assert now != digest
    ok = ws.cli("apply", "--auto-approve", "--expect-digest", now)
    assert ok.code == 0, ok.err
    # --allow-plan-drift: warn, then apply
    ws.write("main.yaml", base(source_tags="{cost: '3', owner: alice}"))
    drifted = ws.cli("apply", "--auto-approve", "--expect-digest", digest, "--allow-plan-drift")
    assert drifted.code == 0 and "warning: the plan's changes are not the reviewed ones" in drifted.err
    assert ws.cli("plan", "--detailed-exitcode").code == 0


# ---- the picture -----------------------------------------------------------------------------------------------

MERMAID_DIR = ROOT / "tests" / "mermaid"


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)


def parse_mermaid(diagrams: list[str], tmp_path: Path) -> list[str]:
    """Each diagram through mermaid's own parser (node + jsdom, no browser): one "FILE: ok TYPE" line each."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: mermaid's parser cannot run (the structural checks still do)")
    assert (MERMAID_DIR / "node_modules" / "mermaid").is_dir(), "run `make test` (it installs tests/mermaid)"
    files = []
    for i, text in enumerate(diagrams):
        path = tmp_path / f"d{i}.mmd"
        path.write_text(text)
        files.append(str(path))
    proc = subprocess.run(["node", str(MERMAID_DIR / "parse.mjs"), *files], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def check_structure(text: str) -> None:
    """What mermaid's parser does not check: every edge and class names a declared node, linkStyle indexes exist,
    subgraphs close."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    declared = re.findall(r"^\s+(n\d+)\[", text, flags=re.M)
    assert len(declared) == len(set(declared))
    edges = re.findall(r"^\s+(n\d+) (?:-->|-\.->)\|\"[^\"]*\"\| (n\d+)$", text, flags=re.M)
    assert all(a in declared and b in declared for a, b in edges)
    styled = [int(i) for i in re.findall(r"^\s+linkStyle (\d+) ", text, flags=re.M)]
    assert styled == list(range(len(edges)))
    for ids in re.findall(r"^\s+class (\S+) \w+$", text, flags=re.M):
        assert set(ids.split(",")) <= set(declared)
    assert text.count("subgraph ") == len(re.findall(r"^\s+end$", text, flags=re.M))


def many_sources(n: int) -> list[Change]:
    """n new sources in two services and two accounts, each delivering to one of two destinations."""
    changes = []
    dest = {a: Resource(Kind.DESTINATION, a, "us-east-1", "central", {"outputFormat": "json",
            "destinationResourceArn": f"arn:aws:logs:us-east-1:{a}:log-group:c"}) for a in (A, B)}  # fmt: skip
    for d in dest.values():
        changes.append(Change(Action.CREATE, None, d))
    for i in range(n):
        account = A if i % 2 else B
        service = "bedrock" if i % 3 else "sso"
        arn = (f"arn:aws:bedrock:us-east-1:{account}:knowledge-base/KB{i:08d}" if service == "bedrock"
               else f"arn:aws:sso:::instance/ssoins-{i:016d}")  # fmt: skip
        src = Resource(Kind.SOURCE, account, "us-east-1", f"s-{i}", {"resourceArn": arn, "logType": "TRACES"})
        target = dest[B if i % 5 == 0 else account]
        d = Resource(Kind.DELIVERY, account, "us-east-1", f"d-{i}", {"deliverySourceName": f"s-{i}",
                     "deliveryDestinationArn": f"arn:aws:logs:us-east-1:{target.account}:delivery-destination:central",
                     "deliveryDestinationType": "CWL", "sourceService": service})  # fmt: skip
        changes += [Change(Action.CREATE, None, src), Change(Action.CREATE, None, d)]
    return changes


def test_large_picture_folds_by_service_and_says_so() -> None:
    g = graphmod.cap(graphmod.build(many_sources(300), []), 40)
    assert len(g.nodes) <= 40
    assert g.folded.startswith("302 sources and destinations are more than 40: folded by service into ")
    text = graphmod.mermaid(g)
    check_structure(text)
    assert "150 bedrock sources" not in text  # grouped per account: 100 + 100 bedrock, 50 + 50 sso
    assert '"100 bedrock sources' in text and '"50 sso sources' in text
    assert "deliveries · cross-account" in text  # folded edges are counted and keep the cross-account label


def test_picture_renders_without_aws_code() -> None:
    code = "import sys, reconciler.graph; print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_mermaid_parses_and_graph_command(ws: Workspace, sandbox: Any, tmp_path: Path) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    review_change(ws)
    comment = ws.cli("plan", "--format", "markdown").out
    estate = ws.cli("graph")
    changes_only = ws.cli("graph", "--changes-only")
    assert estate.code == 0 and changes_only.code == 0, estate.err + changes_only.err
    dot = ws.cli("graph", "--format", "dot")
    assert dot.code == 0 and dot.out.startswith("digraph reconciler {") and "cluster_222222222222" in dot.out
    assert "sso-to-central (cross-account)" in dot.out and 'style="dashed"' in dot.out
    folded = graphmod.mermaid(graphmod.cap(graphmod.build(many_sources(300), []), 40))
    diagrams = [*mermaid_blocks(comment), estate.out, changes_only.out, folded]
    for text in diagrams:
        check_structure(text)
    assert [line.split(": ", 1)[1] for line in parse_mermaid(diagrams, tmp_path)] == ["ok flowchart-v2"] * 4


# ---- drift ------------------------------------------------------------------------------------------------------


def test_drift_markdown_carries_values_unmanaged_unreadable_and_out_of_band(
    ws: Workspace, sandbox: Any
) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    logs = client(sandbox)
    logs.put_delivery_source(name="by-hand", resourceArn=f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB00000077",
                             logType="TRACES")  # fmt: skip
    logs.tag_resource(resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"cost": "999"})
    kb = next(d for d in logs.describe_deliveries()["deliveries"] if d["deliverySourceName"] == "s-kb")
    logs.delete_delivery(id=kb["id"])
    rep = json.loads(ws.cli("drift", "--format", "json").out)
    by = {e["address"]: e for e in rep["drift"]}
    assert by[f"{A}/us-east-1/Delivery/kb-to-s3"]["out_of_band"] == "deleted"
    assert by[f"{A}/us-east-1/DeliverySource/s-kb"]["out_of_band"] == "changed"
    md = ws.cli("drift", "--format", "markdown")
    assert md.code == 2
    assert (
        f'| changed | `{A}/us-east-1/DeliverySource/s-kb` | changed | `tags.cost`: live `"999"`, manifest `"1"` |'
        in md.out
    )
    assert f"| missing | `{A}/us-east-1/Delivery/kb-to-s3` | deleted | deleted out of band" in md.out
    assert "Unmanaged in scope (informational, never touched): 1</summary>" in md.out
    assert f"- `{A}/us-east-1/DeliverySource/by-hand`" in md.out
    text = ws.cli("drift").out
    assert f"MISSING {A}/us-east-1/Delivery/kb-to-s3 [deleted out of band]" in text
    sandbox.set_faults(Faults(rules=[Rule(operation="DescribeDeliveryDestinations", account=B,
                                          code="AccessDeniedException", message="denied", times=-1)]))  # fmt: skip
    unreadable = ws.cli("drift", "--format", "markdown")
    assert unreadable.code == 3
    assert "**Incomplete: 1 scope(s) could not be read**; nothing is claimed about them:" in unreadable.out
    assert f"- `{B}/us-east-1`: " in unreadable.out


def test_notify_transitions() -> None:
    from reconciler.diff import FieldDiff
    from reconciler.drift import DriftEntry, DriftReport
    from reconciler.notify import State, transition

    def rep(*addresses: str, unreadable: bool = False) -> DriftReport:
        entries = [
            DriftEntry(a, "changed", "tags changed", [FieldDiff("tags.x", "1", "2")], "changed")
            for a in addresses
        ]
        return DriftReport(entries, [], {f"{B}/us-east-1": "AccessDenied"} if unreadable else {}, [], [])

    t0 = dt.datetime(2026, 11, 25, 6, 17, tzinfo=dt.UTC)
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    assert transition(None, rep(), t0)[0] is None  # first run, in sync: nothing to say
    event, s1 = transition(None, rep("a"), t0)
    assert event == "new_drift" and s1 == State("drifting", ["a"], t0.isoformat(), t0.isoformat())
    event, s2 = transition(s1, rep("a"), t0 + hour)
    assert event is None and s2.notified_at == t0.isoformat()  # the same drift within a day
    event, s3 = transition(s2, rep("a"), t0 + day)
    assert (
        event == "still_drifting" and s3.since == t0.isoformat() and s3.notified_at == (t0 + day).isoformat()
    )
    event, s4 = transition(s3, rep("a", "b"), t0 + day + hour)
    assert event == "new_drift" and s4.drift == ["a", "b"]  # other resources drifted: said at once
    event, s5 = transition(s4, rep(), t0 + day + 2 * hour)
    assert event == "back_in_sync" and s5.status == "in_sync"
    assert transition(s5, rep(), t0 + 3 * day)[0] is None
    event, s6 = transition(s5, rep(unreadable=True), t0 + 3 * day)
    assert event == "unreadable"
    assert transition(s6, rep(unreadable=True), t0 + 3 * day + hour)[0] is None
    assert transition(s6, rep(unreadable=True), t0 + 4 * day)[0] == "unreadable"
    assert transition(s6, rep(), t0 + 4 * day)[0] == "back_in_sync"


def test_drift_notify_file_and_url_through_the_cli(ws: Workspace, sandbox: Any) -> None:
    import http.server
    import threading

    ws.write("main.yaml", base())
    apply_ok(ws)
    note, state = ws.root / "notify.json", ws.root / "state.json"

    def run(*extra: str) -> tuple[int, dict[str, Any] | None]:
        note.unlink(missing_ok=True)
        result = ws.cli("drift", "--notify", str(note), "--state", str(state), *extra)
        assert result.code in (0, 2, 3), result.err
        return result.code, json.loads(note.read_text()) if note.exists() else None

    assert run() == (0, None)
    logs = client(sandbox)
    logs.tag_resource(resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"cost": "999"})
    code, doc = run()
    assert code == 2 and doc is not None and doc["event"] == "new_drift" and doc["status"] == "drifting"
    assert doc["drift"] == [{"address": f"{A}/us-east-1/DeliverySource/s-kb", "status": "changed",
                             "out_of_band": "changed", "fields": ["tags.cost"]}]  # fmt: skip
    assert doc["text"].startswith(
        "reconciler drift in tests (all scopes): 1 resource(s) out of sync (new drift"
    )
    assert f"• changed, changed out of band: {A}/us-east-1/DeliverySource/s-kb (tags.cost)" in doc["text"]
    assert run() == (2, None)  # still drifting, already said today
    kept = json.loads(state.read_text())
    kept["notified_at"] = "2000-01-01T00:00:00+00:00"
    state.write_text(json.dumps(kept))
    code, doc = run()
    assert doc is not None and doc["event"] == "still_drifting"
    logs.tag_resource(resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"cost": "1"})
    code, doc = run()
    assert code == 0 and doc is not None and doc["event"] == "back_in_sync"
    assert doc["text"] == "reconciler drift in tests (all scopes): back in sync"
    sandbox.set_faults(Faults(rules=[Rule(operation="DescribeDeliveryDestinations", account=B,
                                          code="AccessDeniedException", message="denied", times=-1)]))  # fmt: skip
    code, doc = run("--scope", f"{B}/us-east-1")
    assert (
        code == 3 and doc is not None and doc["event"] == "unreadable" and doc["scopes"] == [f"{B}/us-east-1"]
    )
    assert "AccessDeniedException" in doc["unreadable"][f"{B}/us-east-1"]
    sandbox.set_faults(Faults())

    # the same payload POSTed to a webhook; the URL's path (its secret) never printed
    received: list[dict[str, Any]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        logs.tag_resource(resourceArn=f"arn:aws:logs:us-east-1:{A}:delivery-source:s-kb", tags={"cost": "7"})
        url = f"http://127.0.0.1:{server.server_port}/services/T000/B000/SECRETPATH"
        posted = ws.cli("drift", "--notify", url)
        assert posted.code == 2 and len(received) == 1 and received[0]["event"] == "new_drift"
        assert (
            "SECRETPATH" not in posted.err + posted.out
            and "notified new_drift to http://127.0.0.1/" in posted.err
        )
    finally:
        server.shutdown()
        server.server_close()
    refused = ws.cli("drift", "--notify", f"http://127.0.0.1:{server.server_port}/x/SECRETPATH")
    assert refused.code == 1 and "drift --notify: POST to http://127.0.0.1/… failed" in refused.err
    assert "SECRETPATH" not in refused.err and "Traceback" not in refused.err


# ---- fleets -----------------------------------------------------------------------------------------------------

REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
           "eu-central-1", "ap-southeast-1", "ap-northeast-1"]  # fmt: skip


def test_group_scopes_is_exact_and_balanced() -> None:
    from reconciler.scopes import group_scopes

    for n in (1, 2, 255, 256, 257, 1000, 1001):
        scopes = [(f"{i // 10:012d}", f"r{i % 10}") for i in range(n)]
        for cap_ in (1, 7, 256):
            jobs = group_scopes(scopes, cap_)
            assert len(jobs) == min(n, cap_)
            assert [s for job in jobs for s in job] == scopes  # each scope exactly once, in order
            assert max(map(len, jobs)) - min(map(len, jobs)) <= 1


def test_scopes_max_jobs_through_the_cli(tmp_path: Path) -> None:
    accounts = [f"{100000000000 + i}" for i in range(100)]
    lines = [f'  "{a}": {{roleArn: "arn:aws:iam::{a}:role/logs"}}' for a in accounts[1:]]
    (tmp_path / "manifests").mkdir()
    (tmp_path / "reconciler.yaml").write_text(
        f'project: fleet\nregion: us-east-1\nregions: {json.dumps(REGIONS)}\naccount: "{accounts[0]}"\n'
        "accounts:\n" + "\n".join(lines) + "\nmanifests: manifests/\n"
    )
    ws = Workspace.__new__(Workspace)
    ws.root = tmp_path
    everything = ws.cli("scopes")
    assert everything.code == 0, everything.err
    assert len(everything.out.splitlines()) == 1000
    result = ws.cli("scopes", "--format", "json")  # default --max-jobs 256
    assert result.code == 0, result.err
    jobs = json.loads(result.out)["include"]
    assert len(jobs) <= 256
    listed = [s for job in jobs for s in job["scopes"]]
    assert len(listed) == 1000 and sorted(listed) == sorted(everything.out.split())
    assert all(job["args"] == " ".join(f"--scope {s}" for s in job["scopes"]) for job in jobs)
    assert all("scope" not in job and job["region"] == job["scopes"][0].split("/")[1] for job in jobs)
    small = json.loads(ws.cli("scopes", "--format", "json", "--max-jobs", "3").out)["include"]
    assert [len(j["scopes"]) for j in small] == [334, 333, 333] and small[0]["name"].endswith(" +333")
    text = ws.cli("scopes", "--max-jobs", "2").out.splitlines()
    assert len(text) == 2 and text[0].startswith(f"job 1: {accounts[0]}/ap-northeast-1 ")
    # a job's list goes back in as one value or as repeated options
    some = jobs[0]["scopes"]
    one = ws.cli("scopes", "--scope", ",".join(some))
    repeated = ws.cli("scopes", *[a for s in some for a in ("--scope", s)])
    assert one.out.split() == repeated.out.split() == sorted(some)


def test_readme_workflow_snippets_are_found_whole() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from check_workflows import readme_workflows

    snippets = readme_workflows((ROOT / "README.md").read_text())
    assert len(snippets) >= 2
    assert all("on:" in body for _, body in snippets)
    assert readme_workflows("```yaml\njobs: {a: {runs-on: x}}\n```\n```yaml\nkind: Delivery\n```\n") == [
        (2, "jobs: {a: {runs-on: x}}\n")
    ]


def test_the_workflow_check_fails_on_what_actionlint_finds(tmp_path: Path, capsys: Any) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import check_workflows

    if shutil.which("actionlint", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}") is None:
        pytest.skip("no actionlint wheel for this platform")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    good = (
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.sha }}\n"
    )
    (tmp_path / ".github" / "workflows" / "ok.yml").write_text(good)
    (tmp_path / "README.md").write_text("```yaml\n" + good.replace("github.sha", "github.evnt") + "```\n")
    assert check_workflows.main(tmp_path) == 1
    out = capsys.readouterr().out
    assert 'README.md-line-2.yml:6:23: property "evnt" is not defined' in out
    (tmp_path / "README.md").write_text("```yaml\n" + good + "```\n")
    assert check_workflows.main(tmp_path) == 0
    assert "actionlint" in capsys.readouterr().out


def test_unchanged_neighbours_are_faded_and_text_shows_the_policy_diff(ws: Workspace, sandbox: Any) -> None:
    ws.write("main.yaml", base())
    apply_ok(ws)
    ws.write("main.yaml", base(source_tags="{cost: '5', owner: alice}"))
    picture = ws.cli("graph", "--changes-only").out
    ids = dict(re.findall(r"^\s+(n\d+)\[\"?\(?\"?([\w-]+)<br/>", picture, flags=re.M)[::1])
    by_name = {name: node for node, name in ids.items()}
    assert set(by_name) == {
        "s-kb",
        "d-s3",
    }  # the changed source and the other end of its delivery, nothing else
    assert f"class {by_name['s-kb']} update" in picture and f"class {by_name['d-s3']} unchanged" in picture
    assert f'{by_name["s-kb"]} -.->|"kb-to-s3"| {by_name["d-s3"]}' in picture  # an unchanged delivery, dotted
    review_change(ws)
    text = ws.cli("plan", "--no-color").out
    assert "      ! policy WIDENS access" not in text  # the widening is the change's reason, on its head line
    assert '        -           "AWS": "111111111111"\n        +           "AWS": [\n' in text
    assert '      + resourceArn: "arn:aws:bedrock:us-east-1:111111111111:knowledge-base/KB00000002"' in text
