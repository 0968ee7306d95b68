"""`GET /metrics`: the Prometheus text format, unauthenticated unless `metrics.bearer_token` is set
(as Argo CD and Flux serve theirs). The gauges of the managed set are read from the state store
at each scrape, so they are right whichever process ran the last sync."""

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from functions.errors import ApiError
from functions.security import ServicesDep, bearer_token

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, svc: ServicesDep) -> Response:
    signals = svc.signals
    if signals.prometheus is None:
        raise ApiError(404, "not_found", "metrics are not served here (metrics.enabled is false, or on Lambda: EMF)")
    expected = svc.config.metrics.bearer_token
    if expected is not None:
        given = bearer_token(request.headers.get("Authorization")) or ""
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise ApiError(401, "unauthorized", "/metrics needs the configured bearer token")
    from launchpad.observability.prometheus import CONTENT_TYPE
    from reconciler.observer import measure_state

    await measure_state(svc.store, signals.metrics)
    return Response(signals.prometheus.exposition(), media_type=CONTENT_TYPE)
