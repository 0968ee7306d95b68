"""How far the reconciler may go with one task: its sync policy and the fields it leaves to hand edits.

Argo CD's per-application sync policy and `ignoreDifferences`, and Flux's `suspend`, per task file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from launchpad.spec.base import StrictModel

# the schedule fields a hand edit may change without being healed: `spec.*` as a drift scan sees
# them in a listing, `policies.*` only as an update reads them (listings do not show policies)
IgnorablePath = Literal[
    "spec.calendars",
    "spec.intervals",
    "spec.skip",
    "spec.start_at",
    "spec.end_at",
    "spec.jitter",
    "spec.time_zone",
    "policies.overlap",
    "policies.catchup_window",
    "policies.pause_on_failure",
]


class SyncPolicy(StrictModel):
    """`sync:`: what the reconciler may do to this task's object; unset keys follow `reconciler:`."""

    suspend: bool = Field(
        default=False,
        description="leave the object alone: never create, update, heal or restart it (status Suspended); "
        "deleting the file still prunes it",
    )
    self_heal: bool | None = Field(
        default=None,
        description="restore hand edits and deletions of the schedule; false reports them (OutOfSync, Missing) "
        "instead; unset: reconciler.self_heal",
    )
    prune: bool | None = Field(
        default=None,
        description="delete the schedule when the file is deleted; false leaves it, reported as an orphan; "
        "unset: reconciler.prune",
    )
