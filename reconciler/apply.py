"""Run a plan through ``aws.Api``: exactly its steps, in dependency order, in parallel where independent.

- Overwrite semantics: Put* sends every desired parameter; tags go only on creation (then Tag/UntagResource).
- Writes touching the same source or destination never run at the same time (TF #42194).
- A failed step skips its dependents; independent work carries on; the result lists done/failed/skipped.
- ``CreateDelivery`` first looks the (source, destination) pair up, so a re-run after a crash never duplicates.
- After writing, each changed resource is read back and compared with the desired state (``verify``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from . import dag
from . import diff as diffmod
from . import grants as grantsmod
from .aws import Api, writer
from .diff import Action, Change
from .errors import AwsError
from .kinds import KINDS, Delivery, Grant
from .kinds.grant import CWL_POLICY, FIREHOSE_TAG, KMS_POLICY
from .models import HANDLE_TAG, OWNER_TAG, SELECTOR_TAG, Kind, Resource, canonical_policy
from .plan import DELETE, Plan, Step
from .results import DONE, FAILED, NOT_STARTED, SKIPPED, ApplyResult, ChangeResult
from .writepath import CWL_POLICY_CHARS_MAX

INTERRUPT_GRACE_SECONDS = 5.0  # after an interrupt, calls already in flight may finish within this


Event = Callable[[str, ChangeResult], None]  # ("start" | "done", result)


def selector_tag(r: Resource) -> dict[str, str]:
    """The tag naming the DeliverySelector that made ``r`` (read back when it is pruned), if one did."""
    return {SELECTOR_TAG: r.selector} if r.selector else {}


def _lock_keys(change: Change) -> set[str]:
    """What the change's writes touch, on both sides (a delivery moved to another source takes both)."""
    kind = KINDS[change.kind]
    return {key for side in (change.before, change.after) if side is not None for key in kind.lock_keys(side)}


