"""Live state: the listings, tags, policies and deliveries of each scope; discovery; templates; the write-path
facts; the organisation's accounts.

Per scope, the three ``Describe*`` listings are paged concurrently; tags (``ListTagsForResource``, unless a listing
already carries them), destination policies and, where a listing lacks configuration, ``GetDelivery`` run on a
bounded pool, each page's reads starting as soon as the page arrives.
"""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import AccessDenied, AwsError, Invalid, NotFound
from reconciler.kinds import KINDS
from reconciler.kinds.delivery import from_api as delivery_from_api
from reconciler.kinds.destination import from_api as destination_from_api
from reconciler.kinds.policy import from_api as policy_from_api
from reconciler.kinds.source import from_api as source_from_api
from reconciler.models import AccountAccess, Kind, Resource, TagFilter, destination_arn, tags_match
from reconciler.policyeval import account_of_arn, region_of_arn
from reconciler.verify import Observation
from reconciler.writepath import Facts, Read, cwl_group_arn, firehose_parts, log_group_parts, s3_parts

from .transport import RateLimiter, RetryPolicy, Transport, _snake

# Ownership tags for a whole scope in pages: the Resource Groups Tagging API's types for the delivery family (they
# are tag-policy resource types); a scope where the API refuses them (``Invalid``) or the caller may not call it
# (``AccessDenied``) falls back to one ListTagsForResource per resource. A resource missing from the pages is read
# with ListTagsForResource too.
TAG_PAGE_TYPES = ["logs:delivery-source", "logs:delivery-destination", "logs:delivery"]


_ORG_CONCURRENCY = 64  # Organizations reads in flight while resolving accounts (paging, tag reads)


@dataclass
class ScopeState:
    account: str
    region: str
    resources: list[Resource] = field(default_factory=list)
    error: AwsError | None = None


# ((selector, account, region), resource type filters, tag filters)
DiscoveryJob = tuple[tuple[str, str, str], list[str], list[dict[str, Any]]]


@dataclass
class LiveState:
    scopes: dict[tuple[str, str], ScopeState]
    # (selector, account, region) -> [(resource ARN, tags)] from the tagging API (selectors.py expands them)
    discovered: dict[tuple[str, str, str], list[tuple[str, dict[str, str]]]] = field(default_factory=dict)

    @property
    def resources(self) -> list[Resource]:
        return [r for s in self.scopes.values() for r in s.resources]

    def errors(self) -> list[AwsError]:
        return [s.error for s in self.scopes.values() if s.error is not None]


