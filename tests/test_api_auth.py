"""The API's authentication as a user sees it: login, token attacks, levels, throttling, users, open routes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from functions.app import create_app
from functions.services import Services
from launchpad.state.sqlite import SqliteStateStore
from tests.apiharness import ADMIN, ALICE, SECRET, WEBHOOK_SECRET, Api, api, api_config  # noqa: F401
from tests.conftest import Engine

BOB = ("bob", "bob-password-42")
CLEAR_PASSWORDS = (ADMIN[1], ALICE[1], BOB[1])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(**changes: Any) -> dict[str, Any]:
    """A complete, valid payload for the admin (a super user), with `changes` applied."""
    now = int(time.time())
    payload = {
        "sub": ADMIN[0],
        "gen": "config",  # the generation of the users the configuration defines
        "levels": ["user", "super user"],
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    return {**payload, **changes}


def forge(payload: dict[str, Any], alg: str, key: str | None = SECRET, digest: Any = hashlib.sha256) -> str:
    """A JWT built by hand: any header `alg`, signed by HMAC-`digest` with `key` (no signature when key is None)."""
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    signing_input = f"{header}.{body}".encode()
    signature = b64(hmac.new(key.encode(), signing_input, digest).digest()) if key is not None else ""
    return f"{header}.{body}.{signature}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["error"] == code, body
    assert isinstance(body.get("message"), str) and body["message"]
    assert "Traceback" not in answer.text
    return body  # type: ignore[no-any-return]


# --- login -------------------------------------------------------------------------------------------------------


async def test_login_with_a_form_gives_a_bearer_token(api: Api) -> None:
    answer = await api.http.post("/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 600
    assert (await api.http.get("/tasks", headers=bearer(body["access_token"]))).status_code == 200


async def test_login_with_json_gives_a_bearer_token(api: Api) -> None:
    answer = await api.http.post("/auth/token", json={"username": ALICE[0], "password": ALICE[1]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 600
    payload = json.loads(unb64(body["access_token"].split(".")[1]))
    assert payload["sub"] == ALICE[0]
    assert payload["levels"] == ["user"]
    assert payload["exp"] - payload["iat"] == 600
    assert (await api.http.get("/tasks", headers=bearer(body["access_token"]))).status_code == 200


async def test_wrong_credentials_answer_401(api: Api) -> None:
    # fewer than 5 failures: the throttle (tested below) stays out of the way
    attempts = [
        {"data": {"username": ADMIN[0], "password": "not-the-password"}},
        {"json": {"username": ALICE[0], "password": ADMIN[1]}},  # another user's password
        {"data": {"username": "nobody", "password": ADMIN[1]}},  # an unknown user: the same answer
        {"json": {"username": ADMIN[0], "password": ""}},
    ]
    messages = set()
    for attempt in attempts:
        body = assert_error(await api.http.post("/auth/token", **attempt), 401, "invalid_credentials")
        assert "access_token" not in body
        messages.add(body["message"])
    assert len(messages) == 1  # nothing tells a wrong password from an unknown user


async def test_login_without_credentials_answers_422(api: Api) -> None:
    attempts: list[dict[str, Any]] = [
        {"data": {"username": ADMIN[0]}},
        {"data": {"password": ADMIN[1]}},
        {"data": {}},
        {},
        {"json": {"username": ADMIN[0]}},
        {"json": {"password": ADMIN[1]}},
        {"json": {}},
        {"json": [ADMIN[0], ADMIN[1]]},
        {"json": {"username": ADMIN[0], "password": 12345}},
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
    ]
    for attempt in attempts:
        answer = await api.http.post("/auth/token", **attempt)
        assert_error(answer, 422, "validation_error")
        assert ADMIN[1] not in answer.text
    # a form with the fields is still fine afterwards (validation errors are not login failures)
    assert (await api.http.post("/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})).status_code == 200


# --- attacks on a protected route --------------------------------------------------------------------------------


async def test_a_valid_token_is_accepted(api: Api) -> None:
    # the control for the attacks below: the same route with a genuine token (and one built by hand with HS256)
    assert (await api.http.get("/tasks", headers=await api.headers(ALICE))).status_code == 200
    assert (await api.http.get("/tasks", headers=bearer(forge(claims(), "HS256")))).status_code == 200


async def test_missing_token_is_refused(api: Api) -> None:
    assert_error(await api.http.get("/tasks"), 401, "unauthorized")
    assert_error(await api.http.get("/tasks", headers={"Authorization": "Bearer "}), 401, "unauthorized")
    # a token anywhere but the Authorization header does not count
    token = await api.token(ADMIN)
    assert_error(await api.http.get("/tasks", params={"access_token": token}), 401, "unauthorized")
    assert_error(await api.http.get("/tasks", headers={"Cookie": f"access_token={token}"}), 401, "unauthorized")


async def test_malformed_token_is_refused(api: Api) -> None:
    for authorization in (
        "Bearer abc",
        "Bearer a.b.c",
        "Bearer ...",
        "Bearer " + "A" * 5000,
        "Basic YWRtaW46YWRtaW4=",
        "abc",
    ):
        assert_error(await api.http.get("/tasks", headers={"Authorization": authorization}), 401, "unauthorized")


async def test_alg_none_token_is_refused(api: Api) -> None:
    for alg in ("none", "None", "NONE"):
        assert_error(await api.http.get("/tasks", headers=bearer(forge(claims(), alg, key=None))), 401, "unauthorized")
    # "none" with a (valid HS256) signature left on is refused as well
    signed = forge(claims(), "HS256")
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    swapped = ".".join([header, *signed.split(".")[1:]])
    assert_error(await api.http.get("/tasks", headers=bearer(swapped)), 401, "unauthorized")


async def test_token_signed_with_another_secret_is_refused(api: Api) -> None:
    for key in ("another-secret-0123456789abcdef0", "", SECRET.upper(), WEBHOOK_SECRET):
        assert_error(await api.http.get("/tasks", headers=bearer(forge(claims(), "HS256", key))), 401, "unauthorized")


async def test_expired_token_is_refused(api: Api) -> None:
    now = int(time.time())
    expired = forge(claims(iat=now - 700, exp=now - 100), "HS256")
    body = assert_error(await api.http.get("/tasks", headers=bearer(expired)), 401, "unauthorized")
    assert "expired" in body["message"]


async def test_a_token_that_was_accepted_is_refused_once_it_expires(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified tokens are remembered per process; their expiry is still checked on every request."""
    now = int(time.time())
    token = forge(claims(iat=now, exp=now + 30), "HS256")
    assert (await api.http.get("/tasks", headers=bearer(token))).status_code == 200
    monkeypatch.setattr(time, "time", lambda: now + 31.0)
    body = assert_error(await api.http.get("/tasks", headers=bearer(token)), 401, "unauthorized")
    assert "expired" in body["message"]