class Runner:
    def __init__(self, plan: Plan, api: Api, parallelism: int = 8, verify: bool = True,
                 on_event: Event | None = None, stop: threading.Event | None = None) -> None:  # fmt: skip
        self.stop = stop or threading.Event()
        self.plan = plan
        self.api = api
        self.parallelism = max(1, parallelism)
        self.verify = verify
        self.on_event = on_event or (lambda _e, _r: None)
        self.results = [ChangeResult(c) for c in plan.changes]
        self.created_ids: dict[int, str] = {}
        self.started: dict[int, float] = {}
        self.deleted: set[int] = set()  # changes whose delete step finished
        self.put_back: set[int] = set()  # deliveries re-created after their cascade failed

    def run(self) -> ApplyResult:
        t0 = time.monotonic()
        plan = self.plan
        remaining_steps = Counter(i for i, _ in plan.steps)  # steps per change (one, or two for a replace)

        def started(step: Step) -> None:
            if step[0] not in self.started:
                self.started[step[0]] = time.monotonic()
                self.on_event("start", self.results[step[0]])

        def succeeded(step: Step) -> None:
            i = step[0]
            if step[1] == DELETE:
                self.deleted.add(i)
            remaining_steps[i] -= 1
            res = self.results[i]
            if remaining_steps[i] == 0 and res.status != SKIPPED:
                res.seconds = time.monotonic() - self.started.get(i, time.monotonic())
                self.on_event("done", res)

        def failed(step: Step, error: BaseException) -> None:
            res = self.results[step[0]]
            res.status = FAILED
            res.error = str(error) if isinstance(error, AwsError) else f"{type(error).__name__}: {error}"
            restored = self._put_back(step)
            if restored:
                res.error += "; " + restored
            res.seconds = time.monotonic() - self.started.get(step[0], time.monotonic())
            self.on_event("done", res)

        def skipped(step: Step, cause: Step) -> None:
            res = self.results[step[0]]
            if res.status == DONE:
                why = f"skipped: {plan.changes[cause[0]].address} failed"
                res.status, res.error = (
                    SKIPPED,
                    why + ("; put back as it was" if step[0] in self.put_back else ""),
                )
                self.on_event("done", res)

        hooks: dag.Hooks[Step] = dag.Hooks(started, succeeded, failed, skipped,
                                           lambda: self.api.interrupt(INTERRUPT_GRACE_SECONDS))  # fmt: skip
        dag.walk(plan.steps, plan.deps, self._step, parallelism=self.parallelism,
                 keys=lambda step: _lock_keys(plan.changes[step[0]]), stop=self.stop, hooks=hooks, thread_name="apply")  # fmt: skip
        interrupted = self.stop.is_set()
        if interrupted:
            for i, res in enumerate(self.results):
                if res.status != DONE:
                    continue
                if i not in self.started:
                    res.status, res.error = NOT_STARTED, "interrupted before it started"
                elif remaining_steps[i] > 0:  # a replace whose delete ran but whose create did not
                    res.status, res.error = FAILED, "interrupted between its steps; run apply again to finish"
        return ApplyResult(self.results, time.monotonic() - t0, dict(self.api.calls), interrupted)

    # ---- a replace that cannot finish
    def _put_back(self, step: Step) -> str:
        """When deleting a replaced source or destination fails, re-create the deliveries this apply deleted for
        that cascade, as they were (configuration and tags), so a failed replace does not leave logs undelivered.
        Returns what was done, for the failed change's message."""
        i, phase = step
        change = self.plan.changes[i]
        old = change.before
        if phase != DELETE or change.action is not Action.REPLACE or old is None:
            return ""
        if old.kind not in (Kind.SOURCE, Kind.DESTINATION):
            return ""
        victims = self._deleted_deliveries_of(old)
        if not victims:
            return ""
        restored, lost = [], []
        for j, b in victims:
            try:
                self._recreate_delivery(b)
                restored.append(f"Delivery/{b.name}")
                self.put_back.add(j)
            except AwsError as exc:
                lost.append(f"Delivery/{b.name} ({exc.code}: {exc.message})")
        out = f"put back what this apply deleted for it: {', '.join(restored)}" if restored else ""
        if lost:
            out += ("; " if out else "") + f"could not put back: {', '.join(lost)}"
        return out

    def _deleted_deliveries_of(self, old: Resource) -> list[tuple[int, Resource]]:
        """(change index, delivery as it was) of each replaced delivery this apply deleted from the source or into
        the destination ``old``."""
        victims = []
        for j in sorted(self.deleted):
            c = self.plan.changes[j]
            b = c.before
            if c.kind is not Kind.DELIVERY or c.action is not Action.REPLACE or b is None:
                continue
            if old.kind is Kind.SOURCE:
                hit = Delivery.source_of(b) == (old.account, old.region, old.name)
            else:
                hit = Delivery.endpoints(b)[1] == old.arn
            if hit:
                victims.append((j, b))
        return victims

    def _recreate_delivery(self, b: Resource) -> None:
        source, dest = Delivery.endpoints(b)
        if self.api.find_delivery(b.account, b.region, source, dest) is not None:
            return  # still there (its delete did not go through after all)
        tags = {**b.tags, **b.extra_tags, **selector_tag(b), OWNER_TAG: self.plan.project, HANDLE_TAG: b.name}
        config = {k: v for k, v in Delivery.write_params(b).items() if v not in ("", [], None)}
        writer.create_delivery(self.api, b, source, dest, tags, config)

    # ---- one step
    def _step(self, step: Step) -> None:
        i, phase = step
        change = self.plan.changes[i]
        if change.kind is Kind.GRANT:
            self._grant(change)
            self.results[i].verified = self.verify
            return
        if phase == DELETE:
            self._delete(change)
            if change.action is Action.DELETE and self.verify:
                self._verify_gone(change)
        else:
            self._apply(i, change)
            if self.verify:
                self._verify(i, change)
                self.results[i].verified = True

    def _delete(self, change: Change) -> None:
        r = change.before
        assert r is not None
        kind = KINDS[r.kind]
        if change.action is Action.REPLACE and not kind.calls.replace_deletes:
            return  # goes with its destination
        writer.delete(self.api, r, kind.calls.delete, kind.delete_params(r))

    def _apply(self, i: int, change: Change) -> None:
        d = change.after
        assert d is not None
        creating = change.action in (Action.CREATE, Action.REPLACE)
        kind = KINDS[d.kind]
        if kind is Delivery:
            self._apply_delivery(i, change, d, creating)
        elif not kind.calls.tagged:  # a policy: one Put, no tags
            writer.put(self.api, d, kind.calls.create, kind.write_params(d))
        else:
            if creating or change.attr_fields():
                tags = {**d.tags, **selector_tag(d), OWNER_TAG: self.plan.project} if creating else None
                writer.put(self.api, d, kind.calls.create, kind.write_params(d), tags)
            if not creating:
                self._tags(change, d.arn)

    def _tags(self, change: Change, arn: str | None) -> None:
        r = change.after
        assert r is not None and arn is not None
        to_set, to_remove = change.tag_changes()
        before = change.before
        if r.selector and before is not None and before.selector != r.selector:
            to_set = {**to_set, **selector_tag(r)}  # made by an older version, which did not tag it
        if change.adopt:
            to_set = {**to_set, OWNER_TAG: self.plan.project}
            if KINDS[r.kind].handle_tagged:
                to_set[HANDLE_TAG] = r.name
        if to_set:
            writer.tag(self.api, r, arn, to_set)
        if to_remove:
            writer.untag(self.api, r, arn, to_remove)

    def _apply_delivery(self, i: int, change: Change, d: Resource, creating: bool) -> None:
        if creating:
            self.created_ids[i] = self._create_delivery(d)
            return
        before = change.before
        assert before is not None and before.id is not None
        self.created_ids[i] = before.id
        if change.attr_fields():
            writer.update_delivery(self.api, d, before.id, Delivery.write_params(d))
        self._tags(change, before.arn)

    def _create_delivery(self, d: Resource) -> str:
        """CreateDelivery, unless the (source, destination) pair exists already (a re-run after a crash): then it is
        taken over when an earlier run of this project created it and stopped before recording it (our tag), or
        when it has no owner and the plan was made with --adopt. Returns the delivery's id."""
        source, dest = Delivery.endpoints(d)
        tags = {**d.tags, **selector_tag(d), OWNER_TAG: self.plan.project, HANDLE_TAG: d.name}
        existing = self.api.find_delivery(d.account, d.region, source, dest)
        if existing is None:
            return writer.create_delivery(
                self.api, d, source, dest, tags, Delivery.write_params(d, creating=True)
            )
        owner = writer.owner_of(self.api, d, existing["arn"])
        if owner != self.plan.project and not (owner is None and self.plan.options.get("adopt")):
            who = (
                f"owned by project {owner!r}"
                if owner
                else "without a reconciler:project tag (plan with --adopt to take it over)"
            )
            raise AwsError("CreateDelivery", d.address, "PairTaken",
                           f"a delivery from {source} to {dest} already exists, {who}; it was not taken over")  # fmt: skip
        config = Delivery.write_params(d)
        if config:
            writer.update_delivery(self.api, d, existing["id"], config)
        writer.tag(self.api, d, existing["arn"], tags)
        return str(existing["id"])

    # ---- grants: managed (a read-merge-write, so statements others added meanwhile are kept)
    def _grant(self, change: Change) -> None:
        r = change.resource
        grant = Grant.typed(r).grant
        after = Grant.typed(change.after) if change.after is not None else None
        if grant == FIREHOSE_TAG:
            assert after is not None
            name = r.arn.rsplit("/", 1)[-1] if r.arn else r.name
            tags = [{"Key": k, "Value": v} for k, v in sorted((after.tags or {}).items())]
            writer.tag_delivery_stream(self.api, r, name, tags)
            return
        wanted = dict(after.statements or {}) if after is not None else {}
        if grant == CWL_POLICY:
            self._grant_cwl(r, wanted)
            return
        if grant == KMS_POLICY:
            key = str(r.arn)
            merged = self._merged(r, writer.key_policy(self.api, r, key), wanted, "key policy")
            writer.put_key_policy(self.api, r, key, merged or "{}")
            return
        self._bucket_grant(r, wanted)

    def _bucket_grant(self, r: Resource, wanted: dict[str, Any]) -> None:
        bucket = str(r.arn).split(":::", 1)[-1]
        merged = self._merged(r, writer.bucket_policy(self.api, r, bucket), wanted, "bucket policy")
        if merged is None:
            writer.delete_bucket_policy(self.api, r, bucket)
        else:
            writer.put_bucket_policy(self.api, r, bucket, merged)
        if self.verify:
            _check_statements(r, writer.bucket_policy(self.api, r, bucket), wanted, "the bucket policy")

    def _grant_cwl(self, r: Resource, wanted: dict[str, Any]) -> None:
        """The log group's own resource policy (one per log group): read, merge, write with its revision id."""
        api, group = self.api, str(r.arn)
        name, text, revision = _group_policy(api, r, group)
        merged = self._merged(r, text, wanted, "log group's resource policy")
        if merged is None and name is not None and name.startswith(grantsmod.SID_PREFIX):
            writer.delete_resource_policy(api, r, group, name, revision)
        elif merged is not None or name is not None:
            doc = merged or grantsmod.EMPTY_POLICY  # a policy not of ours keeps its name, even empty
            if len(doc) > CWL_POLICY_CHARS_MAX:
                raise AwsError("merge", r.address, "Refused", f"the log group's resource policy would have "
                               f"{len(doc)} characters, past the {CWL_POLICY_CHARS_MAX}-character limit")  # fmt: skip
            writer.put_resource_policy(api, r, group, name or grantsmod.CWL_POLICY_NAME, doc, revision)
        if self.verify:
            _check_statements(r, _group_policy(api, r, group)[1], wanted, "the log group's policy")

    @staticmethod
    def _merged(r: Resource, current: str | None, wanted: dict[str, Any], what: str) -> str | None:
        why = grantsmod.refusal(current)
        if why is not None:
            raise AwsError("merge", r.address, "Refused", f"the {what}: {why}")
        return grantsmod.merge(current, wanted)

    # ---- verification
    def _verify(self, i: int, change: Change) -> None:
        d = change.after
        assert d is not None
        live = self.api.read_one(d.kind, d.account, d.region, d.name, self.created_ids.get(i))
        if live is None:
            raise AwsError("verify", d.address, "Missing", "not found when read back after the write")
        fields = diffmod.compare(d, live)
        if KINDS[d.kind].owned and live.owner != self.plan.project:
            fields.append(diffmod.FieldDiff(f"tags.{OWNER_TAG}", live.owner, self.plan.project))
        if fields:
            what = ", ".join(f"{f.path}: want {f.after!r}, read {f.before!r}" for f in fields[:3])
            raise AwsError("verify", d.address, "Mismatch", f"read back differs from the manifest: {what}")

    def _verify_gone(self, change: Change) -> None:
        r = change.before
        assert r is not None
        if r.kind is Kind.POLICY:
            return
        if self.api.read_one(r.kind, r.account, r.region, r.name, r.id) is not None:
            raise AwsError(
                "verify", r.address, "StillPresent", "still present when read back after the delete"
            )


