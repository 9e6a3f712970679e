"""Pika's health as the bot learns it from its calls, and the re-check while it is down."""

from __future__ import annotations

import asyncio

from bot.pika.client import PikaCall
from bot.pika.health import PikaHealth, PikaState


def test_the_state_follows_the_calls_and_keeps_the_last_problem() -> None:
    now = [100.0]
    health = PikaHealth(clock=lambda: now[0])
    assert health.state is PikaState.UNKNOWN and not health.ready
    health.observe(PikaCall("/web/generate", 200, None, 0.1))
    assert health.ready and health.last_problem is None and health.since == 100
    now[0] = 110
    health.observe(PikaCall("/web/jobs/{jobId}", None, "ConnectError", 0.1))
    assert health.state is PikaState.UNREACHABLE and health.since == 110
    assert health.last_problem is not None
    assert health.last_problem.text == "no answer (ConnectError)"
    now[0] = 120
    health.observe(PikaCall("/web/jobs/{jobId}", 503, None, 0.1))
    assert health.state is PikaState.FAILING
    health.observe(PikaCall("/web/generate", 401, None, 0.1))
    assert health.state is PikaState.KEY_REFUSED
    now[0] = 130
    health.observe(PikaCall("/web/generate", 400, None, 0.1))  # a member's bad request
    assert health.ready and health.since == 130
    assert health.last_problem.text == "key refused (HTTP 401)"  # kept until a newer one
    health.observe(PikaCall("/web/generate", 429, None, 0.1))
    assert health.ready and health.last_problem.text == "rate limited (HTTP 429)"


async def test_it_checks_again_only_while_pika_is_not_ok() -> None:
    health = PikaHealth()
    checks: list[str] = []

    async def check() -> None:
        checks.append(health.state.value)
        health.observe(PikaCall("/web/jobs/{jobId}", 404, None, 0.01))  # the key check's answer

    health.observe(PikaCall("/web/jobs/{jobId}", None, "ConnectError", 0.1))
    task = asyncio.ensure_future(health.keep_checking(check, every=0.02))
    await asyncio.sleep(0.15)
    task.cancel()
    assert checks == ["unreachable"]  # once OK again, no more checks
    assert health.ready
