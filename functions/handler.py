"""AWS Lambda entry points: `api` (HTTP API through Mangum) and `reconcile` (scheduled or invoked).

The configuration is loaded once per container and the Temporal clients are cached by the
services object: Mangum runs every invocation on the same event loop, so warm invocations
reuse them. Nothing here calls `asyncio.run` (it would close that loop). Git, boto3 clients
and the worker machinery are imported only by the code paths that need them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import asdict
from typing import Any

from mangum import Mangum

from functions.app import create_app
from functions.routes.sync import Dispatched
from functions.services import Services
from functions.serving import public_refusal
from launchpad.config import Config, load_config
from launchpad.observability.logs import FORMAT_ENV, LogFormat, chosen_format, setup_logging
from launchpad.state import RunStatus

log = logging.getLogger(__name__)
RECONCILE_FUNCTION_ENV = "LAUNCHPAD_RECONCILE_FUNCTION"
MARGIN_MS = 1000  # of an invocation's time left, kept when waiting for notifications

_services: Services | None = None
_api: Mangum | None = None


def services() -> Services:
    """The container's services, built on first use (once per cold start): logs as JSON lines
    unless LAUNCHPAD_LOG_FORMAT says text, metrics as CloudWatch EMF lines."""
    global _services
    if _services is None:
        setup_logging(chosen_format(os.environ.get(FORMAT_ENV) or LogFormat.JSON))
        config: Config = load_config()
        _services = Services.from_config(config, emf=True)
    return _services


def finish(svc: Services, context: Any) -> None:
    """Before the invocation returns (the container freezes after): deliver what notifications
    are under way within the time left, then write the invocation's metrics (one flush)."""
    signals = svc.signals
    if signals.outbox.pending:
        budget = signals.budget
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            budget = min(budget, max(0.0, (remaining() - MARGIN_MS) / 1000))
        loop().run_until_complete(signals.outbox.drain(budget))
    if signals.emf is not None:
        signals.emf.flush()


def loop() -> asyncio.AbstractEventLoop:
    """The one event loop Mangum uses too, so clients cached on it stay valid."""
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        new = asyncio.new_event_loop()
        asyncio.set_event_loop(new)
        return new


async def lambda_dispatch(svc: Services, trigger: str, hard: bool) -> Dispatched:
    """On Lambda a background task would freeze with the container: hand the sync to the
    reconcile function (asynchronous invoke) when one is configured, else run it inline."""
    function = os.environ.get(RECONCILE_FUNCTION_ENV)
    if function:
        import boto3

        payload = json.dumps({"trigger": trigger, "hard": hard}).encode()
        await asyncio.to_thread(
            boto3.client("lambda").invoke, FunctionName=function, InvocationType="Event", Payload=payload
        )
        return Dispatched("dispatched")
    result = await svc.reconciler.sync(trigger, hard=hard)
    if result.status == RunStatus.ALREADY_RUNNING:
        return Dispatched("queued")
    return Dispatched("synced" if result.status == RunStatus.SUCCEEDED else str(result.status), result.id or None)


def api(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _api
    svc = services()
    why = public_refusal(svc.config)
    if why:  # API Gateway serves anyone: never an open API, nor one with the dev defaults
        log.error("refusing to serve the API: %s", why)
        body = {"error": "refused_open_api", "message": f"launchpad refuses to serve this API: {why}"}
        return {"statusCode": 503, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
    if _api is None:
        _api = Mangum(create_app(svc.config, svc, dispatch=lambda_dispatch), lifespan="off")
    loop()
    try:
        return _api(event, context)
    finally:
        finish(svc, context)


def reconcile(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """One sync; returns its summary (the scheduled rule's event or an invoke payload)."""
    scheduled = (event or {}).get("source") == "aws.events"
    trigger = (event or {}).get("trigger") or ("schedule" if scheduled else "invoke")
    hard = bool((event or {}).get("hard"))
    svc = services()
    try:
        result = loop().run_until_complete(svc.reconciler.sync(str(trigger), hard=hard, poll=scheduled))
        if result.id and svc.signals.emf is not None:  # a sync ran: the managed set may have changed
            from reconciler.observer import measure_state

            loop().run_until_complete(measure_state(svc.store, svc.signals.metrics))
    finally:
        finish(svc, context)
    summary = {
        "id": result.id,
        "status": str(result.status),
        "revision": result.revision,
        "writes": sum(run.writes for run in result.runs),
        "errors": [asdict(e) for e in result.errors],
        "message": result.message,
        "drift_scan": result.drift_scan,
    }
    log.info("reconcile %s", json.dumps(summary, default=str))
    return summary