def run(
    plan: Plan,
    api: Api,
    parallelism: int = 8,
    verify: bool = True,
    on_event: Event | None = None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Apply the plan; when ``stop`` is set, no new change starts and the report lists what did not."""
    return Runner(plan, api, parallelism, verify, on_event, stop).run()


def _group_policy(api: Api, r: Resource, group: str) -> tuple[str | None, str | None, dict[str, str]]:
    """(name, document, the expectedRevisionId argument) of the log group's resource policy the grant edits;
    (None, None, {}) when the group has none."""
    listed = writer.group_policies(api, r, group)
    i = grantsmod.pick_group_policy([str(p.get("policyName", "")) for p in listed])
    if i is None:
        return None, None, {}
    p = listed[i]
    revision = {"expectedRevisionId": str(p["revisionId"])} if p.get("revisionId") else {}
    return str(p.get("policyName", "")), str(p.get("policyDocument") or "") or None, revision


def _check_statements(r: Resource, text: str | None, wanted: dict[str, Any], what: str) -> None:
    """Verification: the policy read back holds exactly the statements of ours the change wanted."""
    have = grantsmod.owned_statements(text)
    if sorted(have) != sorted(wanted) or canonical_policy(
        [have[k] for k in sorted(have)]
    ) != canonical_policy([wanted[k] for k in sorted(wanted)]):
        raise AwsError("verify", r.address, "Mismatch", f"{what} read back lacks the grant")
