"""Servers and namespaces from the configuration; worker specs and their pollers."""

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from functions.models import NamespaceRequest, NamespaceResponse, ServerInfo, WorkerInfo
from functions.security import SuperUser, User
from functions.services import Services
from launchpad.config import NamespaceConfig

if TYPE_CHECKING:
    from launchpad.spec.worker import WorkerSpec

router = APIRouter(tags=["servers"])


@router.get("/servers", response_model=list[ServerInfo])
async def list_servers(caller: User) -> list[dict[str, Any]]:
    config = caller.svc.config.temporalio
    default = config.server().name
    return [
        {
            "name": server.name,
            "address": server.address,
            "ui_url": server.ui_url,
            "default": server.name == default,
            "namespaces": [
                {
                    "name": name,
                    "retention_seconds": next(
                        (ns.retention.total_seconds() for ns in server.namespaces if ns.name == name), None
                    ),
                    "default": name == server.resolved_default_namespace,
                }
                for name in server.namespace_names
            ],
        }
        for server in config.servers
    ]


@router.post("/servers/{server}/namespaces", response_model=NamespaceResponse, status_code=201)
async def register_namespace(
    caller: SuperUser, body: NamespaceRequest, server: Annotated[str, Path(max_length=200)]
) -> dict[str, Any]:
    """Register a namespace with its retention (existing: retention updated when it differs)."""
    svc = caller.svc
    target = svc.config.temporalio.server(server)
    outcome = await svc.connections.ensure_namespace(
        target, NamespaceConfig(name=body.name, retention=timedelta(seconds=body.retention))
    )
    return {
        "server": outcome.server,
        "namespace": outcome.namespace,
        "action": outcome.action,
        "retention_seconds": outcome.retention.total_seconds(),
    }


@router.get("/workers", response_model=list[WorkerInfo], tags=["workers"])
async def list_workers(caller: User) -> list[dict[str, Any]]:
    """Worker files at the branch head and, per task queue, how many workers poll it now."""
    from launchpad.spec.catalog import parse_file  # with the task models: only for the routes that read files
    from reconciler.deploy import current_revision

    svc = caller.svc
    rec = svc.reconciler
    revision = await current_revision(rec)

    def read() -> list[tuple[str, "WorkerSpec"]]:  # git, in a thread
        specs = []
        for path, blob in sorted(rec.source.files(revision, [rec.config.workers_dir]).items()):
            try:
                parsed = parse_file(path, rec.source.read_blob(blob), rec.env)
            except Exception:  # broken worker files are reported by /sync/status
                continue
            if isinstance(parsed, tuple):
                specs.append(parsed)
        return specs

    specs = await asyncio.to_thread(read)
    pollers = await asyncio.gather(*(_pollers(svc, spec) for _, spec in specs))
    out = []
    for (name, spec), count in zip(specs, pollers, strict=True):
        server, namespace = svc.config.temporalio.resolve(spec.server, spec.namespace)
        out.append(
            {
                "name": name,
                "task_queue": spec.worker.task_queue,
                "server": server.name,
                "namespace": namespace,
                "workflows": spec.worker.workflows,
                "activities": spec.worker.activities,
                "pollers": count,
            }
        )
    return out


async def _pollers(svc: Services, spec: "WorkerSpec") -> int | None:
    try:
        client = await svc.connections.client(spec.server, spec.namespace)
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=spec.worker.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
    except Exception:  # an unreachable server: pollers unknown, the spec still listed
        return None
    return len(described.pollers)
