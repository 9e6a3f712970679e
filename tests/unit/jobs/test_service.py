"""The paid call: written before Pika is called, sent once, and settled after a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.discord.texts import failure_reason
from bot.jobs.service import JobService
from bot.pika.client import PikaClient
from bot.pika.local.app import LocalPika
from bot.storage import Status
from tests.helpers.requests import fox
from tests.unit.conftest import ORIGIN, Stack, calls, make_stack


async def test_a_job_is_written_before_pika_is_called(stack: Stack, local: LocalPika) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    assert job.status is Status.SUBMITTING
    assert calls(local) == []
    sent = await stack.service.send(job.id)
    assert sent.status is Status.RUNNING and sent.pika_job_id
    again = await stack.service.send(job.id)  # a second send does nothing
    assert again.pika_job_id == sent.pika_job_id
    assert calls(local) == ["/web/generate"]


async def test_an_unknown_kind_is_refused_before_anything_is_written(stack: Stack) -> None:
    with pytest.raises(ValueError, match="unknown job kind 'teleport'"):
        await stack.service.create("teleport", fox(), ORIGIN)
    assert await stack.store.recent_for_user(ORIGIN.guild_id, ORIGIN.user_id) == []


async def test_a_job_in_flight_at_a_crash_is_failed_and_never_resent(
    stack: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    await stack.store.update(job.id, status=Status.SENDING, active=0)  # the crash hit mid-call
    assert await stack.service.settle_interrupted() == (0, 1)
    settled = await stack.store.get(job.id)
    assert settled is not None and settled.status is Status.FAILED
    assert "nothing is charged twice" in failure_reason(settled, "en")
    await stack.tracker.tick()
    await asyncio.sleep(0.2)
    assert stack.notifier.failures == ["failed: interrupted: "]
    assert calls(local) == []  # never paid for twice
    final = await stack.store.get(job.id)
    assert final is not None and not final.active


async def test_a_job_never_sent_before_a_crash_is_sent_after_it(
    stack: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    assert await stack.service.settle_interrupted() == (1, 0)
    await stack.tracker.tick()
    await asyncio.sleep(0.5)
    sent = await stack.store.get(job.id)
    assert sent is not None
    assert sent.status in (Status.RUNNING, Status.DELIVERING, Status.DELIVERED)
    assert calls(local) == ["/web/generate"]


async def test_an_unanswered_paid_call_fails_the_job_without_retrying(
    tmp_path: Path, local: LocalPika
) -> None:
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url):
        async with PikaClient("k", local.base_url, timeout=0.3) as pika:
            local.behaviour.latency = 1.0
            service = JobService(stack.store, pika, stack.service.settings)
            job = await service.send((await service.create("generate", fox(), ORIGIN)).id)
        assert job.status is Status.FAILED
        assert "cannot tell whether it started this video" in failure_reason(job, "en")
        assert calls(local) == ["/web/generate"]


@pytest.mark.parametrize("fault", [TypeError("no route"), RuntimeError("a bug of ours")])
async def test_an_exception_anywhere_in_the_paid_call_ends_the_job_with_a_message(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, fault: Exception
) -> None:
    async def broken(request: Any) -> Any:
        raise fault

    monkeypatch.setattr(stack.pika, "submit", broken)
    job = await stack.service.create("generate", fox(), ORIGIN)
    ended = await stack.service.send(job.id)
    assert ended.status is Status.FAILED and ended.active  # active until the member is told
    assert "went wrong on the bot's side" in failure_reason(ended, "en")
    await stack.tracker.tick()
    await asyncio.sleep(0.2)
    assert stack.notifier.failures == ["failed: internal: "]
    told = await stack.store.get(job.id)
    assert told is not None and not told.active  # never stuck in SENDING


async def test_requests_carry_a_per_job_webhook_when_push_is_on(
    tmp_path: Path, local: LocalPika
) -> None:
    push = "https://bot.example.org/"
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url, webhook_public_url=push):
        one = await stack.service.create("generate", fox(), ORIGIN)
        two = await stack.service.create("generate", fox(), ORIGIN)
        urls = [one.request["webhookOverride"], two.request["webhookOverride"]]
        assert urls[0].startswith("https://bot.example.org/pika/webhook/")
        assert urls[0] != urls[1] and one.webhook_secret and urls[0].endswith(one.webhook_secret)
        assert await stack.store.by_webhook_secret(one.webhook_secret) == one
