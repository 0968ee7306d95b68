"""Secrets named by reference in the configuration (`ssm:…`, `secretsmanager:…`), as the API uses them.

AWS is a moto server (tests/aws.py); the stores are DynamoDB in it too, so these apps run the way
the Lambda functions do.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import textwrap
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import httpx
import jwt
import pytest

from functions.app import create_app
from functions.routes.sync import Dispatched
from functions.services import Services
from launchpad import secrets
from launchpad.auth.store import SEEDED
from launchpad.auth.tokens import issue_token
from launchpad.config import Config, parse_config
from launchpad.secrets import SecretError
from launchpad.state.dynamodb import create_tables
from tests.aws import moto_server  # noqa: F401

JWT_REFERENCE = "ssm:/launchpad/jwt-secret"
ADMIN = ("admin", "admin-password-1")


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    secrets.clear_cache()  # one process per test, as far as secrets go
    yield
    secrets.clear_cache()


@pytest.fixture
def aws(moto_server: str) -> dict[str, str]:
    """Fresh tables and secret values for one test."""
    tables = {"state": f"state-{uuid.uuid4().hex[:8]}", "users": f"users-{uuid.uuid4().hex[:8]}"}
    create_tables(*tables.values())
    return tables


def put_parameter(name: str, value: str) -> None:
    boto3.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def put_secret(name: str, value: str | None = None, binary: bytes | None = None) -> None:
    kwargs: dict[str, Any] = {"SecretString": value} if value is not None else {"SecretBinary": binary}
    boto3.client("secretsmanager").create_secret(Name=name, **kwargs)


def aws_config(tables: dict[str, str], extra: str = "", app_secret: str = JWT_REFERENCE) -> Config:
    return parse_config(
        textwrap.dedent(f"""
        state: {{backend: dynamodb, table: {tables["state"]}}}
        app: {{secret: "{app_secret}"}}
        authenticator:
          backend: dynamodb
          table: {tables["users"]}
          base_users:
            - {{username: {ADMIN[0]}, password: {ADMIN[1]}, auth_level: [user, super user]}}
        """)
        + extra,
        "aws-config.yaml",
        env={},
    )


@contextlib.asynccontextmanager
async def client_for(services: Services, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services.config, services, **kwargs)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://launchpad.test") as http:
        yield http


async def test_the_jwt_secret_comes_from_an_ssm_secure_string(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    value = f"jwt-{uuid.uuid4().hex}"
    put_parameter("/launchpad/jwt-secret", value)
    caplog.clear()
    caplog.set_level(logging.DEBUG)  # botocore logs whole responses at DEBUG: the value must not be among them

    services = Services.from_config(aws_config(aws))
    assert services.secret == value
    async with client_for(services) as http:
        login = await http.post("/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        assert jwt.decode(token, value, algorithms=["HS256"])["sub"] == ADMIN[0], "signed with the SSM value"
        servers = await http.get("/servers", headers={"Authorization": f"Bearer {token}"})
        assert servers.status_code == 200, servers.text
        assert [s["name"] for s in servers.json()] == ["local"]

        with warnings.catch_warnings():  # the reference string is a short key, as jwt rightly warns
            warnings.simplefilter("ignore")
            forged, _ = issue_token(JWT_REFERENCE, ADMIN[0], ["user", "super user"], 600, SEEDED)
        refused = await http.get("/servers", headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401, "the reference string is not the secret"

    assert JWT_REFERENCE in caplog.text, "the reference may be logged"
    assert value not in caplog.text
    assert all(value not in str(record.args) for record in caplog.records)


async def test_webhook_and_api_key_secrets_come_from_secrets_manager(
    aws: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    put_parameter("/launchpad/jwt-secret", "jwt-value")
    webhook, api_key = f"hook-{uuid.uuid4().hex}", f"key-{uuid.uuid4().hex}"
    hook_ref, key_ref = f"secretsmanager:launchpad/{uuid.uuid4().hex}/webhook", f"secretsmanager:{uuid.uuid4().hex}"
    put_secret(hook_ref.split(":", 1)[1], webhook)
    put_secret(key_ref.split(":", 1)[1], api_key)
    extra = f"""
