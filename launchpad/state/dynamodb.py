"""DynamoDB state store: the serverless backend (one table, `pk`/`sk` string keys, on-demand capacity).

Items, by key:

    pk="objects"            sk="<kind>#<name>"             data (JSON of an AppliedObject)
    pk="objects#<scope>"    sk="<kind>#<name>"             the same, for a reconciler scope
    pk="syncs"              sk="<started_at>#<id>"         data (JSON of a SyncRecord; dataz: zlib, when large)
    pk="lock#<scope>"       sk="lock"                      holder, expires_at (epoch s), followup (bool),
                                                           meta (JSON of the scope's SyncMeta)
    pk="delivery#<id>"      sk="delivery"                  ttl (epoch s; the table's TTL attribute)
    pk="notices"            sk="<subject>"                 data (JSON of the last notice sent: the
                                                           subject is broken until it recovers)
    pk="slot#<name>"        sk="slot"                      next_free (epoch s), ttl: a rate limit (reserve_slot)

The lock is a lease: a conditional write that succeeds when nobody holds it, the holder's lease
expired, or the caller already holds it; it returns the scope's meta in the same request, so a
poll that finds nothing new costs two requests (take the lease, give it back). Deliveries are
conditional puts; DynamoDB's TTL deletes them eventually, and the condition treats an expired one
as absent meanwhile (TTL is lazy).

The endpoint and region come from the environment as boto3 reads them (`AWS_ENDPOINT_URL`,
`AWS_REGION` / `AWS_DEFAULT_REGION`). boto3 is imported here only: `launchpad.state` does not
import this module, so a process on SQLite never pays for boto3.

For `serverless.yml`, each table is (see `table_definition`):

    Type: AWS::DynamoDB::Table
    Properties:
      TableName: launchpad-state            # state.table (launchpad-users: authenticator.table)
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}

and the functions need dynamodb:GetItem, PutItem, UpdateItem, DeleteItem, Query, BatchWriteItem on them.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import zlib
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, ClassVar

import boto3
from boto3.dynamodb.table import BatchWriter
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from launchpad.state.codec import dump, load_meta, load_object, load_sync
from launchpad.state.records import AppliedObject, FollowUp, Kind, LeaseGrant, SyncMeta, SyncRecord, SyncStatus
from launchpad.state.sqlite import DELIVERY_TTL
from launchpad.state.store import StateStore

DEFAULT_STATE_TABLE = "launchpad-state"
DEFAULT_USERS_TABLE = "launchpad-users"
TTL_ATTRIBUTE = "ttl"  # serverless.yml: TimeToLiveSpecification.AttributeName
BATCH_GET_KEYS = 100  # BatchGetItem's limit per request
INLINE_LIMIT = 64_000  # bytes of JSON kept as a string; larger sync records are stored compressed
PACKED_LIMIT = 300_000  # DynamoDB items are at most 400 KB

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_client_lock = threading.Lock()


def client() -> Any:
    """A low-level DynamoDB client (thread-safe, unlike boto3 resources); endpoint and region from the env."""
    with _client_lock:  # boto3's default session is not thread-safe while it creates clients
        return boto3.client("dynamodb")


def encode(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(Decimal(str(v)) if isinstance(v, float) else v) for k, v in item.items()}


def decode(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def stamp(epoch: float) -> str:
    """A sort key from a time: fixed width, so string order is time order."""
    return f"{epoch:020.6f}"


def query(db: Any, table: str, pk: str, limit: int | None = None, newest_first: bool = False) -> list[dict[str, Any]]:
    """The items of one partition (strongly consistent), page after page, up to `limit`."""
    args: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ConsistentRead": True,
        "ScanIndexForward": not newest_first,
    }
    items: list[dict[str, Any]] = []
    while limit is None or len(items) < limit:
        if limit is not None:
            args["Limit"] = limit - len(items)
        page = db.query(**args)
        items.extend(decode(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items


def batch_writer(db: Any, table: str) -> BatchWriter:
    """boto3's batch writer on a low-level client: items go in `encode`d; unprocessed items are retried."""
    return BatchWriter(table, db, overwrite_by_pkeys=["pk", "sk"])


def table_definition(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    }


