"""The dashboard's forms (POST): log in and out, sync, deploy, schedule and workflow controls.

Each calls what the API calls (functions.login, the sync trigger, reconciler.deploy, the
Temporal handles) and answers with a redirect to a page that says what happened; a refused
deploy shows the form again, with what was typed and why.
"""

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from functions.errors import ApiError, problem
from functions.login import login
from functions.routes.sync import Dispatched
from functions.ui.pages import safe_next
from functions.ui.render import page
from functions.ui.route import PageRoute, SuperUserForm, UserForm
from functions.ui.session import clear_session, set_session
from launchpad.errors import LaunchpadError

router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)
TaskName = Annotated[str, Path(max_length=128)]
ScheduleOperation = Annotated[str, Path(pattern="^(pause|unpause|trigger)$")]
WorkflowOperation = Annotated[str, Path(pattern="^(cancel|terminate)$")]


def done(target: str, code: str, **values: str | None) -> RedirectResponse:
    query = urlencode({"done": code, **{k: v for k, v in values.items() if v}})
    return RedirectResponse(f"{target}?{query}", status_code=303)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/login")
async def login_form(request: Request) -> Response:
    svc = request.app.state.services
    if svc.users is None:
        return RedirectResponse("/ui", status_code=303)
    if request.headers.get("sec-fetch-site") == "cross-site":  # login CSRF: no session to bind a token to yet
        raise ApiError(403, "forbidden", "a login form must come from this site")
    form = await request.form()
    username, target = _field(form, "username"), safe_next(_field(form, "next"))
    client = request.client.host if request.client else "unknown"
    try:
        token, max_age = await login(svc, username, _field(form, "password"), client)
    except ApiError as exc:
        return page(request, None, "login.html", exc.status, next=target, username=username, error=exc.message)
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, token, max_age)
    return response


@router.post("/logout")
async def logout(request: Request, posted: UserForm) -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    clear_session(request, response)
    return response


@router.post("/sync")
async def sync_now(request: Request, posted: UserForm) -> Response:
    """As `POST /sync`: in this process, or on Lambda by the reconcile function."""
    who, _ = posted
    started: Dispatched = await request.app.state.dispatch(who.svc, f"ui: {who.who.sub}", False)
    if started.status == "queued":
        return done("/ui", "sync_queued")
    return done("/ui", "sync_started", id=started.sync_id) if started.sync_id else done("/ui", "sync_requested")


def _page_of(name: str) -> str:
    return f"/ui/tasks/{quote(name, safe='')}"


@router.post("/tasks/{name}/deploy")
async def deploy(request: Request, posted: UserForm, name: TaskName) -> Response:
    """Deploy the task at the head with the form's template arguments and overwrites, or the
    version a history entry names (`ref`): through reconciler.deploy, as the API does. The page
    is built only when the deploy is refused (it shows the form again, with what was typed)."""
    from functions.ui.deploy_form import DeployForm, submitted
    from functions.ui.task_view import task_form, task_view
    from reconciler.deploy import deploy_task

    who, form = posted
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    path, shown = await task_form(who.svc, name)
    typed = shown or DeployForm()
    try:
        args, overwrite = submitted(typed, fields, path)
        result = await deploy_task(
            who.svc.reconciler,
            name,
            ref=fields.get("ref") or None,
            template_args=args or None,
            overwrite=overwrite or None,
            fetch=False,
            super_user=who.who.allows("super user"),
        )
    except LaunchpadError as exc:
        status, _, message, _ = problem(exc)
        view = await task_view(who.svc, name, typed)
        return page(request, who, "task.html", status, view=view, error=f"Deploy refused: {message}")
    return done(_page_of(name), "deployed", action=result.action, workflow=result.workflow_id, run=result.run_id)


@router.post("/tasks/{name}/schedule/{operation}")
async def schedule_operation(posted: UserForm, name: TaskName, operation: ScheduleOperation) -> Response:
    """Pause, unpause or trigger the task's schedule (user level, as in the API)."""
    from functions.ui.task_view import task_handles
    from launchpad.temporal.schedules import operate

    who, _ = posted
    where = await task_handles(who.svc, name)
    if not where.schedule_id:
        raise ApiError(409, "not_a_schedule", f"task {name!r} is not a schedule")
    client = await who.svc.connections.client(where.server, where.namespace)
    done_now = await operate(client, where.schedule_id, operation, f"the launchpad dashboard by {who.who.sub}")
    return done(_page_of(name), done_now)


@router.post("/tasks/{name}/workflow/{operation}")
async def workflow_operation(posted: SuperUserForm, name: TaskName, operation: WorkflowOperation) -> Response:
    """Cancel or terminate the task's workflow (super users, as in the API)."""
    from functions.ui.task_view import task_handles

    who, _ = posted
    where = await task_handles(who.svc, name)
    client = await who.svc.connections.client(where.server, where.namespace)
    handle = client.get_workflow_handle(where.workflow_id)
    if operation == "cancel":
        await handle.cancel()
        return done(_page_of(name), "cancelled")
    await handle.terminate(f"terminated through the launchpad dashboard by {who.who.sub}")
    return done(_page_of(name), "terminated")
