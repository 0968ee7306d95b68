"""The dashboard's pure parts: CSRF tokens, redirects after login, links, rows, the deploy form."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from functions.app import create_app
from functions.ui.deploy_form import DeployForm, form_for, leaf_paths, submitted, template_variables
from functions.ui.links import Links, object_page
from functions.ui.overview import overview, row
from functions.ui.pages import safe_next
from functions.ui.session import csrf_token, mask, unmask
from launchpad.config import parse_config
from launchpad.errors import SpecErrors
from launchpad.state.store import AppliedObject

CONFIG = """
temporalio:
  servers:
    - {name: local, ip: 127.0.0.1, gui_port: 8233}
    - {name: prod, ip: temporal.internal, ui: "https://temporal.example.com/"}
repository: {url: ., web_url: "https://git.example.com/org/repo/commit/{sha}"}
"""


def links(text: str = CONFIG) -> Links:
    return Links(parse_config(text, "c.yaml", env={}))


def test_csrf_token_is_masked_anew_each_time_and_unmasks_to_the_token() -> None:
    token = csrf_token("secret", "jti-1")
    first, second = mask(token), mask(token)
    assert first != second and token not in first
    assert unmask(first) == unmask(second) == token
    assert csrf_token("secret", "jti-2") != token and csrf_token("other", "jti-1") != token
    for bad in ("", "zz", token, first[:-2], "00" * 63):
        assert unmask(bad) != token


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/ui/tasks/x?y=1", "/ui/tasks/x?y=1"),
        ("//evil.example/ui", "/ui"),
        ("https://evil.example/ui", "/ui"),
        ("/ui\\..\\evil", "/ui"),
        ("/docs", "/ui"),
        (None, "/ui"),
    ],
)
def test_after_login_only_a_dashboard_page(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def test_links_per_server_and_commit_template() -> None:
    made = links()
    assert (
        made.temporal("schedule", "local", "default", "s 1")
        == "http://127.0.0.1:8233/namespaces/default/schedules/s%201"
    )
    assert made.temporal("task", None, "ns", "wf") == "http://127.0.0.1:8233/namespaces/ns/workflows/wf"
    assert (
        made.temporal("worker", "prod", "default", "q")
        == "https://temporal.example.com/namespaces/default/task-queues/q"
    )
    assert made.temporal("schedule", "gone", "default", "s") is None  # a server no longer configured
    assert made.commit("abc") == "https://git.example.com/org/repo/commit/abc"
    base = links(CONFIG.replace("/commit/{sha}", ""))
    assert base.commit("abc") == "https://git.example.com/org/repo/commit/abc"
    assert object_page("schedule", "a b") == "/ui/tasks/a%20b" and object_page("worker", "w") is None


@pytest.mark.parametrize("address", ["javascript:alert(1)", "/relative", "ftp://x"])
def test_web_addresses_must_be_http(address: str) -> None:
    with pytest.raises(SpecErrors):
        parse_config(f"repository: {{web_url: '{address}'}}", "c.yaml", env={})
    with pytest.raises(SpecErrors):
        parse_config(f"temporalio: {{servers: [{{name: a, ui: '{address}'}}]}}", "c.yaml", env={})


def obj(
    name: str, status: str = "Synced", reason: str = "in sync", kind: str = "schedule", revision: str = "a" * 40
) -> AppliedObject:
    return AppliedObject(
        kind, name, f"deployments/tasks/{name}.yaml", revision, "h", "", "local", "default", name, None, status, reason
    )


def test_rows_escape_every_value_and_keep_unknown_statuses() -> None:
    html = row(obj("x", status='Missing" onmouseover="alert(1)', reason="<script>alert(1)</script>"), links())
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'onmouseover="' not in html and "Missing&#34; onmouseover=&#34;alert(1)" in html
    view = overview([obj("a"), obj("b", "Missing"), obj("c", kind="task")], None, links(), "Missing", None)
    assert (view.shown, view.total, view.statuses) == (1, 3, ["Missing", "Synced"])
    assert ">b</a>" in view.rows and ">a</a>" not in view.rows
    assert overview([obj("a"), obj("c", kind="task")], None, links(), None, "task").shown == 1


TEMPLATE = {
    "name": "t",
    "template": True,
    "workflow": {
        "workflow_id": "greet-{{ who | lower }}",
        "execution_timeout": "{{ timeout | default('5m') }}",
        "args": ["{{ who }}", 2],
    },
}


def test_deploy_form_fields() -> None:
    assert template_variables(TEMPLATE) == ["who", "timeout"]
    assert leaf_paths(TEMPLATE) == [
        "workflow.workflow_id",
        "workflow.execution_timeout",
        "workflow.args.0",
        "workflow.args.1",
    ]
    form = form_for(TEMPLATE, template=True, overwritable=False)
    assert form.template_args == ["who", "timeout"] and form.overwrite_paths == []


def test_a_form_value_with_aliases_is_refused() -> None:
    """390 bytes of nested `&a [*b, *b, ...]` became gigabytes once a template made text of them,
    and the API stalled: a form value is YAML without aliases."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    form = DeployForm(template_args=["who"])
    with pytest.raises(SpecErrors, match="aliases"):
        submitted(form, {"arg.who": "{" + ", ".join(levels) + "}"}, "t.yaml")
    args, _ = submitted(form, {"arg.who": "{a: [x, y], b: &c plain}"}, "t.yaml")  # an anchor alone is harmless
    assert args == {"who": {"a": ["x", "y"], "b": "plain"}}


