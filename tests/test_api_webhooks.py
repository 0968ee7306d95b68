"""`POST /webhooks/git`: signed pushes from GitHub, GitLab and Gitea trigger exactly one sync; the rest none."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx

from launchpad.state.store import SyncRecord
from tests.apiharness import ADMIN, ALICE, SECRET, WEBHOOK_SECRET, Api, api, task_text  # noqa: F401

URL = "/webhooks/git"


def push(ref: str = "refs/heads/main", **extra: Any) -> bytes:
    return json.dumps({"ref": ref, "before": "0" * 40, "after": "1" * 40, **extra}).encode()


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(body: bytes, delivery: str | None = None, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": f"sha256={signature(body, secret)}",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
    }


def gitlab(delivery: str | None = None, token: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Gitlab-Token": token,
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()),
    }


def gitea(body: bytes, delivery: str | None = None, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Gitea-Signature": signature(body, secret),
        "X-Gitea-Event": "push",
        "X-Gitea-Delivery": delivery or str(uuid.uuid4()),
    }


async def settled(api: Api) -> list[SyncRecord]:
    """The recorded syncs, newest first, once every background sync has finished."""
    for _ in range(100):
        await asyncio.wait_for(asyncio.gather(*list(api.services.background)), timeout=120)
        if not api.services.background:
            break
        await asyncio.sleep(0)
    syncs = api.services.store.syncs()
    assert all(s.finished_at is not None for s in syncs), syncs
    return syncs


async def deliver(api: Api, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await api.http.post(URL, content=body, headers=headers)


def assert_one_sync(syncs: list[SyncRecord], trigger: str, head: str) -> None:
    assert len(syncs) == 1, syncs
    assert syncs[0].trigger == trigger
    assert syncs[0].status == "succeeded", syncs[0]
    assert syncs[0].revision == head


def assert_refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code, answer.text


# --- one sync per signed push ------------------------------------------------------------------------------------


async def test_github_push_triggers_one_sync(api: Api) -> None:
    body, delivery = push(), str(uuid.uuid4())
    answer = await deliver(api, body, github(body, delivery))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "started", "id": delivery}
    assert_one_sync(await settled(api), "webhook: github", api.repo.head())


async def test_gitlab_push_triggers_one_sync(api: Api) -> None:
    body, delivery = push(object_kind="push"), str(uuid.uuid4())
    answer = await deliver(api, body, gitlab(delivery))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "started", "id": delivery}
    assert_one_sync(await settled(api), "webhook: gitlab", api.repo.head())


async def test_gitea_push_triggers_one_sync(api: Api) -> None:
    body, delivery = push(), str(uuid.uuid4())
    answer = await deliver(api, body, gitea(body, delivery))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "started", "id": delivery}
    assert_one_sync(await settled(api), "webhook: gitea", api.repo.head())


async def test_push_syncs_the_new_revision(api: Api) -> None:
    body = push()
    assert (await deliver(api, body, github(body))).status_code == 202
    first = await settled(api)
    assert api.services.store.objects() == []  # hello is deployed on demand only
    api.task("service", task_text("service", f"{api.prefix}-service") + "deploy_on_server_start: true\n")
    head = api.repo.commit("a service")
    assert (await deliver(api, body, github(body))).status_code == 202
    syncs = await settled(api)
    assert len(syncs) == 2 and syncs[1].id == first[0].id
    assert syncs[0].revision == head and syncs[0].status == "succeeded"
    applied = api.services.store.objects()
    assert [(o.kind, o.name, o.temporal_id, o.status) for o in applied] == [
        ("task", "service", f"{api.prefix}-service", "Synced")
    ]


# --- refused: no sync --------------------------------------------------------------------------------------------


async def test_bad_or_missing_signatures_are_refused(api: Api) -> None:
    body = push()
    other = push(ref="refs/heads/feature")
    forged: list[dict[str, str]] = [
        {},  # no signature at all
        {"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4())},
        github(body, secret="not-the-secret"),
        {**github(body), "X-Hub-Signature-256": f"sha256={signature(other)}"},  # another body's signature
        {**github(body), "X-Hub-Signature-256": signature(body)},  # no "sha256=" prefix
        {**github(body), "X-Hub-Signature-256": "sha256="},
        {**github(body), "X-Hub-Signature-256": f"sha1={hmac.new(WEBHOOK_SECRET.encode(), body, 'sha1').hexdigest()}"},
        {"X-Hub-Signature": f"sha1={hmac.new(WEBHOOK_SECRET.encode(), body, 'sha1').hexdigest()}"},  # legacy SHA-1
        gitlab(token="not-the-secret"),
        gitlab(token=WEBHOOK_SECRET + " "),
        gitlab(token=signature(body)),  # an HMAC is not the token
        {**gitlab(), "X-Gitlab-Token": ""},
        gitea(body, secret="not-the-secret"),
        {**gitea(body), "X-Gitea-Signature": f"sha256={signature(body)}"},
        {**gitea(body), "X-Gitea-Signature": signature(body).upper()},
        {"X-Forgejo-Signature": signature(other)},
        {"Authorization": f"Bearer {WEBHOOK_SECRET}"},
        {"X-Webhook-Secret": WEBHOOK_SECRET},
    ]
    for headers in forged:
        answer = await deliver(api, body, headers)
        assert_refused(answer, 401, "invalid_signature")
        assert answer.json()["message"]
    # a body changed after signing
    headers = github(body)
    assert_refused(await deliver(api, body + b" ", headers), 401, "invalid_signature")
    assert_refused(await deliver(api, push(ref="refs/heads/other"), headers), 401, "invalid_signature")
    assert await settled(api) == []
    # the refused deliveries left no trace: the same delivery id, correctly signed, is still accepted
    answer = await deliver(api, body, headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "started"
    assert len(await settled(api)) == 1


async def test_a_valid_api_token_is_no_webhook_signature(api: Api) -> None:
    body = push()
    answer = await api.http.post(URL, content=body, headers=await api.headers(ADMIN))
    assert_refused(answer, 401, "invalid_signature")
    assert await settled(api) == []


async def test_replayed_delivery_is_ignored(api: Api) -> None:
    body, delivery = push(), str(uuid.uuid4())
    first = await deliver(api, body, github(body, delivery))
    assert first.status_code == 202 and first.json()["status"] == "started"
    assert len(await settled(api)) == 1
    for _ in range(2):
        again = await deliver(api, body, github(body, delivery))
        assert again.status_code == 202, again.text
        assert again.json() == {"status": "duplicate delivery ignored", "id": delivery}
    # GitLab and Gitea deliveries are remembered the same way
    for headers in (gitlab(delivery="gl-1"), gitea(body, delivery="gt-1")):
        assert (await deliver(api, body, headers)).json()["status"] == "started"
        await settled(api)
        assert (await deliver(api, body, headers)).json()["status"] == "duplicate delivery ignored"
    assert len(await settled(api)) == 3


async def test_replay_while_the_first_sync_runs_is_ignored(api: Api) -> None:
    body, delivery = push(), str(uuid.uuid4())
    assert (await deliver(api, body, github(body, delivery))).json()["status"] == "started"
    again = await deliver(api, body, github(body, delivery))  # at once: the first sync has not finished
    assert again.json()["status"] == "duplicate delivery ignored"
    syncs = await settled(api)
    assert len(syncs) == 1, syncs  # and no follow-up was queued by the replay
    assert syncs[0].trigger == "webhook: github"


async def test_push_to_another_branch_is_ignored(api: Api) -> None:
    for ref in ("refs/heads/feature", "refs/heads/main-old", "refs/tags/main", "main", None):
        body = push(ref=ref)  # type: ignore[arg-type]
        answer = await deliver(api, body, github(body))
        assert answer.status_code == 202, answer.text
        assert "ignored" in answer.json()["status"]
    # a GitHub ping (no ref) and a payload that is no object
    for body in (json.dumps({"zen": "Keep it simple.", "hook_id": 1}).encode(), b"[]", b""):
        answer = await deliver(api, body, github(body))
        assert answer.status_code == 202, answer.text
        assert "ignored" in answer.json()["status"]
    assert await settled(api) == []


async def test_signed_delivery_that_is_not_json_answers_422(api: Api) -> None:
    body = b"ref=refs/heads/main"
    assert_refused(await deliver(api, body, github(body)), 422, "invalid_payload")
    assert await settled(api) == []


async def test_a_delivery_without_its_id_is_refused_for_every_provider(api: Api) -> None:
    """Every forge sends a delivery id, so a signed body without one is a replay that dropped it:
    refused (422), and no sync starts, whichever provider's headers it carries."""
    body = push()
    unnamed = {
        "github": {k: v for k, v in github(body).items() if k != "X-GitHub-Delivery"},
        "gitlab": {k: v for k, v in gitlab().items() if k != "X-Gitlab-Event-UUID"},
        "gitea": {k: v for k, v in gitea(body).items() if k != "X-Gitea-Delivery"},
        "forgejo": {"Content-Type": "application/json", "X-Forgejo-Signature": signature(body)},
    }
    for provider, headers in unnamed.items():
        answer = await deliver(api, body, headers)
        assert_refused(answer, 422, "missing_delivery_id")
        assert provider.replace("forgejo", "gitea") in answer.json()["message"], answer.text
    assert await settled(api) == []


