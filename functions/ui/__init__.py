"""The dashboard: server-rendered pages under /ui, on the API's own app (uvicorn, dev, Lambda)."""

from fastapi import APIRouter

from functions.ui import actions, pages

router = APIRouter()
router.include_router(pages.router)
router.include_router(actions.router)
