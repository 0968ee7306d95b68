"""Every error is JSON `{error, message, details?}` with a stable code; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from temporalio.service import RPCError, RPCStatusCode

from launchpad.errors import LaunchpadError, SpecErrors, format_path

log = logging.getLogger(__name__)

STATUS = {"invalid": 422, "not_found": 404, "conflict": 409, "unavailable": 503, "upstream": 502}  # by error kind
RPC_STATUS = {
    RPCStatusCode.NOT_FOUND: (404, "not_found"),
    RPCStatusCode.ALREADY_EXISTS: (409, "already_exists"),
    RPCStatusCode.INVALID_ARGUMENT: (422, "invalid_argument"),
    RPCStatusCode.FAILED_PRECONDITION: (409, "failed_precondition"),
    RPCStatusCode.PERMISSION_DENIED: (403, "forbidden"),
    RPCStatusCode.UNAVAILABLE: (503, "temporal_unavailable"),
    RPCStatusCode.DEADLINE_EXCEEDED: (503, "temporal_unavailable"),
}


class ApiError(Exception):
    """An error a route raises on purpose."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        self.status, self.code, self.message, self.details = status, code, message, details
        super().__init__(message)


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    if status == 503:
        headers = {**(headers or {}), "Retry-After": "5"}
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(body, status_code=status, headers=headers)


class Problem(NamedTuple):
    status: int
    code: str
    message: str
    details: Any = None


def problem(exc: ApiError | LaunchpadError | RPCError) -> Problem:
    """What an error a route lets through means for the caller: the API answers it as JSON, the
    dashboard as a page or beside its form."""
    if isinstance(exc, ApiError):
        return Problem(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, SpecErrors):
        message = "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
        return Problem(422, "invalid_spec", message, [e.as_dict() for e in exc.errors])
    if isinstance(exc, LaunchpadError):
        return Problem(STATUS.get(exc.kind, 400), exc.code, str(exc), exc.details())
    status, code = RPC_STATUS.get(exc.status, (502, "temporal_error"))
    return Problem(status, code, exc.message)


def install(app: FastAPI) -> None:
    async def answer(_: Request, exc: ApiError | LaunchpadError | RPCError) -> JSONResponse:
        return error_response(*problem(exc))

    for kind in (ApiError, LaunchpadError, RPCError):
        app.exception_handler(kind)(answer)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"path": format_path([p for p in e["loc"] if p not in ("body", "query", "path")]), "message": e["msg"]}
            for e in exc.errors()
        ]
        return error_response(422, "validation_error", "the request is invalid", details)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "body_too_large",
        }.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; see the server log")