async def test_token_without_a_required_claim_is_refused(api: Api) -> None:
    for missing in ("sub", "gen", "exp", "iat", "jti", "levels"):
        payload = {k: v for k, v in claims().items() if k != missing}
        assert_error(await api.http.get("/tasks", headers=bearer(forge(payload, "HS256"))), 401, "unauthorized")


async def test_token_with_levels_that_are_not_a_list_of_strings_is_refused(api: Api) -> None:
    for levels in ("super user", [1], {"super user": True}, None):
        token = forge(claims(levels=levels), "HS256")
        assert_error(await api.http.get("/tasks", headers=bearer(token)), 401, "unauthorized")


async def test_tampered_token_is_refused(api: Api) -> None:
    header, payload, signature = (await api.token(ALICE)).split(".")
    original = json.loads(unb64(payload))
    for change in ({"levels": ["user", "super user"]}, {"sub": ADMIN[0]}, {"exp": original["exp"] + 3600}):
        tampered = f"{header}.{b64(json.dumps({**original, **change}).encode())}.{signature}"
        assert_error(await api.http.get("/tasks", headers=bearer(tampered)), 401, "unauthorized")
        assert_error(await api.http.get("/users", headers=bearer(tampered)), 401, "unauthorized")
    # the signature changed by one character
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_error(await api.http.get("/tasks", headers=bearer(f"{header}.{payload}.{flipped}")), 401, "unauthorized")


async def test_token_with_another_alg_is_refused(api: Api) -> None:
    for alg, digest in (
        ("HS512", hashlib.sha512),  # the right secret, another HMAC
        ("HS384", hashlib.sha384),
        ("RS256", hashlib.sha256),  # key confusion: an RSA header over an HMAC signature with the secret
        ("ES256", hashlib.sha256),
        ("PS256", hashlib.sha256),
        ("hs256", hashlib.sha256),
    ):
        token = forge(claims(), alg, SECRET, digest)
        assert_error(await api.http.get("/tasks", headers=bearer(token)), 401, "unauthorized")


# --- levels ------------------------------------------------------------------------------------------------------


SUPER_USER_ROUTES = [
    ("DELETE", "/schedules/x", {}),
    ("POST", "/workflows/x/terminate", {}),
    ("POST", "/workflows/x/cancel", {}),
    ("GET", "/users", {}),
    ("POST", "/users", {"json": {"username": "mallory", "password": "mallory-password", "auth_level": ["super user"]}}),
    ("DELETE", "/users/admin", {}),
    ("PUT", "/tasks/hello", {"json": {"content": "name: hello\n"}}),
    ("DELETE", "/tasks/hello", {}),
    ("POST", "/servers/local/namespaces", {"json": {"name": "lp-forbidden"}}),
]


