"""Request and response models of the API (what /openapi.json documents)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from launchpad.config import MAX_USERNAME, AuthLevel
from launchpad.spec.base import empty_dict, empty_list
from launchpad.state.records import FileError, Outcome

MAX_RETENTION = 100 * 365 * 86400  # seconds; far beyond what Temporal keeps, far below timedelta's limit


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Credentials(Body):
    username: str
    password: str


class TaskSummary(BaseModel):
    name: str
    path: str
    runner: str | None = None
    workflow: str | None = None
    server: str | None = None
    namespace: str | None = None
    template: bool = False
    overwritable: bool = False
    overwrite_paths: list[str] = empty_list()  # what a deploy may overwrite: these paths and what is under them
    deploy_on_server_start: bool = False


class TaskDetail(TaskSummary):
    revision: str
    spec: dict[str, Any] = Field(description="the file after env injection; injected values are redacted")


class TaskVersion(BaseModel):
    revision: str
    author: str
    date: datetime
    message: str


class DeployRequest(Body):
    overwrite: dict[str, Any] | None = None
    template_args: dict[str, Any] | None = None
    ref: str | None = Field(default=None, max_length=200)


class TaskWrite(Body):
    content: str = Field(description="the task file's YAML text", max_length=1_000_000)
    message: str | None = Field(default=None, max_length=1000)


class CommitResponse(BaseModel):
    task: str
    revision: str
    sync_id: str | None = None
    sync_status: str | None = None


class SignalRequest(Body):
    args: list[Any] = empty_list()


class Accepted(BaseModel):
    status: str
    id: str | None = None


class WorkflowInfo(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    task_queue: str
    start_time: datetime | None = None
    close_time: datetime | None = None
    memo: dict[str, Any] = empty_dict()
    query_status: dict[str, Any] | None = Field(default=None, description="the `status` query of built-in workflows")


class ScheduleInfo(BaseModel):
    schedule_id: str
    workflow_type: str | None = None
    paused: bool = False
    note: str | None = None
    managed_by: str | None = Field(default=None, description="the launchpad task that owns it")
    next_action_times: list[datetime] = empty_list()


class NamespaceInfo(BaseModel):
    name: str
    retention_seconds: float | None = None
    default: bool = False


class ServerInfo(BaseModel):
    name: str
    address: str
    ui_url: str | None
    default: bool
    namespaces: list[NamespaceInfo]


class NamespaceRequest(Body):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")
    retention: float = Field(default=259200, gt=0, le=MAX_RETENTION, description="seconds (at most 100 years)")


class NamespaceResponse(BaseModel):
    server: str
    namespace: str
    action: str
    retention_seconds: float


class WorkerInfo(BaseModel):
    name: str
    task_queue: str
    server: str
    namespace: str
    workflows: list[str]
    activities: list[str]
    pollers: int | None = Field(default=None, description="workers polling the task queue now")


class SyncRequest(Body):
    hard: bool = Field(default=False, description="also compare every managed object with Temporal (a drift scan)")


class ObjectStatus(BaseModel):
    kind: str
    name: str
    status: str = Field(description="Synced, OutOfSync, Degraded, Missing or Suspended")
    reason: str
    revision: str
    temporal_id: str | None = None
    server: str | None = None
    namespace: str | None = None
    path: str | None = None


class SyncSummary(BaseModel):
    id: str
    status: str = Field(description="running, succeeded, degraded, failed, refused or abandoned")
    trigger: str
    revision: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    outcomes: list[Outcome] = empty_list()
    errors: list[FileError] = empty_list()
    message: str = ""
    drift_scan: bool = False


class SyncStatus(BaseModel):
    objects: list[ObjectStatus]
    last_sync: SyncSummary | None = None
    revision: str | None = Field(default=None, description="the last revision synced")
    errors: list[FileError] = Field(default_factory=list, description="the broken files at that revision")
    drift_scan_at: datetime | None = Field(default=None, description="when Temporal was last compared in full")
    verified_at: datetime | None = Field(
        default=None, description="when every managed schedule was last described (its action and policies)"
    )
    checked_at: datetime | None = Field(default=None, description="the last poll of the repository")


class PlanResponse(BaseModel):
    revision: str
    refused: str | None = None
    drift_scan: bool = True
    items: list[dict[str, Any]]
    errors: list[FileError]


class UserInfo(BaseModel):
    username: str
    auth_level: list[str]
    max_age: int


def _user_level() -> list[AuthLevel]:
    return ["user"]


class UserCreate(Body):
    username: str = Field(min_length=1, max_length=MAX_USERNAME, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=1000)
    auth_level: list[AuthLevel] = Field(default_factory=_user_level)
    max_age: int = Field(default=600, gt=0, le=86400 * 30)


class Health(BaseModel):
    status: str
    server: str
    address: str
