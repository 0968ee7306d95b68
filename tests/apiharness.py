"""An API under test: a real git repository, the session's dev server and workers, httpx over ASGI."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from functions.app import create_app
from functions.services import Services
from launchpad.config import Config, parse_config
from launchpad.state.sqlite import SqliteStateStore
from tests.conftest import ENGINE_QUEUE, Engine
from tests.gitrepo import GitRepo

SECRET = "test-jwt-secret-0123456789abcdef"
WEBHOOK_SECRET = "webhook-secret"
ADMIN = ("admin", "admin-password")
ALICE = ("alice", "alice-password")


def api_config(engine: Engine, root: Path, repo: GitRepo, extra: str = "") -> Config:
    return parse_config(api_config_text(engine, root, repo, extra), "api-config.yaml", env={})


def api_config_text(engine: Engine, root: Path, repo: GitRepo, extra: str = "") -> str:
    """The configuration of the API under test, as its YAML file says it."""
    host, port = engine.server.address.split(":")
    return (
        textwrap.dedent(f"""
        temporalio:
          servers:
            - name: local
              ip: {host}
              port: {port}
              namespaces: [{{name: default}}, {{name: lp-second}}]
        repository: {{url: "{repo.remote}", branch: main, cache_dir: "{root}/cache"}}
        state: {{path: "{root}/state.db"}}
        app: {{secret: {SECRET}}}
        webhook: {{secret: {WEBHOOK_SECRET}, min_interval: 0}}
        authenticator:
          db: ":memory:"
          base_users:
            - {{username: {ADMIN[0]}, password: {ADMIN[1]}, auth_level: [user, super user], max_age: 600}}
            - {{username: {ALICE[0]}, password: {ALICE[1]}, auth_level: [user], max_age: 600}}
        """)
        + extra
    )


@dataclass
class Api:
    app: FastAPI
    http: httpx.AsyncClient
    services: Services
    repo: GitRepo
    engine: Engine
    prefix: str

    async def token(self, who: tuple[str, str] = ADMIN) -> str:
        answer = await self.http.post("/auth/token", data={"username": who[0], "password": who[1]})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    async def headers(self, who: tuple[str, str] = ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(who)}"}

    async def call(self, method: str, url: str, who: tuple[str, str] | None = ADMIN, **kwargs: Any) -> httpx.Response:
        headers = await self.headers(who) if who else {}
        return await self.http.request(method, url, headers=headers, **kwargs)

    def task(self, name: str, body: str) -> None:
        self.repo.write(f"deployments/tasks/{name}.yaml", body)


TASK = """
name: {name}
runner: WorkflowRunner
template: {template}
overwritable: {overwritable}
workflow:
  task_queue: {queue}
  workflow_id: "{wid}"
  workflow: Task
  workflow_kwargs:
    activity: {activity}
    args: {args}
"""


def task_text(
    name: str, wid: str, args: str = "[1]", activity: str = "one", template: bool = False, overwritable: bool = False
) -> str:
    return TASK.format(
        name=name,
        wid=wid,
        args=args,
        activity=activity,
        queue=ENGINE_QUEUE,
        template=str(template).lower(),
        overwritable=str(overwritable).lower(),
    )


@pytest.fixture
async def api(tmp_path: Path, engine: Engine) -> AsyncIterator[Api]:
    repo = GitRepo(tmp_path)
    prefix = f"api{uuid.uuid4().hex[:6]}"
    repo.write("deployments/tasks/hello.yaml", task_text("hello", f"{prefix}-hello", args="[world]"))
    repo.commit("hello")
    config = api_config(engine, tmp_path, repo)
    services = Services.from_config(config, SqliteStateStore(str(tmp_path / "state.db")), engine.connections)
    app = create_app(config, services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://launchpad.test") as http:
        yield Api(app, http, services, repo, engine, prefix)
