"""`POST /webhooks/git`: a signed push from GitHub, GitLab or Gitea/Forgejo triggers a sync.

The signature is checked over the raw body with a constant-time compare before anything
else; a delivery id seen before is acknowledged and ignored; only pushes to the configured
branch count. Answers 202 at once: the sync runs in the background.
"""

import hashlib
import hmac
import json

from fastapi import APIRouter, Request

from functions.errors import ApiError
from functions.models import Accepted
from functions.security import ServicesDep
from functions.services import Services

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def verify(secret: str, headers: dict[str, str], body: bytes) -> tuple[str, str | None]:
    """(provider, delivery id) for a correctly signed delivery; ApiError 401 otherwise."""
    expected = _hmac(secret, body)
    if (signature := headers.get("x-hub-signature-256")) and _same(signature, f"sha256={expected}"):
        return "github", headers.get("x-github-delivery")
    if (token := headers.get("x-gitlab-token")) and _same(token, secret):
        return "gitlab", headers.get("x-gitlab-event-uuid") or headers.get("idempotency-key")
    gitea = headers.get("x-gitea-signature") or headers.get("x-forgejo-signature")
    if gitea and _same(gitea, expected):
        return "gitea", headers.get("x-gitea-delivery") or headers.get("x-forgejo-delivery")
    raise ApiError(401, "invalid_signature", "missing or invalid webhook signature")


async def dispatch(svc: Services, trigger: str) -> str:
    """Start the sync in the background (on Lambda: an asynchronous invoke, see functions.handler)."""
    from functions.routes.sync import start_sync

    return "started" if await start_sync(svc, trigger) else "queued"


@router.post("/git", response_model=Accepted, status_code=202)
async def git_webhook(request: Request, svc: ServicesDep) -> Accepted:
    secret = svc.config.webhook.secret
    if secret is None:
        raise ApiError(404, "not_found", "webhooks are disabled (no webhook secret configured)")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    provider, delivery = verify(secret.get_secret_value(), headers, body)
    if delivery and not svc.store.remember_delivery(f"{provider}:{delivery}"):
        return Accepted(status="duplicate delivery ignored", id=delivery)
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise ApiError(422, "invalid_payload", "the delivery is not JSON") from None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if ref != f"refs/heads/{svc.config.repository.branch}":
        return Accepted(status="ignored: not the configured branch", id=delivery)
    try:
        status = await request.app.state.dispatch(svc, f"webhook: {provider}")
    except Exception:
        if delivery:  # let the forge's "redeliver" through next time
            svc.store.forget_delivery(f"{provider}:{delivery}")
        raise
    return Accepted(status=status, id=delivery)
