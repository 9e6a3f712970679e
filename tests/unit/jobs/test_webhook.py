"""The push receiver: a secret per job; an unknown secret changes nothing; a push makes the job
due at once, to be confirmed by a get-job call."""

from __future__ import annotations

import httpx

from bot.jobs.webhook import WebhookReceiver
from bot.ops.metrics import Metrics
from bot.ops.server import HttpServer
from bot.pika.local.app import LocalPika
from bot.storage import Status
from tests.helpers.requests import fox
from tests.unit.conftest import ORIGIN, Stack

SECRET = "aSecretOnlyThisBotKnows_0123456"

SECRET = "aSecretOnlyThisBotKnows_0123456"


async def nothing_to_check() -> dict[str, str]:
    return {}


async def test_a_push_makes_its_job_due_and_an_unknown_secret_changes_nothing(
    stack: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    job = await stack.store.update(
        job.id, status=Status.RUNNING, webhook_secret=SECRET, next_poll_at=stack.clock.now + 60
    )
    server = HttpServer("127.0.0.1", 0, metrics=Metrics(), ready_checks=nothing_to_check, push=True)
    server.webhook = WebhookReceiver(stack.store, stack.tracker).push
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            unknown = await http.post("/pika/webhook/guess", json={"job": {"status": "finished"}})
            assert unknown.status_code == 404
            assert (await stack.store.get(job.id)).next_poll_at == stack.clock.now + 60  # type: ignore[union-attr]
            known = await http.post(f"/pika/webhook/{SECRET}", json={"anything": "at all"})
            assert known.status_code == 200
    finally:
        await server.stop()
    due = await stack.store.get(job.id)
    assert due is not None and due.next_poll_at == stack.clock.now and due.status is Status.RUNNING
