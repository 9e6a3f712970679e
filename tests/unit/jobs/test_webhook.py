"""The push receiver: a secret per job; an unknown secret changes nothing; a push makes the job
due at once, to be confirmed by a get-job call."""

from __future__ import annotations

import httpx

from bot.jobs.webhook import WebhookReceiver, pika_job_id
from bot.ops.metrics import Metrics
from bot.ops.server import HttpServer
from bot.pika.local.app import LocalPika
from bot.storage import Status
from tests.unit.conftest import Stack, sent

SECRET = "aSecretOnlyThisBotKnows_0123456"


async def nothing_to_check() -> dict[str, str]:
    return {}


async def test_a_push_makes_its_job_due_and_an_unknown_secret_changes_nothing(
    stack: Stack, local: LocalPika
) -> None:
    job = await sent(stack)
    job = await stack.store.update(job.id, webhook_secret=SECRET)
    stack.tracker.follow(job)
    planned = stack.tracker._polls.when(job.id)
    assert planned is not None and planned > stack.clock.now
    server = HttpServer("127.0.0.1", 0, metrics=Metrics(), ready_checks=nothing_to_check, push=True)
    server.webhook = WebhookReceiver(stack.store, stack.tracker).push
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            unknown = await http.post("/pika/webhook/guess", json={"job": {"status": "finished"}})
            assert unknown.status_code == 404
            assert stack.tracker._polls.when(job.id) == planned
            known = await http.post(f"/pika/webhook/{SECRET}", json={"anything": "at all"})
            assert known.status_code == 200
    finally:
        await server.stop()
    assert stack.tracker._polls.when(job.id) == stack.clock.now  # polled at once
    assert (await stack.store.get(job.id)).status is Status.RUNNING  # type: ignore[union-attr]


def test_a_push_names_its_pika_job_in_the_get_job_shape_or_nothing() -> None:
    assert pika_job_id({"job": {"id": "abc"}, "videos": [{"status": "finished"}]}) == "abc"
    assert pika_job_id({"videos": {"jobId": "from-video"}}) == "from-video"
    assert pika_job_id({"anything": "at all"}) is None
    assert pika_job_id("not even an object") is None
    assert pika_job_id(None) is None
    odd_date = {"id": "abc", "createdAt": {"_seconds": 1e20}}  # no crash of the push route
    assert pika_job_id({"job": odd_date}) == "abc"
