"""The apply lock: one DynamoDB item held with an expiring lease."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from reconciler.errors import AwsError, Conflict, LockError

from .transport import Transport

T = TypeVar("T")


class Lease:
    """The apply lock: one item in a DynamoDB table (hash key ``LockID``), held with an expiring lease.

    Acquired with a conditional put (absent, or expired); renewed by a heartbeat thread every third of the lease;
    released with a conditional delete on the holder's id. ``force_release`` is ``reconciler unlock ID``.
    """

    def __init__(
        self, api: Transport, table: str, account: str, region: str, project: str, lease_seconds: int
    ) -> None:
        self.api = api
        self.table = table
        self.account = account
        self.region = region
        self.key = {"LockID": {"S": f"reconciler/{project}"}}
        self.project = project
        self.lease = lease_seconds
        self.id = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _ddb(self) -> Any:
        return self.api.client("dynamodb", self.account, self.region)

    def _op(self, operation: str, fn: Callable[[], T]) -> T:
        return self.api._call(
            fn, operation, f"dynamodb table {self.table}", service="dynamodb", account=self.account
        )

    def holder(self) -> dict[str, str] | None:
        item = self._op(
            "GetItem", lambda: self._ddb().get_item(TableName=self.table, Key=self.key, ConsistentRead=True)
        )
        found = item.get("Item")
        if not found:
            return None
        return {k: next(iter(v.values())) for k, v in found.items()}

    def acquire(self, who: str) -> None:
        now = int(time.time())
        item = {
            **self.key,
            "id": {"S": self.id},
            "holder": {"S": who},
            "acquired": {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))},
            "expires": {"N": str(now + self.lease)},
        }
        try:
            self._op(
                "PutItem",
                lambda: self._ddb().put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(LockID) OR expires < :now",
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                ),
            )
        except Conflict:  # ConditionalCheckFailedException: held by another, unexpired
            held = self.holder() or {}
            until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(held.get("expires", "0"))))
            raise LockError(
                f"the apply lock of project {self.project!r} is held by {held.get('holder', '?')} since "
                f"{held.get('acquired', '?')} (until {until}, lock id {held.get('id', '?')}); "
                f"if it is stale, release it with `reconciler unlock {held.get('id', '?')}`"
            ) from None
        self._thread = threading.Thread(target=self._heartbeat, daemon=True, name="lock-heartbeat")
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(max(1.0, self.lease / 3)):
            expires = str(int(time.time()) + self.lease)
            try:
                self._op(
                    "UpdateItem",
                    lambda expires=expires: self._ddb().update_item(  # type: ignore[misc]
                        TableName=self.table,
                        Key=self.key,
                        UpdateExpression="SET expires = :e",
                        ConditionExpression="id = :id",
                        ExpressionAttributeValues={":e": {"N": expires}, ":id": {"S": self.id}},
                    ),
                )
            except AwsError:
                return  # lost or unreachable: the lease runs out on its own

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.force_release(self.id, quiet=True)

    def force_release(self, lock_id: str, quiet: bool = False) -> None:
        try:
            self._op(
                "DeleteItem",
                lambda: self._ddb().delete_item(
                    TableName=self.table,
                    Key=self.key,
                    ConditionExpression="id = :id",
                    ExpressionAttributeValues={":id": {"S": lock_id}},
                ),
            )
        except Conflict:  # ConditionalCheckFailedException: not held with this id
            if quiet:
                return
            raise LockError(f"no lock with id {lock_id} is held for project {self.project!r}") from None
        except AwsError:
            if quiet:
                return  # the lease runs out on its own
            raise
