"""What a deploy did. Apart from the runners so that the API can declare it as a response model
without loading the Temporal client (users import it from `launchpad.temporal.runners`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: the answer of `POST /tasks/deploy/{name}` (its response model) and
    `launchpad deploy`. A dataclass, so that custom runners can `dataclasses.replace` it."""

    task: str
    runner: str
    server: str
    namespace: str
    action: str  # started | created | updated | unchanged | completed
    workflow_id: str | None = None
    run_id: str | None = None
    schedule_id: str | None = None
    result: Any = None
    version: str | None = None