def create_tables(*names: str) -> None:
    """Create the tables (default: launchpad-state and launchpad-users) if missing, and wait for them.

    Production creates them with infrastructure as code (see the module docstring); this is for
    tests, local stacks and first-time set-up.
    """
    db = client()
    for name in names or (DEFAULT_STATE_TABLE, DEFAULT_USERS_TABLE):
        try:
            db.create_table(**table_definition(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        db.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        ttl = db.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            spec = {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
            db.update_time_to_live(TableName=name, TimeToLiveSpecification=spec)


def _pack(record: SyncRecord) -> dict[str, Any]:
    """A sync's JSON as an attribute: compressed when large, its outcomes cut if still over the item limit."""
    text = dump(record)
    if len(text) <= INLINE_LIMIT:
        return {"data": text}
    packed = zlib.compress(text.encode(), 6)
    keep = len(record.outcomes)
    while len(packed) > PACKED_LIMIT and keep > 0:
        keep //= 2
        note = f"{len(record.outcomes) - keep} of {len(record.outcomes)} outcomes not recorded (DynamoDB item size)"
        cut = replace(
            record, outcomes=record.outcomes[:keep], errors=record.errors[:100], message=f"{record.message} ({note})"
        )
        packed = zlib.compress(dump(cut).encode(), 6)
    return {"dataz": packed}


def _unpack(item: dict[str, Any]) -> str:
    if "data" in item:
        return str(item["data"])
    return zlib.decompress(bytes(item["dataz"].value)).decode()


class DynamoStateStore(StateStore):
    remote: ClassVar[bool] = True

    def __init__(self, table: str = DEFAULT_STATE_TABLE, db: Any = None) -> None:
        self.table = table
        self._db = db or client()
        self._objects = "objects"

    def scoped(self, scope: str) -> DynamoStateStore:
        view = copy.copy(self)
        view._objects = f"objects#{scope}"
        return view

    # objects
    def objects(self) -> list[AppliedObject]:
        items = query(self._db, self.table, self._objects)
        return sorted((load_object(item["data"]) for item in items), key=attrgetter("key"))

    def tally_objects(self) -> dict[tuple[str, str], int]:
        items = query(self._db, self.table, self._objects)
        statuses = ((item["sk"].partition("#")[0], json.loads(item["data"]).get("status")) for item in items)
        return dict(Counter((kind, status or SyncStatus.SYNCED) for kind, status in statuses))

    def objects_named(self, names: Collection[str]) -> list[AppliedObject]:
        keys = [encode({"pk": self._objects, "sk": f"{kind}#{name}"}) for name in sorted(set(names)) for kind in Kind]
        out = []
        for start in range(0, len(keys), BATCH_GET_KEYS):
            pending: dict[str, Any] = {
                self.table: {"Keys": keys[start : start + BATCH_GET_KEYS], "ConsistentRead": True}
            }
            while pending:
                answer = self._db.batch_get_item(RequestItems=pending)
                out += [load_object(decode(item)["data"]) for item in answer["Responses"].get(self.table, [])]
                pending = answer.get("UnprocessedKeys") or {}
        return sorted(out, key=attrgetter("key"))

    def count_objects(self, kinds: Collection[Kind]) -> int:
        total = 0
        for kind in kinds:
            args: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :kind)",
                "ExpressionAttributeValues": encode({":pk": self._objects, ":kind": f"{kind}#"}),
                "Select": "COUNT",
                "ConsistentRead": True,
            }
            while True:
                page = self._db.query(**args)
                total += int(page.get("Count", 0))
                if "LastEvaluatedKey" not in page:
                    break
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return total

    def put_objects(self, objs: list[AppliedObject]) -> None:
        now = datetime.now(UTC)
        with batch_writer(self._db, self.table) as batch:
            for obj in objs:
                obj.updated_at = now
                batch.put_item(Item=encode({"pk": self._objects, "sk": f"{obj.kind}#{obj.name}", "data": dump(obj)}))

    def delete_objects(self, keys: Collection[tuple[Kind, str]]) -> None:
        with batch_writer(self._db, self.table) as batch:
            for kind, name in keys:
                batch.delete_item(Key=encode({"pk": self._objects, "sk": f"{kind}#{name}"}))

    # syncs: the sort key starts with the start time, so a reverse query is newest first
    def put_sync(self, record: SyncRecord) -> None:
        sk = f"{stamp(record.started_at.timestamp())}#{record.id}"
        self._db.put_item(TableName=self.table, Item=encode({"pk": "syncs", "sk": sk, **_pack(record)}))

    def syncs(self, limit: int = 20) -> list[SyncRecord]:
        items = query(self._db, self.table, "syncs", limit=limit, newest_first=True)
        return [load_sync(_unpack(item)) for item in items]

    # the lease
    def _update(self, scope: str, expression: str, condition: str | None, values: dict[str, Any], **extra: Any) -> Any:
        """The item's old attributes when the conditional update succeeded, None when the condition failed."""
        args: dict[str, Any] = {
            "TableName": self.table,
            "Key": _lock_key(scope),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": encode(values),
            **extra,
        }
        if condition:
            args["ConditionExpression"] = condition
        try:
            return self._db.update_item(**args)
        except ClientError as exc:
            if conditional_failed(exc):
                return None
            raise

    def acquire_lease(self, scope: str, holder: str, ttl: float, *, take_from: str | None = None) -> LeaseGrant | None:
        now = time.time()
        condition = "attribute_not_exists(holder) OR expires_at < :now OR holder = :me"
        values: dict[str, Any] = {":me": holder, ":exp": now + ttl, ":now": now, ":no": False}
        if take_from is not None:
            condition += " OR holder = :dead"
            values[":dead"] = take_from
        answer = self._update(
            scope,
            "SET holder = :me, expires_at = :exp, followup = :no, followup_hard = :no",
            condition,
            values,
            ReturnValues="ALL_OLD",
        )
        if answer is None:
            return None
        old = decode(answer.get("Attributes", {}))
        previous = old.get("holder")
        return LeaseGrant(load_meta(old.get("meta")), previous if previous not in (None, holder) else None)

    def _lock_item(self, scope: str) -> dict[str, Any]:
        answer = self._db.get_item(TableName=self.table, Key=_lock_key(scope), ConsistentRead=True)
        return decode(answer.get("Item", {}))

    def lease_holder(self, scope: str) -> str | None:
        item = self._lock_item(scope)
        holder = item.get("holder")
        return str(holder) if holder is not None and float(item.get("expires_at", 0)) >= time.time() else None

    def renew_lease(self, scope: str, holder: str, ttl: float) -> bool:
        values = {":me": holder, ":exp": time.time() + ttl}
        return self._update(scope, "SET expires_at = :exp", "holder = :me", values) is not None

    def finish_lease(self, scope: str, holder: str, meta: SyncMeta) -> FollowUp:
        values = {":me": holder, ":meta": dump(meta), ":zero": 0, ":no": False}
        released = self._update(
            scope,
            "REMOVE holder SET expires_at = :zero, meta = :meta",
            "holder = :me AND (attribute_not_exists(followup) OR followup = :no)",
            values,
        )
        if released is not None:
            return FollowUp.NONE
        # a follow-up was requested (or the lease was lost: then this writes nothing)
        kept = self._update(
            scope,
            "SET followup = :no, followup_hard = :no, meta = :meta",
            "holder = :me",
            {k: values[k] for k in (":me", ":meta", ":no")},
            ReturnValues="ALL_OLD",
        )
        if kept is None:
            return FollowUp.NONE
        return FollowUp.HARD if decode(kept.get("Attributes", {})).get("followup_hard") else FollowUp.SYNC

    def request_followup(self, scope: str, hard: bool = False) -> bool:
        values = {":yes": True, ":now": time.time()}
        update = "SET followup = :yes, followup_hard = :yes" if hard else "SET followup = :yes"
        return self._update(scope, update, "attribute_exists(holder) AND expires_at >= :now", values) is not None

    def meta(self, scope: str) -> SyncMeta:
        return load_meta(self._lock_item(scope).get("meta"))

    # notifications
    def notices(self) -> dict[str, str]:
        return {str(item["sk"]): str(item["data"]) for item in query(self._db, self.table, "notices")}

    def put_notices(self, put: Mapping[str, str], drop: Collection[str]) -> None:
        with batch_writer(self._db, self.table) as batch:
            for subject, data in put.items():
                batch.put_item(Item=encode({"pk": "notices", "sk": subject, "data": data}))
            for subject in drop:
                batch.delete_item(Key=encode({"pk": "notices", "sk": subject}))

    # webhook deliveries
    def remember_delivery(self, delivery_id: str) -> bool:
        now = time.time()
        try:
            self._db.put_item(
                TableName=self.table,
                Item=encode(
                    {"pk": f"delivery#{delivery_id}", "sk": "delivery", TTL_ATTRIBUTE: int(now + DELIVERY_TTL)}
                ),
                ConditionExpression="attribute_not_exists(pk) OR #ttl < :now",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues=encode({":now": int(now)}),
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def forget_delivery(self, delivery_id: str) -> None:
        self._db.delete_item(TableName=self.table, Key=encode({"pk": f"delivery#{delivery_id}", "sk": "delivery"}))

    # --- rate limits (webhook-triggered syncs) ---------------------------------------------------------------------

    def reserve_slot(self, name: str, interval: float) -> float | None:
        """A conditional write on the slot's `next_free` as read: read again and retry if another
        writer came between."""
        key = encode({"pk": f"slot#{name}", "sk": "slot"})
        while True:
            item = self._db.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            seen = float(decode(item)["next_free"]) if item else None
            now = time.time()
            delay = self.slot_delay(now, seen or 0.0, interval)
            if delay is None:
                return None
            free = now + delay + interval
            condition = "attribute_not_exists(pk)" if seen is None else "next_free = :seen"
            values = {} if seen is None else {"ExpressionAttributeValues": encode({":seen": seen})}
            try:
                self._db.put_item(
                    TableName=self.table,
                    Item=encode(
                        {"pk": f"slot#{name}", "sk": "slot", "next_free": free, TTL_ATTRIBUTE: int(free + 86400)}
                    ),
                    ConditionExpression=condition,
                    **values,
                )
                return delay
            except ClientError as exc:
                if not conditional_failed(exc):
                    raise


def _lock_key(scope: str) -> dict[str, Any]:
    """The one item that holds a scope's lease and its sync meta."""
    return encode({"pk": f"lock#{scope}", "sk": "lock"})
