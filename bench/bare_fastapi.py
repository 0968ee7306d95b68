"""The route a user would write instead of launchpad: a bare FastAPI app whose one route calls
`Client.start_workflow`. bench/api_overhead.py serves it with uvicorn, as `launchpad api` serves
launchpad, and compares the two.

    python bench/bare_fastapi.py --temporal HOST:PORT --port PORT --start FILE [--no-access-log]

FILE, written by the benchmark, holds the workflow type, its input and the start options, pickled:
the options launchpad's runner passes for the benchmark's task, so both apps start identical
workflows. A user would write them as literals; they are built once, at start, either way.
"""

from __future__ import annotations

import argparse
import pickle
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel
from temporalio.client import Client


class StartRequest(BaseModel):
    workflow_id: str


class Started(BaseModel):
    workflow_id: str
    run_id: str | None


def create_app(temporal: str, workflow: str, arg: Any, options: dict[str, Any]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = await Client.connect(temporal)
        yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/start", response_model=Started)
    async def start(body: StartRequest, request: Request) -> Started:
        client: Client = request.app.state.client
        handle = await client.start_workflow(workflow, arg, **{**options, "id": body.workflow_id})
        return Started(workflow_id=handle.id, run_id=handle.result_run_id)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--temporal", required=True, help="HOST:PORT of the Temporal frontend")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--start", type=Path, required=True, help="the pickled (workflow, input, options)")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    args = parser.parse_args()
    workflow, arg, options = pickle.loads(args.start.read_bytes())
    app = create_app(args.temporal, workflow, arg, options)
    # what `launchpad api` passes to uvicorn.run: same host, log level and loop/HTTP defaults
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info", access_log=args.access_log)


if __name__ == "__main__":
    main()
