"""The Lambda handler a user would write instead of launchpad: one FastAPI route that starts a
workflow, behind Mangum. bench/cold_start.py imports it as the baseline of the cold start.

A FastAPI app declares its routes at import, and declaring a route with a body model makes
FastAPI import `pydantic.v1` (to refuse v1 models): any FastAPI handler pays that on a cold
start, so the baseline has one route, like bench/bare_fastapi.py.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel
from temporalio.client import Client


class StartRequest(BaseModel):
    workflow_id: str


class Started(BaseModel):
    workflow_id: str
    run_id: str | None


app = FastAPI()


@app.post("/start", response_model=Started)
async def start(body: StartRequest) -> Started:
    client = await Client.connect(os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"))
    handle = await client.start_workflow("Task", id=body.workflow_id, task_queue="bench-q")
    return Started(workflow_id=handle.id, run_id=handle.result_run_id)


handler = Mangum(app, lifespan="off")
