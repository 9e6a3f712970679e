"""Metrics: each family fed at its edge, labels that never carry a token or an id."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
from aiohttp import web
from prometheus_client import REGISTRY

from bot.jobs.journal import JobEvent
from bot.ops.metrics import Metrics, discord_route
from bot.pika.client import PikaCall


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_discord_routes_hide_ids_tokens_and_emoji() -> None:
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OnNlY3JldA"
    assert discord_route(f"/api/v10/interactions/123456789012345678/{token}/callback") == (
        "/interactions/{id}/{token}/callback"
    )
    assert discord_route(f"/api/v10/webhooks/1234/{token}/messages/@original") == (
        "/webhooks/{id}/{token}/messages/@original"
    )
    assert discord_route("/api/v10/channels/42/messages/43/reactions/%E2%8F%A9/@me") == (
        "/channels/{id}/messages/{id}/reactions/{emoji}/@me"
    )
    assert discord_route("/api/v10/users/@me") == "/users/@me"
    assert discord_route("/gateway") == "/gateway"
    assert discord_route("/api/v10/guilds/1/Strange%20Thing") == "/guilds/{id}/{other}"


def test_job_steps_count_by_kind_outcome_and_reason_and_time_jobs() -> None:
    metrics = Metrics()
    metrics.job_event(JobEvent("admitted", "generate", 1, "j1"))
    metrics.job_event(JobEvent("delivered", "generate", 1, "j1", "delivered", None, 42.0))
    metrics.job_event(JobEvent("ended", "extend", 1, "j2", "failed", "pika_failed", 3.0))
    metrics.job_event(JobEvent("ended", "extend", 1, "j3", "timed_out", "timed_out", 1800.0))
    metrics.job_event(JobEvent("refused", "generate", 1, reason="refusal.cooldown(seconds=5)"))
    metrics.job_event(JobEvent("taken", "generate", 1, "j1", seconds=0.2))
    ended = "pika_bot_jobs_ended_total"
    assert value(metrics, "pika_bot_jobs_admitted_total", kind="generate") == 1
    assert value(metrics, ended, kind="generate", outcome="delivered", reason="") == 1
    assert value(metrics, ended, kind="extend", outcome="failed", reason="pika_failed") == 1
    assert value(metrics, ended, kind="extend", outcome="timed_out", reason="timed_out") == 1
    refused = "pika_bot_requests_refused_total"
    assert value(metrics, refused, kind="generate", rule="refusal.cooldown") == 1
    duration = "pika_bot_job_duration_seconds_bucket"
    assert value(metrics, duration, kind="generate", outcome="delivered", le="60.0") == 1
    assert value(metrics, duration, kind="generate", outcome="delivered", le="30.0") == 0
    assert value(metrics, "pika_bot_tracker_lag_seconds_sum") == 0.2


def test_pika_calls_count_by_route_and_status_with_latency() -> None:
    metrics = Metrics()
    metrics.pika_call(PikaCall("/web/generate", 200, None, 0.3))
    metrics.pika_call(PikaCall("/web/jobs/{jobId}", 429, None, 0.01))
    metrics.pika_call(PikaCall("/web/jobs/{jobId}", None, "ConnectError", 0.01))
    metrics.pika_call(PikaCall("/web/jobs/{jobId}", None, "ReadTimeout", 30.0))
    requests = "pika_bot_pika_requests_total"
    assert value(metrics, requests, route="/web/generate", status="200") == 1
    assert value(metrics, requests, route="/web/jobs/{jobId}", status="429") == 1
    assert value(metrics, requests, route="/web/jobs/{jobId}", status="unreachable") == 1
    assert value(metrics, requests, route="/web/jobs/{jobId}", status="timeout") == 1
    seconds = "pika_bot_pika_request_duration_seconds_count"
    assert value(metrics, seconds, route="/web/jobs/{jobId}") == 3


async def test_every_discord_request_and_each_429_is_counted() -> None:
    metrics = Metrics()
    app = web.Application()
    answers = iter([429, 200])

    async def messages(request: web.Request) -> web.Response:
        return web.json_response({}, status=next(answers))

    released = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        await released.wait()
        return web.Response()

    app.router.add_post("/api/v10/channels/{cid}/messages", messages)
    app.router.add_get("/api/v10/channels/{cid}/typing", never)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v10/channels/99/messages"
    try:
        async with aiohttp.ClientSession(middlewares=[metrics.discord_middleware]) as session:
            for _ in range(2):
                async with session.post(url, json={}) as response:
                    await response.read()
            with contextlib.suppress(aiohttp.ClientError):
                await session.get("http://127.0.0.1:1/api/v10/users/@me")
            # A request the bot gives up on itself (a cap on an upload, shutdown).
            stuck = asyncio.ensure_future(session.get(url.replace("/messages", "/typing")))
            await asyncio.sleep(0.2)
            stuck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stuck
    finally:
        released.set()
        await runner.cleanup()
    requests = "pika_bot_discord_requests_total"
    route = "/channels/{id}/messages"
    assert value(metrics, requests, method="POST", route=route, status="429") == 1
    assert value(metrics, requests, method="POST", route=route, status="200") == 1
    assert value(metrics, requests, method="GET", route="/users/@me", status="unreachable") == 1
    typing = "/channels/{id}/typing"
    assert value(metrics, requests, method="GET", route=typing, status="cancelled") == 1
    assert value(metrics, "pika_bot_discord_request_duration_seconds_count", method="POST") == 2


async def test_a_blocked_event_loop_shows_as_lag() -> None:
    metrics = Metrics()
    watcher = asyncio.ensure_future(metrics.watch_event_loop(interval=0.05))
    await asyncio.sleep(0.08)
    time.sleep(0.3)  # noqa: ASYNC251 - the loop blocked, as a slow handler would block it
    await asyncio.sleep(0.1)
    watcher.cancel()
    assert value(metrics, "pika_bot_event_loop_lag_seconds_bucket", le="0.1") < value(
        metrics, "pika_bot_event_loop_lag_seconds_count"
    )


def test_the_metrics_are_on_a_registry_of_their_own() -> None:
    first, second = Metrics(), Metrics()  # would clash on the global registry
    first.jobs_admitted.labels("generate").inc()
    assert value(second, "pika_bot_jobs_admitted_total", kind="generate") == 0
    assert REGISTRY.get_sample_value("pika_bot_jobs_admitted_total", {"kind": "generate"}) is None
    text = first.render().decode()
    assert 'pika_bot_jobs_admitted_total{kind="generate"} 1.0' in text
