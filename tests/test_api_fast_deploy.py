"""`functions.fast_deploy` answers deploys as FastAPI's own route does: the same requests, both ways."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Receive, Scope, Send

from functions.app import LaunchpadApp
from tests.apiharness import ALICE, Api, api, task_text  # noqa: F401

RUN_FIELDS = ("workflow_id", "run_id")


def plain_fastapi(api: Api) -> httpx.AsyncClient:
    """A client of the same app with the fast path out of the way: FastAPI's route answers."""
    app = api.app

    async def through_fastapi(scope: Scope, receive: Receive, send: Send) -> None:
        await FastAPI.__call__(app, scope, receive, send)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=through_fastapi), base_url="http://launchpad.test")


def answer(response: httpx.Response) -> tuple[int, Any, str | None]:
    body = response.json()
    if response.status_code == 200:
        body = {k: v for k, v in body.items() if k not in RUN_FIELDS}
    return response.status_code, body, response.headers.get("www-authenticate")


async def both(api: Api, plain: httpx.AsyncClient, path: str, **kwargs: Any) -> tuple[Any, Any]:
    """Each side's answer; a workflow one side started has finished before the other side asks."""
    answers = []
    for client in (api.http, plain):
        response = await client.post(path, **kwargs)
        if response.status_code == 200:
            await (await api.engine.client()).get_workflow_handle(response.json()["workflow_id"]).result()
        answers.append(answer(response))
    return answers[0], answers[1]


async def test_same_answers_as_fastapi(api: Api) -> None:
    api.task("ovr", task_text("ovr", f"{api.prefix}-ovr", args="[x]", overwritable=True))
    api.repo.commit("ovr")
    await api.call("POST", "/sync")
    await asyncio.gather(*list(api.services.background))
    admin = await api.headers()
    json_type = {"content-type": "application/json"}
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("/tasks/deploy/hello", {}, 401),  # no token
        ("/tasks/deploy/hello", {"headers": {"Authorization": "Bearer not.a.token"}}, 401),
        ("/tasks/deploy/hello", {"headers": {"Authorization": "Basic YWRtaW46eA=="}}, 401),
        ("/tasks/deploy/hello", {"content": b"{not json", "headers": json_type}, 422),  # JSON before auth
        ("/tasks/deploy/hello", {"content": b"\x00" * 9, "headers": json_type}, 400),  # no text encoding fits
        ("/tasks/deploy/hello", {"content": b"[" * 100_000, "headers": json_type}, 400),  # nested too deep
        ("/tasks/deploy/nope", {"headers": admin}, 404),
        ("/tasks/deploy/..hidden", {"headers": admin}, 404),
        ("/tasks/deploy/" + "x" * 200, {"headers": admin, "json": {"overwrite": 5}}, 422),  # path and body
        ("/tasks/deploy/hello", {"headers": admin, "json": [1]}, 422),
        ("/tasks/deploy/hello", {"headers": admin, "json": {"overwrit": {}}}, 422),
        ("/tasks/deploy/hello", {"headers": admin, "json": {"template_args": {"a": 1}}}, 422),
        ("/tasks/deploy/hello", {"headers": admin, "json": {"ref": "no-such-branch"}}, 422),
        ("/tasks/deploy/hello", {"headers": {**admin, "content-type": "text/plain"}, "content": b"{}"}, 422),
        (
            "/tasks/deploy/hello",
            {"headers": {**admin, "content-type": "application/vnd.lp+json"}, "content": b"{}"},
            200,
        ),
        ("/tasks/deploy/hello", {"headers": {**admin, **json_type}, "content": b"null"}, 200),
        ("/tasks/deploy/hello", {"headers": admin}, 200),  # no body at all
        ("/tasks/deploy/hello", {"headers": await api.headers(ALICE), "json": {}}, 200),  # a `user` may deploy
        ("/tasks/deploy/ovr", {"headers": admin, "json": {"overwrite": {"workflow.workflow_kwargs.args": ["y"]}}}, 200),
    ]
    async with plain_fastapi(api) as plain:
        for path, kwargs, status in cases:
            fast, slow = await both(api, plain, path, **kwargs)
            assert fast == slow, (path, kwargs)
            assert fast[0] == status, (path, kwargs, fast)
    assert await (await api.engine.client()).get_workflow_handle(f"{api.prefix}-ovr").result() == {"one": "y"}


async def test_unknown_user_and_deleted_user_are_refused_alike(api: Api) -> None:
    token = await api.headers(ALICE)
    gone = await api.call("DELETE", f"/users/{ALICE[0]}")
    assert gone.status_code in (200, 204), gone.text
    async with plain_fastapi(api) as plain:
        fast, slow = await both(api, plain, "/tasks/deploy/hello", headers=token, json={})
    assert fast == slow and fast[0] == 401 and fast[1]["message"] == "unknown user"


async def test_other_requests_pass_through_to_fastapi(api: Api) -> None:
    """Other methods and paths are FastAPI's: its 405, 404 and slash redirect come back unchanged."""
    headers = await api.headers()
    async with plain_fastapi(api) as plain:
        for method, path in (
            ("PUT", "/tasks/deploy/hello"),
            ("POST", "/tasks/deploy/hello/again"),
            ("POST", "/tasks/deploy/"),
        ):
            fast = await api.http.request(method, path, headers=headers, json={})
            slow = await plain.request(method, path, headers=headers, json={})
            assert (fast.status_code, fast.text) == (slow.status_code, slow.text)
            assert fast.status_code in (307, 404, 405), fast.text


async def test_deploys_skip_fastapi_and_the_rest_do_not(api: Api) -> None:
    """What this path is for: a JSON deploy never enters FastAPI's middleware stack."""
    app = api.app
    stack, entered = app.build_middleware_stack(), []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        entered.append(scope["path"])
        await stack(scope, receive, send)

    app.middleware_stack = recording
    headers = await api.headers()
    assert (await api.http.post("/tasks/deploy/hello", headers=headers, json={})).status_code == 200
    assert entered == ["/auth/token"]
    text = await api.http.post("/tasks/deploy/hello", headers={**headers, "content-type": "text/plain"}, content=b"{}")
    assert text.status_code == 422 and entered[-1] == "/tasks/deploy/hello"
    assert (await api.http.get("/tasks", headers=headers)).status_code == 200 and entered[-1] == "/tasks"


SCOPE = {"type": "http", "method": "POST", "path": "/stage/tasks/deploy/x", "root_path": "/stage", "headers": []}


def test_declines_other_methods_and_apps_with_middleware() -> None:
    """Middleware added to the app is FastAPI's to run: such an app gets no fast path."""
    assert LaunchpadApp().fast_deploy.takes(SCOPE)
    assert not LaunchpadApp().fast_deploy.takes({**SCOPE, "method": "GET"})
    wrapped = LaunchpadApp()
    wrapped.add_middleware(GZipMiddleware)
    assert not wrapped.fast_deploy.takes(SCOPE)


@pytest.mark.skipif(not hasattr(FastAPI(), "_native_telemetry"), reason="this FastAPI does not trace by itself")
def test_declines_when_fastapi_traces() -> None:
    from opentelemetry import trace  # FastAPI's own dependency where it traces

    traced = LaunchpadApp(telemetry={"tracer_provider": trace.NoOpTracerProvider()})
    assert not traced.fast_deploy.takes(SCOPE)
