"""The dashboard under test: the real app served by uvicorn on a free port, a real git
repository, the session's Temporal dev server, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from functions.app import create_app
from functions.services import Services
from launchpad.config import Config
from launchpad.devserver import free_port
from launchpad.state.sqlite import SqliteStateStore
from reconciler.sync import SyncResult
from tests.apiharness import ADMIN, api_config
from tests.conftest import Engine
from tests.gitrepo import GitRepo
from tests.helpers import eventually

CHROMIUM = os.environ.get("LAUNCHPAD_CHROMIUM", "/usr/bin/chromium")
# without the background-networking flags Chromium's own outgoing connections are refused here
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[1]
WEB_URL = "https://git.example.test/platform/workflows/commit/{sha}"
SCREENSHOTS = ROOT / "docs" / "img"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `bash scripts/bootstrap` as root (it installs Debian's chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Dashboard:
    """A served app and what the tests check it against."""

    url: str
    services: Services
    repo: GitRepo
    engine: Engine
    browser: Browser
    prefix: str  # unique per test: workflow and schedule ids never collide on the shared server
    contexts: list[BrowserContext]

    async def page(self) -> Page:
        """A fresh browser profile (its own cookies), with every dialog recorded on the page."""
        context = await self.browser.new_context(viewport={"width": 1280, "height": 800})
        self.contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        return page

    async def login(self, who: tuple[str, str] = ADMIN, target: str = "/ui") -> Page:
        page = await self.page()
        await page.goto(self.url + target)
        await page.get_by_label("Username").fill(who[0])
        await page.get_by_label("Password").fill(who[1])
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(f"{self.url}{target}*")
        return page

    async def sync(self) -> SyncResult:
        return await self.services.reconciler.sync("test")

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        for path, text in files.items():
            if text is None:
                self.repo.delete(path)
            else:
                self.repo.write(path, text)
        return self.repo.commit(message)


async def screenshot(page: Page, name: str, tmp: Path) -> Path:
    """Into docs/img/ when LAUNCHPAD_SCREENSHOTS=1 (how the README's pictures are refreshed),
    else beside the test's files: either way a real capture of what the browser shows."""
    folder = SCREENSHOTS if os.environ.get("LAUNCHPAD_SCREENSHOTS") == "1" else tmp
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, "an empty screenshot"
    return path


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """uvicorn on a free loopback port, in this event loop (beside the tests' Temporal workers)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, 5, "uvicorn starting", interval=0.01)
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
async def dashboard(tmp_path: Path, engine: Engine, browser: Browser) -> AsyncIterator[Callable[..., Any]]:
    """`await dashboard(files, open=False, examples=False)`: a repository holding `files`
    (and, with `examples`, this project's deployments/), committed and pushed, and the app on it."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    contexts: list[BrowserContext] = []

    async def make(files: dict[str, str] | None = None, open: bool = False, examples: bool = False) -> Dashboard:
        root = tmp_path / f"dash{len(servers)}"
        root.mkdir()
        repo = GitRepo(root)
        if examples:
            shutil.copytree(ROOT / "deployments", repo.work / "deployments")
        for path, text in (files or {}).items():
            repo.write(path, text)
        repo.commit("initial")
        config = configure(api_config(engine, root, repo), engine, open, examples)
        services = Services.from_config(config, SqliteStateStore(str(root / "state.db")), engine.connections)
        server, task, url = await serve(create_app(config, services))
        servers.append((server, task))
        return Dashboard(url, services, repo, engine, browser, f"ui{uuid.uuid4().hex[:6]}", contexts)

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()
        for server, task in servers:
            server.should_exit = True
            await task


def configure(config: Config, engine: Engine, open: bool, examples: bool) -> Config:
    """The API harness's configuration, plus what the dashboard shows: the dev server's UI
    address, commit links, and the examples' code when the repository holds them."""
    config.temporalio.servers[0].gui_port = engine.server.ui_port
    config.repository.web_url = WEB_URL
    if open:
        config.authenticator = None
    if examples:
        modules = config.watcher.modules
        modules["activities"].basepaths = ["deployments/temporal/activities.py"]
        modules["workflows"].basepaths = ["deployments/temporal/workflows.py"]
        modules["runners"].basepaths = ["deployments/temporal/runners.py"]
    return config
