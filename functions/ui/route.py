"""How every dashboard route answers: a page, a redirect to the login, or an HTML error page.

Errors keep the API's status codes (functions/errors.py) but are shown as pages; a form's
mistakes are shown on the form itself by the routes.
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from temporalio.service import RPCError

from functions.errors import ApiError, problem
from functions.ui.render import page
from functions.ui.session import CSRF_FIELD, LoginRequired, Viewer, viewer
from launchpad.errors import LaunchpadError


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    return page(request, None, "error.html", status, status=status, code=code, message=message)


class PageRoute(APIRoute):
    """A route of the dashboard: errors become pages, a missing session a redirect to the login."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method != "GET":
                    target = "/ui"
                return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
            except (ApiError, LaunchpadError, RPCError) as exc:
                status, code, message, _ = problem(exc)
                return error_page(request, status, code, message)
            except RequestValidationError:  # a hand-made URL or form: a page says so, not JSON
                return error_page(request, 422, "validation_error", "the request is invalid")

        return answer


def require(who: Viewer, level: str) -> Viewer:
    if not who.allows(level):
        raise ApiError(403, "forbidden", f"this needs the {level!r} level")
    return who


class Level:
    """The viewer, if they hold the level (403 otherwise)."""

    def __init__(self, level: str) -> None:
        self.level = level

    async def __call__(self, request: Request) -> Viewer:
        return require(await viewer(request), self.level)


class Posted:
    """A state-changing form: the viewer holds the level and the form carries their CSRF token."""

    def __init__(self, level: str) -> None:
        self.level = level

    async def __call__(self, request: Request) -> tuple[Viewer, FormData]:
        who = await viewer(request)
        form = await request.form()
        who.check_csrf(form.get(CSRF_FIELD))
        return require(who, self.level), form


Page = Annotated[Viewer, Depends(Level("user"))]
UserForm = Annotated[tuple[Viewer, FormData], Depends(Posted("user"))]
SuperUserForm = Annotated[tuple[Viewer, FormData], Depends(Posted("super user"))]
