"""The FastAPI app factory: one app for uvicorn and for Lambda (through Mangum)."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from functions import errors, ui
from functions.access_log import AccessLog
from functions.body_limit import BodyLimit
from functions.routes import auth, health, metrics, servers, sync, tasks, temporal, users, webhooks
from functions.routes.sync import Dispatch
from functions.services import Services
from launchpad import __version__
from launchpad.config import Config

log = logging.getLogger(__name__)


def create_app(
    config: Config,
    services: Services | None = None,
    dispatch: Dispatch | None = None,
    *,
    access_log: bool = True,
) -> FastAPI:
    """`dispatch` decides how a sync that a request asks for runs (in process by default; Lambda
    invokes the reconcile function).
    `access_log`: a log line per request (request ids and HTTP metrics are always on)."""
    app = FastAPI(
        title="launchpad",
        version=__version__,
        description="Declarative, GitOps front end for Temporal: deploy tasks, control schedules, sync from git.",
        swagger_ui_init_oauth={"usePkceWithAuthorizationCodeGrant": False},
    )
    app.state.services = services or Services.from_config(config)
    app.state.dispatch = dispatch or sync.in_process
    errors.install(app)
    app.add_middleware(BodyLimit, limit=config.api.body_limit, limits={webhooks.PATH: config.webhook.body_limit})
    for router in (
        auth.router,
        tasks.router,
        temporal.workflows,
        temporal.schedules,
        servers.router,
        sync.router,
        webhooks.router,
        health.router,
        users.router,
        metrics.router,
        ui.router,
    ):
        app.include_router(router)
    app.add_middleware(AccessLog, metrics=app.state.services.signals.metrics, access_log=access_log)
    if app.state.services.users is None:
        log.warning("no authenticator configured: the API is OPEN to anyone who can reach it")
    return app