async def test_user_token_on_super_user_routes_is_forbidden(api: Api) -> None:
    headers = await api.headers(ALICE)
    for method, url, kwargs in SUPER_USER_ROUTES:
        answer = await api.http.request(method, url, headers=headers, **kwargs)
        body = assert_error(answer, 403, "forbidden")
        assert "super user" in body["message"], (method, url, body)
    # nothing happened: no user added or removed, no commit, no sync
    assert [u.username for u in api.services.users.users()] == [ADMIN[0], ALICE[0]]  # type: ignore[union-attr]
    assert api.services.store.syncs() == []
    assert api.repo.git("ls-remote", str(api.repo.remote), "main").split()[0] == api.repo.head()


async def test_super_user_can_do_what_a_user_can(api: Api) -> None:
    for who in (ADMIN, ALICE):
        answer = await api.call("GET", "/tasks", who=who)
        assert answer.status_code == 200, answer.text
        assert [t["name"] for t in answer.json()] == ["hello"]
    answer = await api.call("GET", "/users", who=ADMIN)
    assert answer.status_code == 200, answer.text


# --- throttling --------------------------------------------------------------------------------------------------


async def test_repeated_failed_logins_are_throttled(api: Api) -> None:
    for _ in range(5):
        answer = await api.http.post("/auth/token", data={"username": ALICE[0], "password": "guess"})
        assert_error(answer, 401, "invalid_credentials")
    # the 6th attempt is refused before the password is even looked at, right or wrong
    right = await api.http.post("/auth/token", data={"username": ALICE[0], "password": ALICE[1]})
    assert_error(right, 429, "too_many_attempts")
    assert "access_token" not in right.json()
    wrong = await api.http.post("/auth/token", json={"username": ALICE[0], "password": "guess"})
    assert_error(wrong, 429, "too_many_attempts")


async def test_a_successful_login_resets_the_user_count(api: Api) -> None:
    for _ in range(4):
        assert_error(
            await api.http.post("/auth/token", data={"username": ALICE[0], "password": "x"}), 401, "invalid_credentials"
        )
    assert (await api.http.post("/auth/token", data={"username": ALICE[0], "password": ALICE[1]})).status_code == 200
    assert api.services.users.attempts(f"user:{ALICE[0]}", 300) == 0  # type: ignore[union-attr]


# --- passwords are never kept or logged in clear -----------------------------------------------------------------


def _dump(services: Services) -> str:
    return "\n".join(services.users._db.iterdump())  # type: ignore[union-attr]


def _hashes(services: Services) -> dict[str, str]:
    rows = services.users._db.execute("SELECT username, password_hash FROM users").fetchall()  # type: ignore[union-attr]
    return {str(name): str(hashed) for name, hashed in rows}


