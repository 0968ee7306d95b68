"""`POST /webhooks/git`: a signed push from GitHub, GitLab or Gitea/Forgejo triggers a sync.

The signature is checked over the raw body with a constant-time compare before anything else:
a request with no signature header at all (or a wrong GitLab token) is refused before its body
is read, and the body streams into the HMAC as it arrives (up to `webhook.body_limit`). Every
provider sends a delivery id, so one is required; a delivery id seen before is acknowledged and
ignored; only pushes to the configured branch count. Syncs started by webhooks are rate-limited
per repository (`webhook.min_interval`): a push inside the interval gets one sync at its end,
and further pushes until then are coalesced into that one (it fetches after all of them).
Answers 202 at once: the sync runs in the background.
"""

import asyncio
import hashlib
import hmac
import json

from fastapi import APIRouter, Request

from functions.errors import ApiError
from functions.models import Accepted
from functions.security import ServicesDep
from functions.services import Services
from launchpad.state import call

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
PATH = "/webhooks/git"  # BodyLimit gives this path webhook.body_limit
MAX_DELIVERY_ID = 200
SIGNATURES = ("x-hub-signature-256", "x-gitlab-token", "x-gitea-signature", "x-forgejo-signature")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def verify(secret: str, headers: dict[str, str], expected: str) -> tuple[str, str | None]:
    """(provider, delivery id) for a correctly signed delivery whose body's HMAC-SHA256 (hex) is
    `expected`; ApiError 401 otherwise."""
    if (signature := headers.get("x-hub-signature-256")) and _same(signature, f"sha256={expected}"):
        return "github", headers.get("x-github-delivery")
    if (token := headers.get("x-gitlab-token")) and _same(token, secret):
        return "gitlab", headers.get("x-gitlab-event-uuid") or headers.get("idempotency-key")
    gitea = headers.get("x-gitea-signature") or headers.get("x-forgejo-signature")
    if gitea and _same(gitea, expected):
        return "gitea", headers.get("x-gitea-delivery") or headers.get("x-forgejo-delivery")
    raise ApiError(401, "invalid_signature", "missing or invalid webhook signature")


async def read_signed(request: Request, secret: str) -> tuple[str, str | None, bytes]:
    """(provider, delivery id, body) of a correctly signed delivery, the body read only once a
    signature header is there (a GitLab token is checked before), its HMAC computed as it streams."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not any(headers.get(name) for name in SIGNATURES):
        raise ApiError(401, "invalid_signature", "missing or invalid webhook signature")
    if set(filter(headers.get, SIGNATURES)) == {"x-gitlab-token"}:
        verify(secret, headers, "")  # a token, not a signature: refused before the body is read
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    body = bytearray()
    async for chunk in request.stream():
        mac.update(chunk)
        body += chunk
    provider, delivery = verify(secret, headers, mac.hexdigest())
    return provider, delivery, bytes(body)


def _later(request: Request, svc: Services, delay: float, trigger: str) -> None:
    """The sync at the end of the interval, in the background (kept referenced while it waits).
    On Lambda it runs if the container runs again by then; the scheduled reconcile covers the rest."""

    async def wait_then_dispatch() -> None:
        await asyncio.sleep(delay)
        await request.app.state.dispatch(svc, trigger, False)

    task = asyncio.get_running_loop().create_task(wait_then_dispatch())
    svc.background.add(task)
    task.add_done_callback(svc.background.discard)


PUSH_EVENT = {
    "type": "object",
    "description": "the forge's push event, as it sends it (signed); `ref` names the pushed branch",
    "properties": {"ref": {"type": "string", "example": "refs/heads/main"}},
}


@router.post(
    "/git",
    response_model=Accepted,
    status_code=202,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": PUSH_EVENT}}}},
)
async def git_webhook(request: Request, svc: ServicesDep) -> Accepted:
    """A push event from GitHub (X-Hub-Signature-256), GitLab (X-Gitlab-Token) or Gitea/Forgejo."""
    webhook = svc.config.webhook
    if webhook.secret is None:
        raise ApiError(404, "not_found", "webhooks are disabled (no webhook secret configured)")
    provider, delivery, body = await read_signed(request, webhook.secret.get_secret_value())
    if not delivery:
        raise ApiError(422, "missing_delivery_id", f"a {provider} delivery carries a delivery id header; this has none")
    if len(delivery) > MAX_DELIVERY_ID:  # forges send a uuid or a number; a store could not key a huge one
        raise ApiError(422, "invalid_delivery_id", f"a delivery id is at most {MAX_DELIVERY_ID} characters")
    store = svc.store
    if not await call(store, store.remember_delivery, f"{provider}:{delivery}"):
        return Accepted(status="duplicate delivery ignored", id=delivery)
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise ApiError(422, "invalid_payload", "the delivery is not JSON") from None
    repository = svc.config.repository
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if ref != f"refs/heads/{repository.branch}":
        return Accepted(status="ignored: not the configured branch", id=delivery)
    trigger = f"webhook: {provider}"
    slot = f"webhook:{repository.url}#{repository.branch}"
    delay = await call(store, store.reserve_slot, slot, webhook.min_interval.total_seconds())
    if delay is None:
        return Accepted(status="coalesced: a sync is due after this push", id=delivery)
    if delay > 0:
        _later(request, svc, delay, trigger)
        return Accepted(status=f"scheduled in {delay:.0f}s (webhook syncs are rate-limited)", id=delivery)
    try:
        status = (await request.app.state.dispatch(svc, trigger, False)).status
    except Exception:
        await call(store, store.forget_delivery, f"{provider}:{delivery}")  # the forge's "redeliver" gets through
        raise
    return Accepted(status=status, id=delivery)
