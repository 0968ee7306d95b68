"""One attempt at delivering one event to one target: an HTTP POST, or Apprise for other URLs.

Blocking I/O runs on a small thread pool of its own, so a receiver that never answers holds none
of the threads syncs use (git, the state store). An error names the failure, never the URL: a
webhook URL is a credential.
"""

from __future__ import annotations

import asyncio
import functools
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from launchpad.config import NotificationTarget
from launchpad.notify.events import Event
from launchpad.notify.payloads import LINK_LABELS, render

ANSWER_BYTES = 4096  # of a receiver's answer, kept for logs and `notify test`
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="launchpad-notify")


@dataclass(frozen=True)
class Answer:
    ok: bool
    status: int | None = None  # the HTTP status, when there was one
    body: str = ""
    error: str | None = None

    @property
    def retryable(self) -> bool:
        """No answer, a server error, 408 or 429: worth another attempt; other refusals are final."""
        return not self.ok and (self.status is None or self.status >= 500 or self.status in (408, 429))

    def __str__(self) -> str:
        head = f"HTTP {self.status}" if self.status is not None else (self.error or "failed")
        return f"{head}: {self.body.strip()}" if self.body.strip() else head


def is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(True, int(response.status), response.read(ANSWER_BYTES).decode(errors="replace"))
    except urllib.error.HTTPError as exc:
        return Answer(False, exc.code, exc.read(ANSWER_BYTES).decode(errors="replace"), f"HTTP {exc.code}")
    except urllib.error.URLError as exc:
        return Answer(False, error=f"cannot reach the receiver: {exc.reason}")
    except TimeoutError:
        return Answer(False, error=f"no answer within {timeout:g}s")
    except (OSError, ValueError) as exc:
        return Answer(False, error=f"cannot deliver: {type(exc).__name__}")


def plain_text(event: Event) -> str:
    """The message as text, for services that take a title and a body (Apprise)."""
    lines = [event.message]
    if event.file:
        lines.append(f"file: {event.file}" + (f": {event.key_path}" if event.key_path else ""))
    if event.revision:
        commit = f" ({event.commit_message.splitlines()[0]})" if event.commit_message else ""
        lines.append(f"revision: {event.revision[:12]}{commit}")
    lines += [f"{LINK_LABELS.get(name, name)}: {url}" for name, url in event.links.items()]
    return "\n".join(lines)


def apprise(url: str, event: Event) -> Answer:
    try:
        import apprise as lib
    except ImportError:
        return Answer(False, error="this URL needs Apprise: pip install 'launchpad[apprise]'")
    notifier = lib.Apprise()
    if not notifier.add(url):
        return Answer(False, error="Apprise does not understand this URL")
    if notifier.notify(body=plain_text(event), title=event.summary):
        return Answer(True, body="delivered through Apprise")
    return Answer(False, error="Apprise could not deliver it")


async def attempt(target: NotificationTarget, event: Event) -> Answer:
    """One try, bounded by the target's timeout whatever the receiver does."""
    url = target.url.get_secret_value()
    timeout = target.timeout.total_seconds()
    call: Callable[[], Answer]
    if is_http(url):
        body, headers = render(target.format, event, target.secret.get_secret_value() if target.secret else None)
        call = functools.partial(post, url, body, headers, timeout)
    else:
        call = functools.partial(apprise, url, event)
    try:
        return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(_pool, call), timeout)
    except TimeoutError:
        return Answer(False, error=f"no answer within {timeout:g}s")
