"""DestinationGrant: what lets the delivery service write into a destination's own resource.

Not a manifest kind: ``grants.py`` makes these changes from the write-path facts when a destination's grants are
``managed``. A grant is a set of statements merged into a policy others share (an S3 bucket policy, a KMS key
policy, a log group's resource policy: read, merged and written back, so others' statements are kept), or the tag a
Firehose stream needs. Its attributes say which, for which destinations, and what is wanted there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from reconciler.models import Kind, Resource

from .base import Attrs, Calls, KindDef

if TYPE_CHECKING:
    from reconciler.diff import Change

FIREHOSE_TAG, KMS_POLICY, CWL_POLICY, S3_POLICY = "firehose-tag", "kms-policy", "cwl-policy", "s3-policy"


@dataclass(frozen=True)
class GrantAttrs(Attrs):
    OPTIONAL: ClassVar[tuple[str, ...]] = ("policyName", "statements", "tags")

    grant: str  # firehose-tag | kms-policy | cwl-policy | s3-policy
    destinations: list[str]  # the delivery-destination ARNs it serves (a delivery waits for its grant)
    policyName: str | None = None  # cwl-policy: the resource policy it goes into
    statements: dict[str, Any] | None = None  # the policy grants: statement id -> statement
    tags: dict[str, str] | None = None  # firehose-tag: the stream tags


class Grant(KindDef):
    kind = Kind.GRANT
    attrs = GrantAttrs
    compared = ("statements", "tags")
    owned = False  # the policy or stream belongs to whoever owns the bucket, key, log group or stream
    calls = Calls(create="", update="", delete="", tagged=False)  # by grant type: calls_for

    @classmethod
    def typed(cls, r: Resource) -> GrantAttrs:
        return GrantAttrs.from_mapping(r.attrs)

    @classmethod
    def calls_for(cls, change: Change) -> list[str]:
        """A grant reads the policy again, merges, and writes it (or tags the stream)."""
        grant = cls.typed(change.resource).grant
        deleting = change.action.value == "delete"
        if grant == FIREHOSE_TAG:
            return ["TagDeliveryStream"]
        if grant == KMS_POLICY:
            return ["GetKeyPolicy", "PutKeyPolicy"]
        if grant == CWL_POLICY:
            write = "PutResourcePolicy or DeleteResourcePolicy" if deleting else "PutResourcePolicy"
            return ["DescribeResourcePolicies", write]
        if deleting:
            return ["GetBucketPolicy", "PutBucketPolicy or DeleteBucketPolicy"]
        return ["GetBucketPolicy", "PutBucketPolicy"]

    @classmethod
    def lock_keys(cls, r: Resource) -> set[str]:
        return {f"grant:{r.arn}"}  # one read-merge-write of a policy at a time
