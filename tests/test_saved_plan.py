"""A saved plan stores its changes only; steps and dependencies are recomputed when it is loaded (pure)."""

from __future__ import annotations

import json

from reconciler import plan as planmod
from reconciler.diff import Action, Change
from reconciler.models import Kind, Resource

A = "111111111111"


def _plan() -> planmod.Plan:
    src = Resource(Kind.SOURCE, A, "us-east-1", "s1",
                   {"resourceArn": f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB12345678",
                    "logType": "APPLICATION_LOGS", "deliverySourceConfiguration": {}})  # fmt: skip
    old = Resource(Kind.SOURCE, A, "us-east-1", "s0",
                   {"resourceArn": f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB00000000",
                    "logType": "APPLICATION_LOGS", "deliverySourceConfiguration": {}})  # fmt: skip
    changed = Resource(Kind.SOURCE, A, "us-east-1", "s0",
                       {**old.attrs, "logType": "TRACES"})  # fmt: skip
    return planmod.build(
        [Change(Action.CREATE, None, src), Change(Action.REPLACE, old, changed, "logType changes")], "p"
    )


def test_a_saved_plan_has_no_steps_and_its_steps_come_back_on_load() -> None:
    plan = _plan()
    doc = json.loads(planmod.dumps(plan))
    assert "steps" not in doc and "deps" not in doc
    assert [c["address"] for c in doc["changes"]] == [c.address for c in plan.changes]
    loaded = planmod.from_json(doc)
    assert loaded.steps == plan.steps and loaded.deps == plan.deps
    assert len(loaded.steps) == 3  # the replace is two steps


def test_an_older_saved_plan_with_steps_still_loads_and_its_steps_are_not_trusted() -> None:
    plan = _plan()
    doc = json.loads(planmod.dumps(plan))
    doc["steps"] = [[0, "apply"]]  # as older versions wrote them (here: wrong on purpose)
    doc["deps"] = [[[0, "apply"], [[1, "apply"]]]]
    loaded = planmod.from_json(doc)
    assert loaded.steps == plan.steps and loaded.deps == plan.deps