class Api(Transport):
    """The reads the reconciler makes, over ``Transport``'s clients and retries; thread-safe."""

    def __init__(
        self,
        accounts: dict[str, AccountAccess],
        default_region: str,
        endpoint_url: str | None = None,
        read_concurrency: int = 32,
        tag_pages: bool = True,
        list_concurrency: int = 48,
        connect_timeout: float = 5.0,
        unreachable_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(
            accounts,
            default_region,
            endpoint_url,
            # every request in flight to one endpoint: listings, per-resource reads and the write-path reads
            pool_connections=list_concurrency + 2 * read_concurrency,
            connect_timeout=connect_timeout,
            unreachable_seconds=unreachable_seconds,
            retry=retry,
            limiter=limiter,
        )
        self.list_concurrency = list_concurrency
        self.tag_pages = tag_pages
        self.read_concurrency = read_concurrency
        self.on_scope: Callable[[ScopeState, int, int], None] | None = None  # progress: (scope, done, total)
        self._policy_reads: dict[tuple[str, str], Future[list[tuple[str, str]]]] = {}

    # ---- the destination write path (writepath.py evaluates what these read)
    def read_write_paths(self, reads: Iterable[Read], concurrency: int | None = None) -> dict[str, Facts]:
        """Read, once per destination resource and in its account, what decides whether delivery may write (as many
        at once as the live read's resource reads, so the check ends within the live read it runs beside)."""
        items = list(reads)
        if not items:
            return {}
        with self._lock:
            self._policy_reads.clear()  # fresh for each plan's reads
        workers = concurrency or self.read_concurrency
        with ThreadPoolExecutor(
            max_workers=max(1, min(workers, len(items))), thread_name_prefix="grant"
        ) as pool:
            return dict(zip([r.key for r in items], pool.map(self.read_write_path, items), strict=True))

    def read_write_path(self, read: Read) -> Facts:
        facts = Facts(read.key)
        reader = {
            "S3": self._facts_s3,
            "CWL": self._facts_cwl,
            "FH": self._facts_fh,
            "XRAY": self._facts_xray,
        }
        try:
            reader[read.dest_type](read, facts)
        except AwsError as exc:
            facts.unreadable.append(f"{exc.operation}: {exc.code}: {exc.message}"[:300])
        return facts

    def _facts_s3(self, read: Read, facts: Facts) -> None:
        bucket, _ = s3_parts(str(read.resource_arn))
        acct, region = read.account, read.region
        try:
            out = self.call_service("s3", acct, region, "GetBucketPolicy", f"bucket {bucket}", Bucket=bucket)
            facts.bucket_policy = str(out.get("Policy") or "") or None
        except NotFound as exc:
            if exc.code == "NoSuchBucket":  # else NoSuchBucketPolicy: the bucket has no policy
                facts.exists = False
                return
        try:
            enc = self.call_service(
                "s3", acct, region, "GetBucketEncryption", f"bucket {bucket}", Bucket=bucket
            )
            rules = enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            default = (rules[0] if rules else {}).get("ApplyServerSideEncryptionByDefault", {})
            facts.sse_algorithm = default.get("SSEAlgorithm")
            facts.kms_key = default.get("KMSMasterKeyID")
        except NotFound:
            pass  # no default encryption (or no bucket)
        key = facts.kms_key
        if facts.sse_algorithm not in ("aws:kms", "aws:kms:dsse") or not key or key.endswith("alias/aws/s3"):
            return
        key_account = account_of_arn(key) or acct
        key_region = region_of_arn(key) or region
        try:
            meta = self.call_service("kms", key_account, key_region, "DescribeKey", f"key {key}", KeyId=key)
            facts.kms_key_manager = meta.get("KeyMetadata", {}).get("KeyManager")
            if facts.kms_key_manager == "AWS":
                return
            key_id = meta.get("KeyMetadata", {}).get("Arn", key)
            pol = self.call_service(
                "kms",
                key_account,
                key_region,
                "GetKeyPolicy",
                f"key {key}",
                KeyId=key_id,
                PolicyName="default",
            )
            facts.kms_key_policy = str(pol.get("Policy") or "{}")
        except AwsError as exc:
            facts.unreadable.append(f"{exc.operation} {key}: {exc.code}")

    def _facts_cwl(self, read: Read, facts: Facts) -> None:
        _, _, name = log_group_parts(str(read.resource_arn))
        acct, region = read.account, read.region
        groups = self.call_service(
            "logs", acct, region, "DescribeLogGroups", f"log group {name}", logGroupNamePrefix=name, limit=50
        )
        facts.exists = any(g.get("logGroupName") == name for g in groups.get("logGroups", []))
        if not facts.exists:
            return
        facts.cwl_policies = list(self._account_policies(acct, region))
        group = cwl_group_arn(str(read.resource_arn))
        own = self.call_service(
            "logs", acct, region, "DescribeResourcePolicies", f"log group {name}",
            resourceArn=group, policyScope="RESOURCE",
        )  # fmt: skip
        facts.cwl_group_policies = [
            (str(p.get("policyName")), str(p.get("policyDocument") or ""))
            for p in own.get("resourcePolicies", [])
        ]

    def _account_policies(self, account: str, region: str) -> list[tuple[str, str]]:
        """The account-level resource policies of a region, read once per plan however many log groups need them."""
        with self._lock:
            fut = self._policy_reads.get((account, region))
            owner = fut is None
            if fut is None:
                fut = self._policy_reads[(account, region)] = Future()
        if not owner:
            return fut.result()
        try:
            out: list[tuple[str, str]] = []
            token: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 50}
                if token:
                    params["nextToken"] = token
                page = self.call_service(
                    "logs", account, region, "DescribeResourcePolicies", f"{account}/{region}", **params
                )
                out += [
                    (str(p.get("policyName")), str(p.get("policyDocument") or ""))
                    for p in page.get("resourcePolicies", [])
                ]
                token = page.get("nextToken")
                if not token:
                    break
        except BaseException as exc:
            fut.set_exception(exc)
            with self._lock:
                self._policy_reads.pop((account, region), None)
            raise
        fut.set_result(out)
        return out

    def _facts_fh(self, read: Read, facts: Facts) -> None:
        _, _, name = firehose_parts(str(read.resource_arn))
        acct, region = read.account, read.region
        try:
            out = self.call_service(
                "firehose", acct, region, "DescribeDeliveryStream", f"stream {name}", DeliveryStreamName=name
            )
        except NotFound:
            facts.exists = False
            return
        facts.stream_type = out.get("DeliveryStreamDescription", {}).get("DeliveryStreamType")
        tags = self.call_service(
            "firehose", acct, region, "ListTagsForDeliveryStream", f"stream {name}", DeliveryStreamName=name
        )
        facts.stream_tags = {t["Key"]: t.get("Value", "") for t in tags.get("Tags", [])}

    def _facts_xray(self, read: Read, facts: Facts) -> None:
        acct, region = read.account, read.region
        dest = self.call_service("xray", acct, region, "GetTraceSegmentDestination", f"{acct}/{region}")
        facts.xray_destination, facts.xray_status = dest.get("Destination"), dest.get("Status")
        token: str | None = None
        while True:
            params = {"NextToken": token} if token else {}
            page = self.call_service(
                "xray", acct, region, "ListResourcePolicies", f"{acct}/{region}", **params
            )
            facts.xray_policies += [
                str(p.get("PolicyDocument") or "") for p in page.get("ResourcePolicies", [])
            ]
            token = page.get("NextToken")
            if not token:
                return

    # ---- verify: has a destination received a record?
    def newest_record(self, obs: Observation, since: datetime.datetime | None) -> datetime.datetime | None:
        """The time of a record at the watched place newer than ``since`` (any record when None), or None."""
        if obs.dest_type == "S3":
            params: dict[str, Any] = {"Bucket": obs.resource, "Prefix": obs.prefix, "MaxKeys": 1000}
            for _ in range(20):  # 20,000 keys at most per poll
                page = self.call_service(
                    "s3",
                    obs.account,
                    obs.region,
                    "ListObjectsV2",
                    f"s3://{obs.resource}/{obs.prefix}",
                    **params,
                )
                for item in page.get("Contents", []):
                    when = item.get("LastModified")
                    if when is not None and (since is None or when >= since):
                        return when  # type: ignore[no-any-return]
                if not page.get("IsTruncated"):
                    return None
                params["ContinuationToken"] = page["NextContinuationToken"]
            return None
        if obs.dest_type == "CWL":
            out = self.call_service(
                "logs", obs.account, obs.region, "DescribeLogStreams", f"log group {obs.resource}",
                logGroupName=obs.resource, orderBy="LastEventTime", descending=True, limit=5,
            )  # fmt: skip
            for stream in out.get("logStreams", []):
                stamp = stream.get("lastEventTimestamp") or stream.get("lastIngestionTime")
                if stamp:
                    when = datetime.datetime.fromtimestamp(stamp / 1000, datetime.UTC)
                    if since is None or when >= since:
                        return when
            return None
        return None

    # ---- reads
    def _iter_pages(
        self, account: str, region: str, operation: str, key: str, **params: Any
    ) -> Iterator[list[dict[str, Any]]]:
        token: str | None = None
        while True:
            extra = dict(params)
            if token:
                extra["nextToken"] = token
            page = self.call(account, region, operation, f"{account}/{region}", limit=50, **extra)
            yield list(page.get(key, []))
            token = page.get("nextToken")
            if not token:
                return

    def _pages(
        self, account: str, region: str, operation: str, key: str, **params: Any
    ) -> list[dict[str, Any]]:
        return [item for page in self._iter_pages(account, region, operation, key, **params) for item in page]

    def discover(
        self, account: str, region: str, resource_types: list[str], tag_filters: list[dict[str, Any]]
    ) -> list[tuple[str, dict[str, str]]]:
        """Resources of the given types carrying the given tags in one scope: ``GetResources``, 100 per page."""
        client = self.client("resourcegroupstaggingapi", account, region)
        out: list[tuple[str, dict[str, str]]] = []
        token = ""
        while True:
            params: dict[str, Any] = {"ResourcesPerPage": 100, "ResourceTypeFilters": resource_types}
            if tag_filters:
                params["TagFilters"] = tag_filters
            if token:
                params["PaginationToken"] = token
            page: dict[str, Any] = self._call(
                functools.partial(client.get_resources, **params),
                "GetResources",
                f"{account}/{region}",
                f"{account}/{region}/GetResources",
            )
            for item in page.get("ResourceTagMappingList", []):
                out.append((item["ResourceARN"], {t["Key"]: t["Value"] for t in item.get("Tags", [])}))
            token = page.get("PaginationToken") or ""
            if not token:
                return out

    def discover_all(
        self, jobs: list[DiscoveryJob]
    ) -> dict[tuple[str, str, str], list[tuple[str, dict[str, str]]]]:
        """Run discovery jobs concurrently (the first error is raised)."""
        with ThreadPoolExecutor(max_workers=self.read_concurrency, thread_name_prefix="discover") as pool:
            futs = {
                key: pool.submit(self.discover, key[1], key[2], rtypes, tags) for key, rtypes, tags in jobs
            }
            return {key: fut.result() for key, fut in futs.items()}

    def read_templates(
        self, keys: Iterable[tuple[str, str, str, str, str]]
    ) -> tuple[
        dict[tuple[str, str, str, str, str], list[dict[str, Any]]], dict[tuple[str, str, str, str, str], str]
    ]:
        """DescribeConfigurationTemplates once per (account, region, service, log type, destination type), pages
        concurrently; returns (answers, failures): a failed key carries its error code, never raises."""
        key_list = sorted(set(keys))
        answers: dict[tuple[str, str, str, str, str], list[dict[str, Any]]] = {}
        failures: dict[tuple[str, str, str, str, str], str] = {}
        if not key_list:
            return answers, failures

        def one(key: tuple[str, str, str, str, str]) -> list[dict[str, Any]]:
            account, region, service, log_type, dest_type = key
            return self._pages(
                account,
                region,
                "DescribeConfigurationTemplates",
                "configurationTemplates",
                service=service,
                logTypes=[log_type],
                deliveryDestinationTypes=[dest_type],
            )

        with ThreadPoolExecutor(max_workers=min(8, len(key_list)), thread_name_prefix="templates") as pool:
            futures = {key: pool.submit(one, key) for key in key_list}
            for key, fut in futures.items():
                try:
                    answers[key] = fut.result()
                except AwsError as exc:
                    failures[key] = exc.code
        return answers, failures

    def read_live(
        self, scopes: Iterable[tuple[str, str]], discover: list[DiscoveryJob] | None = None
    ) -> LiveState:
        """Read every (account, region) scope concurrently; a scope that fails carries its error.

        Per scope, the three listings page concurrently, and each page's per-resource reads (tags, policies,
        ``GetDelivery``) start as soon as the page arrives, on one bounded pool.
        """
        scope_list = sorted(set(scopes))
        state = LiveState({s: ScopeState(*s) for s in scope_list})
        with (
            ThreadPoolExecutor(
                max_workers=max(1, min(3 * len(scope_list), self.list_concurrency)), thread_name_prefix="list"
            ) as lister,
            ThreadPoolExecutor(max_workers=self.read_concurrency, thread_name_prefix="read") as pool,
        ):
            reads = _ScopeReads(self, pool, scope_list)
            listings = {(s, w): lister.submit(reads.listing, s, w) for s in scope_list for w in _LISTINGS}
            found = {
                key: pool.submit(self.discover, key[1], key[2], rtypes, tags)
                for key, rtypes, tags in discover or []
                if (key[1], key[2]) in state.scopes
            }
            for key, dfut in found.items():
                try:
                    state.discovered[key] = dfut.result()
                except AwsError as exc:
                    scope_state = state.scopes[(key[1], key[2])]
                    scope_state.error = scope_state.error or exc
            for done, scope in enumerate(
                scope_list, 1
            ):  # a scope is complete once its listings and reads are
                reads.finish(state.scopes[scope], [listings[(scope, what)] for what in _LISTINGS])
                if self.on_scope is not None:
                    self.on_scope(state.scopes[scope], done, len(scope_list))
        return state

    def _tag_map(self, account: str, region: str) -> dict[str, dict[str, str]] | None:
        """ARN -> tags of the scope's delivery-family resources, from the tagging API's pages (None: not usable)."""
        try:
            return dict(self.discover(account, region, TAG_PAGE_TYPES, []))
        except (Invalid, AccessDenied):
            return None

    def _tags(self, account: str, region: str, item: dict[str, Any]) -> dict[str, str] | None:
        if "tags" in item:
            return dict(item["tags"] or {})
        try:
            out = self.call(account, region, "ListTagsForResource", item["arn"], resourceArn=item["arn"])
        except NotFound:
            return None  # deleted between listing and tag read
        return dict(out.get("tags", {}))

    def _source(self, account: str, region: str, item: dict[str, Any]) -> Resource | None:
        tags = self._tags(account, region, item)
        if tags is None:
            return None
        return source_from_api(account, region, item, tags)

    def _destination(self, account: str, region: str, item: dict[str, Any]) -> Resource | None:
        tags = self._tags(account, region, item)
        if tags is None:
            return None
        return destination_from_api(account, region, item, tags)

    def _policy(self, account: str, region: str, name: str, arn: str) -> Resource | None:
        try:
            out = self.call(
                account, region, "GetDeliveryDestinationPolicy", name, deliveryDestinationName=name
            )
        except NotFound:
            return None
        return policy_from_api(account, region, name, arn, out)

    def _delivery(self, account: str, region: str, item: dict[str, Any]) -> Resource | None:
        if "recordFields" not in item or "deliveryDestinationType" not in item:
            known = {"tags": item["tags"]} if "tags" in item else {}
            try:  # DescribeDeliveries may omit configuration (aws-cli #10002)
                item = {
                    **self.call(account, region, "GetDelivery", item["id"], id=item["id"])["delivery"],
                    **known,
                }
            except NotFound:
                return None
        tags = self._tags(account, region, item)
        if tags is None:
            return None
        return delivery_from_api(account, region, item, tags)

    def read_one(
        self, kind: Kind, account: str, region: str, name: str, delivery_id: str | None = None
    ) -> Resource | None:
        """Re-read one resource (None when it does not exist): the kind's ``calls.read``."""
        kind_def = KINDS[kind]
        if not kind_def.owned:  # a policy: no tags of its own, an empty answer when there is none
            return self._policy(account, region, name, destination_arn(account, region, name))
        params = kind_def.read_params(name, delivery_id)
        try:
            out = self.call(account, region, kind_def.calls.read, delivery_id or name, **params)
        except NotFound:
            return None
        item = out[kind_def.calls.read_answer]
        tags = self._tags(account, region, item)
        return None if tags is None else kind_def.from_api(account, region, item, tags)

    # ---- AWS Organizations (accounts.fromOrganization)
    def _org(self) -> Any:
        # a global service: its endpoint is us-east-1; the caller's own credentials. Built once: the first pages of
        # every parent ask for it at the same moment, and its model is the largest of the clients used here
        return self._shared_client(("", "us-east-1", "organizations"), self._base_session)

    def _org_pages(
        self,
        operation: str,
        key: str,
        resource: str,
        on_page: Callable[[list[dict[str, Any]]], None] | None = None,
        **params: Any,
    ) -> list[dict[str, Any]]:
        method = getattr(self._org(), _snake(operation))
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            extra: dict[str, Any] = {**params, **({"NextToken": token} if token else {})}
            page: dict[str, Any] = self._call(
                functools.partial(method, **extra), operation, resource, f"org/{operation}"
            )
            if on_page is not None:
                on_page(page.get(key, []))
            items.extend(page.get(key, []))
            token = page.get("NextToken")
            if not token:
                return items

    def _account_tags(self, account: str) -> dict[str, str]:
        tags = self._org_pages("ListTagsForResource", "Tags", account, ResourceId=account)
        return {t["Key"]: t["Value"] for t in tags}

    def organization_accounts(self, parents: list[str], tags: TagFilter) -> list[dict[str, Any]]:
        """The ACTIVE accounts under the given roots/OUs (recursively) whose tags match ``tags`` (as a selector's).

        ``ListAccountsForParent`` and ``ListChildren`` per parent, every parent of a level at once; when ``tags``
        filter, each account's ``ListTagsForResource`` starts as soon as the page naming it arrives, so the tag reads
        overlap the remaining pages (AWS pages accounts 20 at a time). Returns ``{"Id", "Name", "Parent"}`` dicts
        sorted by id. Called with the caller's credentials: the management or a delegated administrator account.
        """
        found: dict[str, dict[str, Any]] = {}
        tag_reads: dict[str, Future[dict[str, str]]] = {}
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=_ORG_CONCURRENCY, thread_name_prefix="org") as pool:

            def take(parent: str) -> Callable[[list[dict[str, Any]]], None]:
                def on_page(items: list[dict[str, Any]]) -> None:
                    for acct in items:
                        if (acct.get("State") or acct.get("Status")) != "ACTIVE":
                            continue
                        account = str(acct["Id"])
                        with lock:
                            if account in found:
                                continue
                            found[account] = {"Id": account, "Name": acct.get("Name", ""), "Parent": parent}
                            if tags:
                                tag_reads[account] = pool.submit(self._account_tags, account)

                return on_page

            level = list(dict.fromkeys(parents))
            seen = set(level)
            while level:
                listed = [pool.submit(self._org_pages, "ListAccountsForParent", "Accounts", p, take(p), ParentId=p)
                          for p in level]  # fmt: skip
                children = [pool.submit(self._org_pages, "ListChildren", "Children", p, ParentId=p,
                                        ChildType="ORGANIZATIONAL_UNIT") for p in level]  # fmt: skip
                for fut in listed:
                    fut.result()
                nxt = [c["Id"] for fut in children for c in fut.result() if c["Id"] not in seen]
                seen.update(nxt)
                level = list(dict.fromkeys(nxt))
            for account, read in tag_reads.items():
                if not tags_match(tags, read.result()):
                    del found[account]
        return [found[i] for i in sorted(found)]

    def find_delivery(
        self, account: str, region: str, source: str, destination_arn: str
    ) -> dict[str, Any] | None:
        """The live delivery pairing source and destination, if any (so a re-run never creates a duplicate)."""
        items = self._pages(account, region, "DescribeDeliveries", "deliveries", deliverySourceNames=[source])
        for item in items:
            if (
                item.get("deliverySourceName") == source
                and item.get("deliveryDestinationArn") == destination_arn
            ):
                return item
        return None