async def test_a_huge_delivery_id_answers_422(api: Api) -> None:
    """Forges send a uuid or a number; a signed body replayed with a huge id is refused before the
    store is asked to key it (DynamoDB could not: a 500)."""
    body = push()
    assert_refused(await deliver(api, body, github(body, "d" * 5000)), 422, "invalid_delivery_id")
    assert await settled(api) == []


async def test_webhooks_are_disabled_without_a_secret(api: Api) -> None:
    api.services.config.webhook.secret = None
    body = push()
    for headers in (github(body), gitlab(), gitea(body), {}):
        assert_refused(await deliver(api, body, headers), 404, "not_found")
    # in particular a signature made with an empty secret opens nothing
    assert_refused(await deliver(api, body, github(body, secret="")), 404, "not_found")
    assert await settled(api) == []


# --- while a sync runs -------------------------------------------------------------------------------------------


async def test_push_during_a_sync_queues_exactly_one_follow_up(api: Api) -> None:
    rec = api.services.reconciler
    lease = await rec.lease()  # a sync is running: it holds the lease (as POST /sync or another replica would)
    assert lease is not None
    for _ in range(3):  # several pushes while it runs ...
        body = push()
        answer = await deliver(api, body, github(body))
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "queued"
    assert api.services.background == set()
    assert await settled(api) == []
    # ... when the running sync ends, exactly one follow-up runs
    result = await rec.sync("api: admin", lease=lease)
    assert result.status == "succeeded"
    assert [(f.status, f.message) for f in result.follow_ups] == [("succeeded", "up to date")]
    assert [s.trigger for s in await settled(api)] == ["api: admin"], (
        "a follow-up that finds nothing new leaves no record"
    )
    # and nothing is left queued: the next push starts a sync of its own
    body = push()
    assert (await deliver(api, body, github(body))).json()["status"] == "started"
    assert [s.trigger for s in await settled(api)] == ["webhook: github", "api: admin"]
