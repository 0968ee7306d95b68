"""Every error is JSON `{error, message, details?}` with a stable code; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from temporalio.service import RPCError, RPCStatusCode

from launchpad.errors import LaunchpadError, SpecErrors, TemporalUnavailable, UnknownTarget, format_path
from launchpad.registry import ComponentError
from launchpad.temporal.runners import AlreadyRunning, NotManaged
from reconciler.deploy import TaskNotFound
from reconciler.source import SourceError, UnknownRevision

log = logging.getLogger(__name__)

STATUS: dict[type[LaunchpadError], int] = {
    SpecErrors: 422,
    UnknownTarget: 404,
    TaskNotFound: 404,
    ComponentError: 422,
    AlreadyRunning: 409,
    NotManaged: 409,
    TemporalUnavailable: 503,
    UnknownRevision: 422,  # before SourceError: the first match wins
    SourceError: 502,
}
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


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(SpecErrors)
    async def spec_errors(_: Request, exc: SpecErrors) -> JSONResponse:
        details = [e.as_dict() for e in exc.errors]
        message = "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
        return error_response(422, "invalid_spec", message, details)

    @app.exception_handler(LaunchpadError)
    async def launchpad_error(_: Request, exc: LaunchpadError) -> JSONResponse:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        details = {"workflow_id": exc.workflow_id} if isinstance(exc, AlreadyRunning) else None
        return error_response(status, exc.code, str(exc), details)

    @app.exception_handler(RPCError)
    async def rpc_error(_: Request, exc: RPCError) -> JSONResponse:
        status, code = RPC_STATUS.get(exc.status, (502, "temporal_error"))
        return error_response(status, code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"path": format_path([p for p in e["loc"] if p not in ("body", "query", "path")]), "message": e["msg"]}
            for e in exc.errors()
        ]
        return error_response(422, "validation_error", "the request is invalid", details)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; see the server log")
