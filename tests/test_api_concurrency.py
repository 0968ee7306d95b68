"""One API process under a burst of concurrent requests that all touch the repository cache.

The API runs as a user runs it (`launchpad api`, uvicorn in a child process), against the
session's dev server and a real git repository. A wedged event loop shows as `/health` not
answering; a repository cache broken by concurrent use shows as 500s, then and afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.apiharness import ADMIN, ALICE, WEBHOOK_SECRET, api_config_text, task_text
from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GitRepo
from tests.served import Served, serve_api

pytestmark = pytest.mark.temporal


class Site:
    """A served API, its repository, and logged-in clients."""

    def __init__(self, served: Served, repo: GitRepo, prefix: str) -> None:
        self.served = served
        self.repo = repo
        self.prefix = prefix
        self.tokens: dict[str, str] = {}

    def headers(self, who: tuple[str, str] = ADMIN) -> dict[str, str]:
        if who[0] not in self.tokens:
            answer = httpx.post(f"{self.served.url}/auth/token", data={"username": who[0], "password": who[1]})
            assert answer.status_code == 200, answer.text
            self.tokens[who[0]] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[who[0]]}"}


@pytest.fixture
def site(tmp_path: Path, engine: Engine) -> Iterator[Site]:
    repo = GitRepo(tmp_path)
    prefix = f"cc{uuid.uuid4().hex[:6]}"
    repo.write("deployments/tasks/hello.yaml", task_text("hello", f"{prefix}-hello", args="[world]"))
    repo.write(
        "deployments/workers/engine.yaml",
        f"worker:\n  task_queue: {ENGINE_QUEUE}\n  workflows: [Task]\n  activities: [one]\n",
    )
    for i in range(20):  # some files, so that listings and reads take a moment
        repo.write(f"deployments/tasks/t{i}.yaml", task_text(f"t{i}", f"{prefix}-t{i}"))
    repo.commit("tasks and a worker")
    config = tmp_path / "launchpad_configs.yaml"
    config.write_text(api_config_text(engine, tmp_path, repo))
    with serve_api(config, "--no-access-log") as served:
        yield Site(served, repo, prefix)


def signed_push(delivery: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ref": "refs/heads/main", "after": uuid.uuid4().hex, "delivery": delivery}).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": f"sha256={signature}",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
    }


async def burst(site: Site) -> list[tuple[str, int, str]]:
    """50 requests at once (sync, plan, workers, deploy, webhook, by a user and a super user),
    while /health is asked every 0.2 s; (label, status, text) of each."""
    admin, alice = site.headers(ADMIN), site.headers(ALICE)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=site.served.url, timeout=60, limits=limits) as http:

        async def one(label: str, method: str, url: str, **kwargs: object) -> tuple[str, int, str]:
            answer = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
            return label, answer.status_code, answer.text

        calls = []
        for i in range(10):
            who = admin if i % 2 else alice
            calls.append(one("sync", "POST", "/sync", headers=who))
            calls.append(one("plan", "GET", "/sync/plan", headers=who))
            calls.append(one("workers", "GET", "/workers", headers=who))
            calls.append(one("deploy", "POST", f"/tasks/deploy/t{i}", headers=who))
            body, headers = signed_push(str(uuid.uuid4()))
            calls.append(one("webhook", "POST", "/webhooks/git", content=body, headers=headers))
        assert len(calls) == 50
        running = asyncio.gather(*calls)
        slowest = 0.0
        while not running.done():
            started = time.monotonic()
            health = await http.get("/health", timeout=10)  # raises if the event loop is wedged
            assert health.status_code == 200, health.text
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0.2)
        answers = await running
    assert slowest < 5, f"/health took {slowest:.1f}s during the burst"
    return answers


async def test_fifty_concurrent_requests_leave_every_route_working(site: Site) -> None:
    answers = await burst(site)
    failed = [(label, status, text[:300]) for label, status, text in answers if status >= 500]
    assert not failed, f"{len(failed)} server error(s):\n{failed}\n{site.served.output()[-3000:]}"
    expected = {"sync": {202, 409}, "plan": {200}, "workers": {200}, "deploy": {200}, "webhook": {202}}
    wrong = [(label, status, text[:300]) for label, status, text in answers if status not in expected[label]]
    assert not wrong, wrong
    assert Counter(label for label, _, _ in answers) == Counter({k: 10 for k in expected})

    # afterwards, every route still answers, and answers right
    head = site.repo.head()
    site.repo.write("deployments/tasks/later.yaml", task_text("later", f"{site.prefix}-later"))
    later = site.repo.commit("later")
    admin = site.headers(ADMIN)
    async with httpx.AsyncClient(base_url=site.served.url, timeout=60, headers=admin) as http:
        plan = await http.get("/sync/plan")
        assert plan.status_code == 200 and plan.json()["revision"] == later, plan.text
        tasks = await http.get("/tasks")
        assert tasks.status_code == 200 and "later" in {t["name"] for t in tasks.json()}, tasks.text
        shown = await http.get("/tasks/hello")
        assert shown.status_code == 200 and shown.json()["spec"]["workflow"]["workflow_kwargs"]["args"] == ["world"]
        versions = await http.get("/tasks/hello/versions")
        assert versions.status_code == 200 and [v["revision"] for v in versions.json()] == [head], versions.text
        workers = await http.get("/workers")
        assert workers.status_code == 200 and [w["name"] for w in workers.json()] == ["engine"], workers.text
        deployed = await http.post("/tasks/deploy/later")
        assert deployed.status_code == 200 and deployed.json()["workflow_id"] == f"{site.prefix}-later"
        at_ref = await http.post("/tasks/deploy/hello", json={"ref": head})
        assert at_ref.status_code in (200, 409), at_ref.text
        status = await http.get("/sync/status")
        assert status.status_code == 200, status.text
        history = await http.get("/sync/history")
        assert history.status_code == 200 and history.json(), history.text
        stuck = [s for s in history.json() if s["finished_at"] is None]
        for _ in range(100):  # the burst's syncs end (none stays `running`)
            if not stuck:
                break
            await asyncio.sleep(0.3)
            history = await http.get("/sync/history")
            stuck = [s for s in history.json() if s["finished_at"] is None]
        assert not stuck, stuck
        assert all(s["status"] == "succeeded" for s in history.json()), history.json()
        assert (await http.get("/health")).status_code == 200
    assert "Traceback" not in site.served.output(), site.served.output()[-3000:]
