"""Health: no auth, for load balancers and probes."""

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from functions.errors import error_response
from functions.models import Health
from functions.security import ServicesDep

router = APIRouter(tags=["health"])
_TIMEOUT = timedelta(seconds=3)


@router.get("/health", response_model=Health, responses={503: {"description": "Temporal unreachable"}})
async def get_health(svc: ServicesDep) -> Health | JSONResponse:
    """200 when the default Temporal server answers, 503 otherwise."""
    server, namespace = svc.config.temporalio.resolve()
    try:
        client = await svc.connections.client(server.name, namespace)
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=_TIMEOUT)
    except Exception as exc:
        svc.connections.forget_all()
        return error_response(503, "temporal_unavailable", f"{server.name} at {server.address}: {type(exc).__name__}")
    return Health(status="ok", server=server.name, address=server.address)