webhook: {{secret: "{hook_ref}"}}
temporalio:
  servers:
    - {{name: local, api_key: "{key_ref}"}}
    - {{name: plain, api_key: plain-key-value}}
"""
    caplog.set_level(logging.DEBUG)
    config = aws_config(aws, extra)
    services = Services.from_config(config)
    servers = config.temporalio.servers
    assert [s.api_key.get_secret_value() for s in servers if s.api_key] == [api_key, "plain-key-value"]

    dispatched: list[str] = []

    async def record(svc: Services, trigger: str, hard: bool) -> Dispatched:
        dispatched.append(trigger)
        return Dispatched("recorded")

    body = json.dumps({"ref": "refs/heads/main"}).encode()

    def signed(secret: str, delivery: str) -> dict[str, str]:
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Hub-Signature-256": f"sha256={signature}", "X-GitHub-Delivery": delivery}

    async with client_for(services, dispatch=record) as http:
        refused = await http.post("/webhooks/git", content=body, headers=signed(hook_ref, "d1"))
        assert refused.status_code == 401, refused.text
        accepted = await http.post("/webhooks/git", content=body, headers=signed(webhook, "d1"))
        assert accepted.status_code == 202 and accepted.json()["status"] == "recorded", accepted.text
        again = await http.post("/webhooks/git", content=body, headers=signed(webhook, "d1"))
        assert again.status_code == 202 and again.json()["status"] == "duplicate delivery ignored"
    assert dispatched == ["webhook: github"]
    assert webhook not in caplog.text and api_key not in caplog.text


def test_a_reference_is_fetched_once_per_process(aws: dict[str, str]) -> None:
    name = f"/launchpad/{uuid.uuid4().hex}"
    put_parameter(name, "first")
    assert secrets.resolve(f"ssm:{name}") == "first"
    put_parameter(name, "rotated")
    assert secrets.resolve(f"ssm:{name}") == "first", "cached: no AWS call per request or per container reuse"
    config = aws_config(aws, app_secret=f"ssm:{name}").resolve_secrets()
    assert config.secret is not None and config.secret.get_secret_value() == "first"
    assert config.resolve_secrets() is config  # a second call changes nothing
    secrets.clear_cache()
    assert secrets.resolve(f"ssm:{name}") == "rotated"


def test_plain_values_pass_through() -> None:
    config = parse_config(
        """
app: {secret: not-a-reference}
webhook: {secret: "ssm"}
temporalio: {servers: [{name: local, api_key: "secretsmanager"}]}
authenticator: {base_users: []}
""",
        "plain.yaml",
        env={},
    )

    def forbidden(value: str) -> str:
        assert not secrets.is_reference(value), value
        return secrets.resolve(value)

    config.resolve_secrets(forbidden)
    assert config.secret is not None and config.secret.get_secret_value() == "not-a-reference"
    assert config.webhook.secret is not None and config.webhook.secret.get_secret_value() == "ssm"
    assert secrets.resolve("ssm:") == "ssm:" and secrets.resolve("") == ""


def test_errors_name_the_reference_and_never_a_value(aws: dict[str, str]) -> None:
    missing = f"ssm:/launchpad/{uuid.uuid4().hex}"
    with pytest.raises(SecretError, match=f"{missing}: ParameterNotFound"):
        Services.from_config(aws_config(aws, app_secret=missing))

    name = uuid.uuid4().hex
    put_secret(name, binary=b"binary-secret-value")
    with pytest.raises(SecretError, match=f"secretsmanager:{name}: it has no string value") as raised:
        secrets.resolve(f"secretsmanager:{name}")
    assert "binary-secret-value" not in str(raised.value)
    with pytest.raises(SecretError, match="secretsmanager:no-such-secret: ResourceNotFoundException"):
        secrets.resolve("secretsmanager:no-such-secret")
