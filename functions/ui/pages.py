"""The dashboard's pages (GET): overview, tasks, one task, sync history, plan, login, static files.

What builds a page's content is imported by its route on first use: the API's other routes, and a
Lambda cold start, do not pay for the dashboard beyond its route declarations.
"""

import asyncio
from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from functions.errors import ApiError
from functions.routes.sync import sync_plan
from functions.routes.tasks import list_tasks
from functions.security import Caller
from functions.ui.links import Links
from functions.ui.render import page, static_response
from functions.ui.route import Page, PageRoute
from launchpad.state import call

router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)
Filter = Annotated[str | None, Query(max_length=100)]
TaskName = Annotated[str, Path(max_length=128)]

NOTICES = {  # what an action did, shown on the page it redirects to (values are escaped)
    "sync_started": "Sync {id} started.",
    "sync_queued": "A sync is running; one more will follow it.",
    "sync_requested": "Sync requested: the reconcile function runs it.",
    "deployed": "Deployed ({action}): workflow {workflow} run {run}.",
    "paused": "Schedule paused.",
    "unpaused": "Schedule unpaused.",
    "triggered": "Schedule triggered: a run starts now.",
    "cancelled": "Cancellation requested.",
    "terminated": "Workflow terminated.",
}


def notice(request: Request) -> str | None:
    template = NOTICES.get(request.query_params.get("done", ""))
    return template.format_map(defaultdict(str, request.query_params)) if template else None


def safe_next(target: str | None) -> str:
    """Only a dashboard page: never another site (`//host`, `/\\host`) after the login."""
    if target and target.startswith("/ui") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return "/ui"


@router.get("", name="overview")
async def overview_page(request: Request, who: Page, status: Filter = None, kind: Filter = None) -> Response:
    from functions.ui.overview import overview

    store = who.svc.store
    # every record: in a thread even from SQLite (thousands of records would hold the event loop)
    objects, last = await asyncio.to_thread(store.objects), await call(store, store.last_sync)
    view = overview(objects, last, Links(who.svc.config), status or None, kind or None)
    return page(
        request,
        who,
        "overview.html",
        view=view,
        status=status,
        kind=kind,
        filtered=bool(status or kind),
        notice=notice(request),
    )


@router.get("/tasks")
async def tasks_page(request: Request, who: Page) -> Response:
    tasks = await list_tasks(Caller(who.who, who.svc))
    store = who.svc.store
    records = await asyncio.to_thread(store.objects)  # every record: in a thread, as the overview
    status = {o.name: o.status for o in records if o.kind in ("schedule", "task")}
    return page(request, who, "tasks.html", tasks=tasks, status=status)


@router.get("/tasks/{name}")
async def task_page(request: Request, who: Page, name: TaskName) -> Response:
    from functions.ui.task_view import task_view

    view = await task_view(who.svc, name)
    return page(request, who, "task.html", view=view, notice=notice(request))


@router.get("/syncs")
async def syncs_page(request: Request, who: Page) -> Response:
    from functions.ui.overview import sync_view

    links = Links(who.svc.config)
    store = who.svc.store
    syncs = [sync_view(record, links) for record in await call(store, store.syncs, 50)]
    return page(request, who, "syncs.html", syncs=syncs)


@router.get("/plan")
async def plan_page(request: Request, who: Page) -> Response:
    plan = await sync_plan(Caller(who.who, who.svc))
    return page(request, who, "plan.html", plan=plan, commit_url=Links(who.svc.config).commit(plan["revision"]))


@router.get("/commit/{abbreviation}")
async def commit_redirect(
    who: Page, abbreviation: Annotated[str, Path(pattern="^[0-9a-f]{4,40}$")]
) -> RedirectResponse:
    """An overview row's revision, on the forge: the full sha of the managed object the row shows
    (a forge may not resolve an abbreviation), else the abbreviation as it is."""
    links = Links(who.svc.config)
    objects = await asyncio.to_thread(who.svc.store.objects)  # every record: in a thread, as the overview
    sha = next((o.revision for o in objects if o.revision.startswith(abbreviation)), abbreviation)
    url = links.commit(sha)
    if url is None:
        raise ApiError(404, "not_found", "no repository.web_url is configured: commits have no page")
    return RedirectResponse(url, status_code=303)


@router.get("/temporal/{kind}/{name}")
async def temporal_redirect(
    who: Page, kind: Annotated[str, Path(pattern="^(schedule|task|worker)$")], name: TaskName
) -> RedirectResponse:
    """An overview row's managed object, in the Temporal UI of its server."""
    store = who.svc.store
    found = next((o for o in await call(store, store.objects_named, [name]) if o.kind == kind), None)
    url = Links(who.svc.config).temporal(kind, found.server, found.namespace, found.temporal_id) if found else None
    if url is None:
        raise ApiError(404, "not_found", f"no {kind} {name!r} is managed, or its server has no Temporal UI")
    return RedirectResponse(url, status_code=303)


@router.get("/login")
async def login_page(
    request: Request, next_page: Annotated[str | None, Query(alias="next", max_length=2000)] = None
) -> Response:
    if request.app.state.services.users is None:
        return RedirectResponse("/ui", status_code=303)
    return page(request, None, "login.html", next=safe_next(next_page), username="")


@router.get("/static/{name}")
async def static(name: Annotated[str, Path(max_length=100)]) -> Response:
    return static_response(name)