def test_submitted_values_are_yaml_and_empty_fields_are_left_out() -> None:
    form = DeployForm(template_args=["who", "timeout"])
    fields = {
        "arg.who": "Ada",
        "arg.timeout": "",
        "path.0": "workflow.args",
        "value.0": "[40, 2]",
        "path.1": "",
        "value.1": "9",
    }
    args, overwrite = submitted(form, fields, "t.yaml")
    assert args == {"who": "Ada"} and overwrite == {"workflow.args": [40, 2]}
    assert form.args == {"who": "Ada", "timeout": ""} and form.overwrites[0] == ("workflow.args", "[40, 2]")
    with pytest.raises(SpecErrors, match="not a YAML value"):
        submitted(form, {"path.0": "workflow.args", "value.0": "[unclosed"}, "t.yaml")


def app_with_login(tmp_path: Any, more: str = "") -> Any:
    """The app with one user (and `more` configuration): its pages need no Temporal and no git."""
    config = parse_config(
        f"""
state: {{path: "{tmp_path}/state.db"}}
app: {{secret: unit-secret-0123456789abcdef0123}}
authenticator: {{base_users: [{{username: ada, password: right-password}}]}}
{more}""",
        "c.yaml",
        env={},
    )
    return create_app(config)


async def test_login_form_throttles_and_refuses_other_sites(tmp_path: Any) -> None:
    """The form goes through the API's login: same answers, same throttling."""
    app = app_with_login(tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.get("/ui")).headers["location"] == "/ui/login?next=%2Fui"
        form = {"username": "ada", "password": "right-password", "next": "/ui/syncs"}
        other = await http.post("/ui/login", data=form, headers={"sec-fetch-site": "cross-site"})
        assert other.status_code == 403 and "launchpad_session" not in other.headers.get("set-cookie", "")
        ok = await http.post("/ui/login", data=form)
        assert ok.status_code == 303 and ok.headers["location"] == "/ui/syncs"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie and "Secure" not in cookie
        http.cookies.clear()
        answers = [(await http.post("/ui/login", data={**form, "password": "wrong"})).status_code for _ in range(6)]
        assert answers == [401] * 5 + [429]
        throttled = await http.post("/ui/login", data=form)
        assert throttled.status_code == 429 and "too many failed logins" in throttled.text


async def test_session_cookie_is_secure_over_https(tmp_path: Any) -> None:
    transport = httpx.ASGITransport(app=app_with_login(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
        ok = await http.post("/ui/login", data={"username": "ada", "password": "right-password"})
        assert ok.status_code == 303 and "Secure" in ok.headers["set-cookie"]


async def test_rows_link_through_the_dashboard_to_the_commit_and_the_temporal_ui(tmp_path: Any) -> None:
    """A row's links are short (a thousand rows stay under 300 KB) and redirect to the forge's page
    of the full sha and to the object's page in the Temporal UI of its server."""
    app = app_with_login(tmp_path, CONFIG)
    sha = "0123456789ab" + "c" * 28
    worker = obj("orders", kind="worker")
    worker.server, worker.temporal_id = "prod", "orders-queue"
    app.state.services.store.put_objects([obj("nightly", revision=sha), worker])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        await http.post("/ui/login", data={"username": "ada", "password": "right-password"})
        overview = (await http.get("/ui")).text
        assert '<a href="/ui/commit/0123456789ab">0123456789ab</a>' in overview
        assert '<a href="/ui/temporal/schedule/nightly">open</a>' in overview
        redirects = {
            "/ui/commit/0123456789ab": f"https://git.example.com/org/repo/commit/{sha}",
            "/ui/commit/fedcba987654": "https://git.example.com/org/repo/commit/fedcba987654",  # no object at it now
            "/ui/temporal/schedule/nightly": "http://127.0.0.1:8233/namespaces/default/schedules/nightly",
            "/ui/temporal/worker/orders": "https://temporal.example.com/namespaces/default/task-queues/orders-queue",
        }
        for link, target in redirects.items():
            answer = await http.get(link)
            assert (answer.status_code, answer.headers["location"]) == (303, target), link
        for unknown in ("/ui/temporal/task/nightly", "/ui/temporal/schedule/gone"):
            assert (await http.get(unknown)).status_code == 404
        assert (await http.get("/ui/commit/not-a-sha")).status_code == 422
