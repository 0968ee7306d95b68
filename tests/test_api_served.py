"""Attacks on a served API (`launchpad api`, uvicorn in a child process): what depends on the real
server and process — imported code, client addresses, request bodies, concurrent logins."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.apiharness import ADMIN, ALICE, WEBHOOK_SECRET, api_config_text, task_text
from tests.conftest import Engine
from tests.gitrepo import GitRepo
from tests.served import Served, serve_api

pytestmark = pytest.mark.temporal

MIB = 1 << 20
SIDE_EFFECT = """
import os
from pathlib import Path

Path({marks!r}, f"{version}-{{os.getpid()}}").touch()
"""


@contextmanager
def site(tmp_path: Path, engine: Engine, extra: str = "") -> Iterator[tuple[Served, GitRepo]]:
    repo = GitRepo(tmp_path)
    repo.write("deployments/tasks/hello.yaml", task_text("hello", f"sv{uuid.uuid4().hex[:6]}-hello"))
    repo.commit("hello")
    config = tmp_path / "launchpad_configs.yaml"
    config.write_text(api_config_text(engine, tmp_path, repo, textwrap.dedent(extra)))
    with serve_api(config, "--no-access-log") as served:
        yield served, repo


def login(served: Served, who: tuple[str, str] = ADMIN, **headers: str) -> httpx.Response:
    return httpx.post(f"{served.url}/auth/token", data={"username": who[0], "password": who[1]}, headers=headers)


def bearer(served: Served, who: tuple[str, str] = ADMIN) -> dict[str, str]:
    answer = login(served, who)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def rss(served: Served) -> int:
    """The API process's resident memory, in bytes."""
    status = Path(f"/proc/{served.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


def assert_error(answer: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text[:500]
    body = answer.json()
    assert body["error"] == code and body["message"], body
    return body  # type: ignore[no-any-return]


# --- 1. `ref` names reviewed history; no code from a ref is imported --------------------------------------------


async def test_ref_names_only_the_branchs_history_and_no_ref_code_is_imported(tmp_path: Path, engine: Engine) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    repo = GitRepo(tmp_path)
    wid = f"sv{uuid.uuid4().hex[:6]}-hello"
    repo.write("deployments/tasks/hello.yaml", task_text("hello", wid))
    repo.write("code/side_effect.py", SIDE_EFFECT.format(marks=str(marks), version="v1"))
    old = repo.commit("v1")
    old_file = repo.git("rev-parse", f"{old}:deployments/tasks/hello.yaml")
    repo.write("deployments/tasks/hello.yaml", task_text("hello", wid, args="[2]"))
    repo.write("code/side_effect.py", SIDE_EFFECT.format(marks=str(marks), version="v2"))
    repo.commit("v2")
    repo.git("checkout", "-q", "-b", "feature-x")
    repo.write("code/side_effect.py", SIDE_EFFECT.format(marks=str(marks), version="unmerged"))
    unmerged = repo.commit("nobody reviewed this", push=False)
    repo.git("push", "-q", "origin", "feature-x")
    repo.git("checkout", "-q", "main")
    config = tmp_path / "launchpad_configs.yaml"
    config.write_text(
        api_config_text(engine, tmp_path, repo).replace("branch: main,", "branch: main, code_paths: [code],")
    )
    with serve_api(config, "--no-access-log") as served:
        alice = bearer(served, ALICE)
        for ref in ("origin/feature-x", "feature-x", unmerged, unmerged[:12], "HEAD@{0}", "main@{1}"):
            answer = httpx.post(f"{served.url}/tasks/deploy/hello", json={"ref": ref}, headers=alice, timeout=60)
            assert answer.status_code == 422, (ref, answer.text)
            assert answer.json()["error"] in ("unknown_revision", "revision_not_on_branch"), answer.text
        assert not list(marks.glob("unmerged-*")), "a branch nobody merged was imported"
        client = await engine.client()
        for ref in (old, "HEAD~1"):  # the same commit: v1's file (its arguments), each run to its end
            deployed = httpx.post(f"{served.url}/tasks/deploy/hello", json={"ref": ref}, headers=alice, timeout=60)
            assert deployed.status_code == 200, (ref, deployed.text)
            assert deployed.json()["version"] == old_file, (ref, deployed.json())
            assert await client.get_workflow_handle(wid, run_id=deployed.json()["run_id"]).result() == {"one": 1}
        pid = served.process.pid
        assert sorted(p.name for p in marks.iterdir()) == [f"v2-{pid}"], "the head's code, not the ref's"


# --- 4. login throttling -----------------------------------------------------------------------------------------


async def guesses(served: Served, n: int, **headers: str) -> Counter[int]:
    """`n` wrong passwords for alice at once; how many answers of each status."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=served.url, timeout=120, limits=limits) as http:
        answers = await asyncio.gather(
            *(
                http.post("/auth/token", data={"username": ALICE[0], "password": f"guess-{i}"}, headers=headers)
                for i in range(n)
            )
        )
    return Counter(answer.status_code for answer in answers)


async def test_concurrent_guesses_are_counted_before_they_are_checked(tmp_path: Path, engine: Engine) -> None:
    with site(tmp_path, engine) as (served, _):
        assert await guesses(served, 40) == Counter({401: 5, 429: 35})
        # addresses claimed in X-Forwarded-For are not believed: no proxy is trusted by default
        for i in range(3):
            assert_error(login(served, ALICE, **{"X-Forwarded-For": f"10.9.0.{i}"}), 429, "too_many_attempts")


async def test_a_stranger_cannot_lock_the_real_user_out(tmp_path: Path, engine: Engine) -> None:
    """Behind a trusted proxy (the client's address is the proxy's X-Forwarded-For)."""
    with site(tmp_path, engine, "api: {forwarded_allow_ips: ['127.0.0.1']}\n") as (served, _):
        for attacker in range(4):  # many addresses, each until it is throttled
            statuses = await guesses(served, 6, **{"X-Forwarded-For": f"203.0.113.{attacker}"})
            assert statuses[429] >= 1, statuses
        # alice's name is hammered: an address that failed before may not try it any more ...
        assert_error(login(served, ALICE, **{"X-Forwarded-For": "203.0.113.0"}), 429, "too_many_attempts")
        # ... but alice, from an address without failures, logs in
        assert login(served, ALICE, **{"X-Forwarded-For": "198.51.100.7"}).status_code == 200
        # and a fresh address of the attacker's gets one guess at a hammered name, not two
        for _ in range(4):
            await guesses(served, 2, **{"X-Forwarded-For": "203.0.113.99"})
        assert_error(login(served, ("alice", "guess"), **{"X-Forwarded-For": "192.0.2.1"}), 401, "invalid_credentials")
        assert_error(
            login(served, ALICE, **{"X-Forwarded-For": "192.0.2.1"}), 429, "too_many_attempts"
        )  # even with the right password: that address failed, and the name is hammered
        assert login(served, ALICE, **{"X-Forwarded-For": "198.51.100.8"}).status_code == 200
        assert login(served, ADMIN, **{"X-Forwarded-For": "203.0.113.0"}).status_code in (200, 429)


# --- 5. bounded request bodies -----------------------------------------------------------------------------------


def raw_post(
    served: Served, path: str, size: int, headers: dict[str, str] | None = None, chunked: bool = False
) -> tuple[int, dict[str, object]]:
    """POST `size` bytes of a JSON-looking body over a plain socket (the server may answer, and
    close, before the body is sent: a client library would report the broken pipe instead)."""
    url = urlsplit(served.url)
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        head = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        head += ["Transfer-Encoding: chunked"] if chunked else [f"Content-Length: {size}"]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = b'{"x": "' + b"a" * (MIB - 10) + b'"}'
        sent = 0
        try:
            while sent < size:
                piece = chunk[: min(len(chunk), size - sent)]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered already
        response = b""
        while b"\r\n\r\n" not in response or len(response.split(b"\r\n\r\n", 1)[1]) < content_length(response):
            data = sock.recv(65536)
            if not data:
                break
            response += data
    status = int(response.split(b" ", 2)[1])
    return status, json.loads(response.split(b"\r\n\r\n", 1)[1] or b"{}")


def content_length(response: bytes) -> int:
    for line in response.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def signed(size: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ref": "refs/heads/other", "padding": "x" * size}).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Hub-Signature-256": f"sha256={signature}", "X-GitHub-Delivery": str(uuid.uuid4())}


async def test_request_bodies_are_bounded(tmp_path: Path, engine: Engine) -> None:
    with site(tmp_path, engine) as (served, _):
        token = bearer(served)
        before = rss(served)
        for path in ("/tasks/deploy/hello", "/users", "/auth/token", "/webhooks/git"):
            size = 50 * MIB
            status, body = raw_post(served, path, size)
            assert status == 413 and body["error"] == "body_too_large", (path, status, body)
            assert "limit" in str(body["message"])
        # three at once, and without a declared length (chunked): refused once past the limit
        statuses = await asyncio.gather(
            *(asyncio.to_thread(raw_post, served, "/tasks/deploy/hello", 50 * MIB, None, True) for _ in range(3))
        )
        assert [s for s, _ in statuses] == [413, 413, 413], statuses
        assert rss(served) - before < 40 * MIB, f"the API grew by {(rss(served) - before) / MIB:.0f} MB"
        # a token changes nothing: the limit is the limit
        status, body = raw_post(served, "/tasks/deploy/hello", 2 * MIB, token)
        assert status == 413 and body["error"] == "body_too_large"
        # the webhook takes up to 25 MiB (GitHub's cap), streamed into its signature check
        payload, headers = signed(20 * MIB)
        answer = httpx.post(f"{served.url}/webhooks/git", content=payload, headers=headers, timeout=60)
        assert answer.status_code == 202 and "ignored" in answer.json()["status"], answer.text
        payload, headers = signed(26 * MIB)
        status, body = raw_post(served, "/webhooks/git", len(payload), headers)
        assert status == 413 and body["error"] == "body_too_large"
        # unsigned: refused before the body is read
        status, body = raw_post(served, "/webhooks/git", 20 * MIB, {"X-GitHub-Delivery": "x"})
        assert status == 401 and body["error"] == "invalid_signature"
        # ordinary requests are unaffected
        assert httpx.post(f"{served.url}/tasks/deploy/hello", json={}, headers=token, timeout=60).status_code == 200


def test_a_configured_body_limit_is_the_limit(tmp_path: Path, engine: Engine) -> None:
    """`api.body_limit` set below the default: 8 KiB, which the default 1 MiB lets through (to a
    422 for its broken JSON), is a 413 naming the configured limit, declared or chunked; the
    webhook keeps its own limit."""
    with site(tmp_path, engine, "api: {body_limit: 4KiB}\n") as (served, _):
        token = bearer(served)
        for path, headers, chunked in (
            ("/tasks/deploy/hello", token, False),
            ("/tasks/deploy/hello", token, True),
            ("/users", token, False),
            ("/auth/token", None, False),
        ):
            status, body = raw_post(served, path, 8 * 1024, headers, chunked)
            assert status == 413 and body["error"] == "body_too_large", (path, chunked, status, body)
            assert "limit of 4096 bytes" in str(body["message"]), body
        assert httpx.post(f"{served.url}/tasks/deploy/hello", json={}, headers=token, timeout=60).status_code == 200
        payload, headers = signed(8 * 1024)
        answer = httpx.post(f"{served.url}/webhooks/git", content=payload, headers=headers, timeout=60)
        assert answer.status_code == 202 and "ignored" in answer.json()["status"], answer.text


# --- an open API, or one with the scaffold's defaults, stays on loopback ------------------------------------------


def test_an_open_or_default_api_is_not_served_beyond_loopback(tmp_path: Path) -> None:
    open_api = tmp_path / "open.yaml"
    open_api.write_text("temporalio:\n  servers: [{name: local}]\n")
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text(
        "app: {secret: insecure-dev-secret-123}\n"
        "authenticator:\n  base_users: [{username: admin, password: change-me, auth_level: [user, super user]}]\n"
    )
    for config, says in ((open_api, "open API"), (defaults, "dev defaults")):
        done = subprocess.run(
            [sys.executable, "-m", "launchpad", "api", "--config", str(config), "--host", "0.0.0.0", "--port", "1"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1 and says in done.stderr, done.stderr