class _ScopeReads:
    """The per-resource reads of one ``read_live``: started as each listing page arrives, collected per scope."""

    def __init__(self, api: Api, pool: ThreadPoolExecutor, scopes: list[tuple[str, str]]) -> None:
        self.api, self.pool = api, pool
        self.tag_maps = {s: pool.submit(api._tag_map, *s) for s in scopes} if api.tag_pages else {}
        self.jobs: dict[tuple[str, str], list[Future[Resource | None]]] = {s: [] for s in scopes}
        self.lock = threading.Lock()
        self.handlers: dict[str, Callable[[str, str, dict[str, Any]], Resource | None]] = {
            "sources": api._source,
            "destinations": api._destination,
            "deliveries": api._delivery,
        }

    def listing(self, scope: tuple[str, str], what: str) -> None:
        account, region = scope
        op, key = _LISTINGS[what]
        handler = self.handlers[what]
        for items in self.api._iter_pages(account, region, op, key):
            items = self._with_tags(scope, items)
            futs = [
                _now(handler, account, region, item)
                if _complete(what, item)
                else self.pool.submit(handler, account, region, item)
                for item in items
            ]
            if what == "destinations":
                futs += [
                    self.pool.submit(self.api._policy, account, region, i["name"], i["arn"]) for i in items
                ]
            with self.lock:
                self.jobs[scope].extend(futs)

    def _with_tags(self, scope: tuple[str, str], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        tag_map = self.tag_maps[scope].result() if scope in self.tag_maps else None
        if not tag_map:
            return items
        return [{**i, "tags": tag_map[i["arn"]]} if i.get("arn") in tag_map else i for i in items]

    def finish(self, scope: ScopeState, listings: list[Future[None]]) -> None:
        """Wait for the scope's listings and reads; its resources, or the first error."""
        for listing in listings:
            try:
                listing.result()
            except AwsError as exc:
                scope.error = scope.error or exc
        resources: list[Resource] = []
        for job in self.jobs[(scope.account, scope.region)]:
            try:
                r = job.result()
            except AwsError as exc:
                scope.error = scope.error or exc
                continue
            if r is not None:
                resources.append(r)
        if scope.error is None:
            scope.resources = _with_policy_owners(resources)


def _complete(what: str, item: dict[str, Any]) -> bool:
    """Does a listed item need no further request (its tags known from the tag pages, a delivery's configuration
    in the listing)? Then it is converted where it was listed, not handed to the read pool: thousands of
    microsecond conversions each passed to another thread cost more than the conversions themselves."""
    if "tags" not in item:
        return False
    return what != "deliveries" or ("recordFields" in item and "deliveryDestinationType" in item)


def _now(
    fn: Callable[[str, str, dict[str, Any]], Resource | None], account: str, region: str, item: dict[str, Any]
) -> Future[Resource | None]:
    """``fn`` run here, as a finished future (an error is kept on it, as the pool would)."""
    fut: Future[Resource | None] = Future()
    try:
        fut.set_result(fn(account, region, item))
    except Exception as exc:  # kept on the future, raised where the pool's would be
        fut.set_exception(exc)
    return fut


def _with_policy_owners(resources: list[Resource]) -> list[Resource]:
    """A policy has no tags of its own: it carries its destination's ownership and protection."""
    owners = {r.name: r for r in resources if r.kind is Kind.DESTINATION}
    for r in resources:
        if r.kind is Kind.POLICY and r.name in owners:
            r.owner, r.protected = owners[r.name].owner, owners[r.name].protected
    return resources


_LISTINGS = {
    "sources": ("DescribeDeliverySources", "deliverySources"),
    "destinations": ("DescribeDeliveryDestinations", "deliveryDestinations"),
    "deliveries": ("DescribeDeliveries", "deliveries"),
}
