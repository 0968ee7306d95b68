"""The DynamoDB user store: one table (`authenticator.table`).

Items, by key:

    pk="users"              sk="<username>"     password_hash, levels (JSON), max_age, generation
    pk="attempts#<key>"     sk="attempts"       times (list of "<stamp>#<id>"), version, ttl

Login attempts of one key live in one item, changed by a conditional write on its `version`
(read, change, write if nobody wrote in between; else again): counting and recording are then
one atomic step, whatever the number of Lambda containers. The table's TTL removes idle items.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError

from launchpad.auth.passwords import hash_password, is_hash, verify_password
from launchpad.auth.store import ATTEMPT_RETENTION, SEEDED, User, UserStore, new_generation
from launchpad.state import dynamodb

CONFLICT_RETRIES = 50  # concurrent writers of one key's attempts, each retrying until it wins


class DynamoUserStore(UserStore):
    def __init__(self, table: str = dynamodb.DEFAULT_USERS_TABLE, db: Any = None) -> None:
        self.table = table
        self._db = db or dynamodb.client()

    def _item(self, username: str, password_hash: str, levels: list[str], max_age: int, generation: str) -> Any:
        fields = {"password_hash": password_hash, "levels": json.dumps(levels), "max_age": max_age}
        return dynamodb.encode({"pk": "users", "sk": username, **fields, "generation": generation})

    @staticmethod
    def _user(item: dict[str, Any]) -> User:
        levels = tuple(json.loads(item["levels"]))
        return User(str(item["sk"]), levels, int(item["max_age"]), str(item.get("generation", "")))

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        key = dynamodb.encode({"pk": pk, "sk": sk})
        item = self._db.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return dynamodb.decode(item) if item else None

    def put(self, username: str, password_hash: str, levels: list[str], max_age: int) -> None:
        if not is_hash(password_hash):
            raise ValueError("password_hash must be an argon2 hash")
        self._db.put_item(TableName=self.table, Item=self._item(username, password_hash, levels, max_age, SEEDED))

    def add(self, username: str, password: str, levels: list[str], max_age: int) -> User:
        generation = new_generation()
        try:
            self._db.put_item(
                TableName=self.table,
                Item=self._item(username, hash_password(password), levels, max_age, generation),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if dynamodb.conditional_failed(exc):
                raise ValueError(f"user {username!r} exists") from None
            raise
        return User(username, tuple(levels), max_age, generation)

    def get(self, username: str) -> User | None:
        item = self._get("users", username)
        return self._user(item) if item else None

    def delete(self, username: str) -> bool:
        key = dynamodb.encode({"pk": "users", "sk": username})
        return "Attributes" in self._db.delete_item(TableName=self.table, Key=key, ReturnValues="ALL_OLD")

    def users(self) -> list[User]:
        return [self._user(item) for item in dynamodb.query(self._db, self.table, "users")]

    def authenticate(self, username: str, password: str) -> User | None:
        item = self._get("users", username)
        if not verify_password(str(item["password_hash"]) if item else None, password) or not item:
            return None
        return self._user(item)

    # login attempts
    def _times(self, key: str) -> tuple[list[str], int]:
        item = self._get(f"attempts#{key}", "attempts")
        return (list(item.get("times", [])), int(item.get("version", 0))) if item else ([], 0)

    def _change(self, key: str, change: Any) -> Any:
        """Apply `change(times) -> (new times or None to leave them, answer)` atomically; the answer."""
        for _ in range(CONFLICT_RETRIES):
            times, version = self._times(key)
            new, answer = change(times)
            if new is None:
                return answer
            now = time.time()
            item = {
                "pk": f"attempts#{key}",
                "sk": "attempts",
                "times": new,
                "version": version + 1,
                dynamodb.TTL_ATTRIBUTE: int(now + ATTEMPT_RETENTION),
            }
            try:
                self._db.put_item(
                    TableName=self.table,
                    Item=dynamodb.encode(item),
                    ConditionExpression="attribute_not_exists(pk) OR version = :seen",
                    ExpressionAttributeValues=dynamodb.encode({":seen": version}),
                )
                return answer
            except ClientError as exc:
                if not dynamodb.conditional_failed(exc):
                    raise
        raise RuntimeError(f"login attempts of {key!r}: too many concurrent writers")

    @staticmethod
    def _live(times: list[str], window: float) -> list[str]:
        since = dynamodb.stamp(time.time() - window)
        return [t for t in times if t > since]

    def attempt(self, key: str, window: float, limit: int) -> tuple[str | None, int]:
        def change(times: list[str]) -> tuple[list[str] | None, tuple[str | None, int]]:
            live = self._live(times, ATTEMPT_RETENTION)
            count = len(self._live(live, window))
            if count >= limit:
                return None, (None, count)
            attempt = f"{dynamodb.stamp(time.time())}#{uuid.uuid4().hex}"
            return [*live, attempt], (attempt, count)

        answer: tuple[str | None, int] = self._change(key, change)
        return answer

    def forget_attempt(self, key: str, attempt: str) -> None:
        self._change(key, lambda times: ([t for t in times if t != attempt], None))

    def clear_attempts(self, key: str) -> None:
        self._db.delete_item(TableName=self.table, Key=dynamodb.encode({"pk": f"attempts#{key}", "sk": "attempts"}))

    def attempts(self, key: str, window: float) -> int:
        return len(self._live(self._times(key)[0], window))