async def test_passwords_are_stored_hashed_and_never_logged(
    api: Api, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    # an app starting (seeding its users from the config's clear-text passwords) under the log capture
    config = api_config(engine, tmp_path / "fresh", api.repo)
    (tmp_path / "fresh").mkdir()
    services = Services.from_config(config, SqliteStateStore(":memory:"), engine.connections)
    app = create_app(config, services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://launchpad.test") as http:
        ok_admin = await http.post("/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        assert ok_admin.status_code == 200, ok_admin.text
        ok = await http.post("/auth/token", json={"username": ALICE[0], "password": ALICE[1]})
        assert ok.status_code == 200, ok.text
        bad = await http.post("/auth/token", data={"username": ALICE[0], "password": ADMIN[1]})
        assert bad.status_code == 401
        bad = await http.post("/auth/token", json={"username": "nobody", "password": ALICE[1]})
        assert bad.status_code == 401
        admin = bearer(ok_admin.json()["access_token"])
        created = await http.post("/users", headers=admin, json={"username": BOB[0], "password": BOB[1]})
        assert created.status_code == 201, created.text
        assert (await http.post("/auth/token", data={"username": BOB[0], "password": BOB[1]})).status_code == 200
        for answer in (ok_admin, ok, bad, created):
            assert all(p not in answer.text for p in CLEAR_PASSWORDS)

    hashes = _hashes(services)
    assert set(hashes) == {ADMIN[0], ALICE[0], BOB[0]}
    assert all(h.startswith("$argon2id$") for h in hashes.values()), hashes
    assert len(set(hashes.values())) == 3  # salted
    dump = _dump(services)
    assert all(p not in dump for p in CLEAR_PASSWORDS)
    # the fixture's app (started before this test) as well
    assert all(h.startswith("$argon2id$") for h in _hashes(api.services).values())
    assert all(p not in _dump(api.services) for p in CLEAR_PASSWORDS)

    out, err = capsys.readouterr()
    logged = [caplog.text, out, err]
    logged += [r.getMessage() for r in caplog.records]
    logged += [repr(r.args) for r in caplog.records] + [repr(r.__dict__) for r in caplog.records]
    for text in logged:
        assert all(p not in text for p in CLEAR_PASSWORDS), text
    # the capture did see the logins (so the absence above means something)
    assert any("/auth/token" in r.getMessage() for r in caplog.records)


# --- users management --------------------------------------------------------------------------------------------


async def test_super_user_lists_users_without_passwords(api: Api) -> None:
    answer = await api.call("GET", "/users", who=ADMIN)
    assert answer.status_code == 200, answer.text
    users = answer.json()
    assert users == [
        {"username": ADMIN[0], "auth_level": ["user", "super user"], "max_age": 600},
        {"username": ALICE[0], "auth_level": ["user"], "max_age": 600},
    ]
    assert "password" not in answer.text
    assert "argon2" not in answer.text


async def test_super_user_creates_and_deletes_a_user(api: Api) -> None:
    headers = await api.headers(ADMIN)
    created = await api.http.post(
        "/users", headers=headers, json={"username": BOB[0], "password": BOB[1], "auth_level": ["user"], "max_age": 120}
    )
    assert created.status_code == 201, created.text
    assert created.json() == {"username": BOB[0], "auth_level": ["user"], "max_age": 120}

    login = await api.http.post("/auth/token", data={"username": BOB[0], "password": BOB[1]})
    assert login.status_code == 200, login.text
    assert login.json()["expires_in"] == 120
    bob = bearer(login.json()["access_token"])
    assert (await api.http.get("/tasks", headers=bob)).status_code == 200
    assert_error(await api.http.get("/users", headers=bob), 403, "forbidden")
    listed = (await api.http.get("/users", headers=headers)).json()
    assert [u["username"] for u in listed] == [ADMIN[0], ALICE[0], BOB[0]]

    deleted = await api.http.delete(f"/users/{BOB[0]}", headers=headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["status"] == "deleted"
    assert_error(
        await api.http.post("/auth/token", data={"username": BOB[0], "password": BOB[1]}), 401, "invalid_credentials"
    )
    assert_error(await api.http.delete(f"/users/{BOB[0]}", headers=headers), 404, "not_found")
    assert [u["username"] for u in (await api.http.get("/users", headers=headers)).json()] == [ADMIN[0], ALICE[0]]


async def test_creating_an_invalid_user_answers_422(api: Api) -> None:
    headers = await api.headers(ADMIN)
    for body in (
        {"username": "bob", "password": "short"},
        {"username": "bob smith", "password": "long-enough-password"},
        {"username": "", "password": "long-enough-password"},
        {"username": "bob", "password": "long-enough-password", "auth_level": ["root"]},
        {"username": "bob", "password": "long-enough-password", "is_admin": True},
        {"username": "bob"},
    ):
        answer = await api.http.post("/users", headers=headers, json=body)
        assert_error(answer, 422, "validation_error")
        assert "long-enough-password" not in answer.text
    assert [u.username for u in api.services.users.users()] == [ADMIN[0], ALICE[0]]  # type: ignore[union-attr]


async def test_a_super_user_cannot_delete_themselves(api: Api) -> None:
    answer = await api.call("DELETE", f"/users/{ADMIN[0]}", who=ADMIN)
    assert_error(answer, 409, "conflict")
    assert (await api.http.post("/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})).status_code == 200


# --- open routes -------------------------------------------------------------------------------------------------


async def test_health_needs_no_token(api: Api) -> None:
    answer = await api.http.get("/health")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok"
    assert body["server"] == "local"
    assert body["address"] == api.engine.server.address


async def test_docs_and_openapi_need_no_token(api: Api) -> None:
    docs = await api.http.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    answer = await api.http.get("/openapi.json")
    assert answer.status_code == 200
    spec = answer.json()
    schemes = spec["components"]["securitySchemes"]
    flows = [s["flows"] for s in schemes.values() if s["type"] == "oauth2"]
    assert flows, schemes
    assert flows[0]["password"]["tokenUrl"] == "/auth/token"
    # protected operations declare it; login and health do not need it
    assert spec["paths"]["/tasks"]["get"].get("security")
    assert not spec["paths"]["/health"]["get"].get("security")
    assert not spec["paths"]["/auth/token"]["post"].get("security")
    assert "application/x-www-form-urlencoded" in spec["paths"]["/auth/token"]["post"]["requestBody"]["content"]
