"""What Temporal holds now for one object, as the object page shows it (read-only calls).

An object Temporal does not have is `None`; an unreachable server is an error message on the
page, not a failed page.
"""

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from launchpad.temporal.memo import MARKER

NEXT_RUNS = 5


@dataclass(frozen=True)
class RecentAction:
    scheduled_at: datetime
    started_at: datetime
    workflow_id: str | None
    run_id: str | None


@dataclass(frozen=True)
class LiveSchedule:
    schedule_id: str
    paused: bool
    note: str
    next_runs: list[datetime]
    recent: list[RecentAction]
    version: str | None  # the task file's blob that launchpad wrote, from the marker


@dataclass(frozen=True)
class LiveWorkflow:
    workflow_id: str
    run_id: str
    status: str
    workflow_type: str
    start_time: datetime | None
    close_time: datetime | None
    version: str | None


def _version(marker: object) -> str | None:
    return str(marker.get("version")) if isinstance(marker, dict) and marker.get("version") else None


async def schedule(client: Client, schedule_id: str) -> LiveSchedule | None:
    from launchpad.temporal.schedules import action_marker, describe  # the engine: loaded by the object page only

    described = await describe(client, schedule_id)
    if described is None:
        return None
    recent = [
        RecentAction(
            r.scheduled_at,
            r.started_at,
            r.action.workflow_id if isinstance(r.action, ScheduleActionExecutionStartWorkflow) else None,
            r.action.first_execution_run_id if isinstance(r.action, ScheduleActionExecutionStartWorkflow) else None,
        )
        for r in reversed(described.info.recent_actions)
    ]
    state = described.schedule.state
    return LiveSchedule(
        schedule_id,
        state.paused,
        state.note or "",
        list(described.info.next_action_times[:NEXT_RUNS]),
        recent,
        _version(action_marker(described.schedule)),
    )


async def workflow(client: Client, workflow_id: str) -> LiveWorkflow | None:
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    memo = await described.memo()
    return LiveWorkflow(
        described.id,
        described.run_id,
        (described.status or WorkflowExecutionStatus.RUNNING).name,
        described.workflow_type,
        described.start_time,
        described.close_time,
        _version(memo.get(MARKER)),
    )
