"""The local Pika as a service: contract, job lifecycle, simulated faults, webhooks, restarts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.pika import errors
from bot.pika.client import PikaClient
from bot.pika.kinds import KINDS
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.local.renders import Capacity
from bot.pika.media_probe import MediaLimits
from bot.pika.models import Generate10Request, JobStatus, Options, PikaRequestModel
from tests.local_pika.conftest import MediaServer, finish

ROOT = Path(__file__).resolve().parents[2]


def fox(**fields: Any) -> Generate10Request:
    return Generate10Request(prompt_text="a fox", options=Options.default(), **fields)


async def raw(local: LocalPika, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", {"Authorization": f"Bearer {local.api_key}"})
    async with httpx.AsyncClient(base_url=local.base_url, timeout=10) as http:
        return await http.request(method, path, headers=headers, **kwargs)


async def behave(local: LocalPika, **settings: Any) -> None:
    response = await raw(local, "POST", "/_local/behaviour", json=settings)
    assert response.status_code == 200, response.text


# --- contract --------------------------------------------------------------------------------


async def test_invalid_requests_get_400_json_with_the_models_message(local: LocalPika) -> None:
    body: dict[str, Any] = {"promptText": "x", "options": Options.default().payload()}
    body["options"]["frameRate"] = 60
    response = await raw(local, "POST", "/web/generate", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["message"] == "options.frameRate: must be between 1 and 24"
    assert error["problems"] == [{"field": "options.frameRate", "rule": "must be between 1 and 24"}]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/web/generate", {"model": "1.0", "pikaffect": "Peel", "promptText": "x",
                           "options": Options.default().payload()},
         "pikaffect: only model 1.5 accepts pikaffect"),
        ("/web/adjust", {"mode": "inpainting", "video": "https://x/a.mp4",
                         "options": Options.default().payload(),
                         "area": {"x": 60, "y": 0, "width": 50, "height": 10}},
         "area.x: x + width must be at most 100 (got 60 + 50)"),
        ("/web/lipSync", {"video": "https://x/a.mp4", "speech": "https://x/a.mp3",
                          "speechStart": 0, "speechEnd": 1}, "speech: must be a .wav audio file"),
        ("/web/extend", {"video": "https://x/a.mp4"}, "options: is required"),
        ("/web/upscale", {"video": "ftp://x/a.mp4"}, "video: must be an http:// or https:// URL"),
        ("/web/jobs/upscaled", {}, "video: is required"),
    ],
)  # fmt: skip
async def test_every_route_validates_with_the_shared_models(
    local: LocalPika, path: str, body: dict[str, Any], message: str
) -> None:
    response = await raw(local, "POST", path, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


@pytest.mark.parametrize("model", [m for k in KINDS.values() for m in k.requests])
async def test_every_request_models_route_is_served(
    local: LocalPika, model: type[PikaRequestModel]
) -> None:
    response = await raw(local, "POST", model.route, json={})
    assert response.status_code == 400, model.route
    assert response.json()["error"]["message"]


async def test_non_json_body_is_a_400(local: LocalPika) -> None:
    response = await raw(local, "POST", "/web/generate", content=b"not json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The body must be JSON"


async def test_a_missing_or_wrong_key_is_401(local: LocalPika) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": local.api_key}):
        response = await raw(local, "GET", "/web/jobs/x", headers=headers)
        assert response.status_code == 401
    async with PikaClient("wrong-key", local.base_url) as client:
        with pytest.raises(errors.PikaAuthError):
            await client.generate(fox())


async def test_an_unknown_job_is_404(client: PikaClient) -> None:
    with pytest.raises(errors.PikaRejected) as caught:
        await client.get_job("no-such-job")
    assert caught.value.status == 404


async def test_create_answers_the_vendor_shape(local: LocalPika) -> None:
    response = await raw(local, "POST", "/web/generate", json=fox().payload())
    body = response.json()
    assert set(body) == {"job", "video"}
    job, video = body["job"], body["video"]
    assert job["id"] == job["pikaJobId"] == video["jobId"]
    assert job["status"] == video["status"] == "queued"
    assert job["params"]["options"]["frameRate"] == 24
    assert job["requestType"] == "generate"
    assert job["createdAt"].endswith("Z")


# --- lifecycle -------------------------------------------------------------------------------


async def test_a_job_goes_queued_pending_finished_with_rising_progress(
    local: LocalPika, client: PikaClient
) -> None:
    await behave(local, job_seconds=1.5)
    created = await client.generate(fox())
    assert created.job_id is not None
    # The create answer is the first state: a poll may come after the queued tenth under load.
    seen: list[tuple[JobStatus, int]] = [(created.state().status, created.state().progress)]
    for _ in range(100):
        state = (await client.get_job(created.job_id)).state()
        seen.append((state.status, state.progress))
        if state.status.is_final:
            break
        await asyncio.sleep(0.05)
    statuses = [s for s, _ in seen]
    assert statuses[0] is JobStatus.QUEUED
    assert JobStatus.PENDING in statuses
    assert statuses[-1] is JobStatus.FINISHED
    progress = [p for s, p in seen if s is JobStatus.PENDING]
    assert progress == sorted(progress) and progress[0] < progress[-1] < 100


async def test_fail_behaviour_ends_the_job_failed_with_a_reason(
    local: LocalPika, client: PikaClient
) -> None:
    await behave(local, fail_jobs=1)
    failed = await client.generate(fox())
    fine = await client.generate(fox())
    state = await finish(client, failed.job_id or "")
    assert state.status is JobStatus.FAILED
    assert state.reason == "The generation failed (simulated failure)"
    assert (await finish(client, fine.job_id or "")).status is JobStatus.FINISHED


async def test_delay_behaviour_goes_delayed_first(local: LocalPika, client: PikaClient) -> None:
    await behave(local, delay_jobs=1, job_seconds=1.0)
    created = await client.generate(fox())
    first = (await client.get_job(created.job_id or "")).state()
    assert first.status is JobStatus.DELAYED
    assert (await finish(client, created.job_id or "")).status is JobStatus.FINISHED


async def test_stall_behaviour_never_finishes(local: LocalPika, client: PikaClient) -> None:
    await behave(local, stall_jobs=1, job_seconds=0.2)
    created = await client.generate(fox())
    await asyncio.sleep(0.6)
    state = (await client.get_job(created.job_id or "")).state()
    assert state.status is JobStatus.PENDING


async def test_error_rate_gives_500s(local: LocalPika, client: PikaClient) -> None:
    await behave(local, error_rate=1.0)
    with pytest.raises(errors.PikaServerError, match="simulated"):
        await client.get_job("anything")
    with pytest.raises(errors.PikaServerError):
        await client.generate(fox())
    log = (await raw(local, "GET", "/_local/requests")).json()
    # Three tries of a read; eight of a paid call, since a 500 means Pika did not start the job.
    assert [r["status"] for r in log] == [500] * (3 + 8)


@pytest.mark.parametrize(
    ("switch", "status"), [("lose_answers", "lost"), ("gateway_timeouts", 504)]
)
async def test_a_create_whose_answer_is_lost_makes_its_job_all_the_same(
    local: LocalPika, client: PikaClient, switch: str, status: object
) -> None:
    await behave(local, **{switch: 1})
    with pytest.raises(errors.PikaOutcomeUnknown):
        await client.generate(fox())
    assert len(local.jobs) == 1  # Pika has the job, and will finish it (and push it)
    log = (await raw(local, "GET", "/_local/requests")).json()
    assert [r["status"] for r in log] == [status]
    created = await client.generate(fox())  # the switch is spent: the next answer arrives
    assert created.job_id in local.jobs and len(local.jobs) == 2


async def test_a_share_of_calls_can_be_rate_limited_or_failed(local: LocalPika) -> None:
    await behave(local, rate_limit_rate=0.5, error_rate=0.3, retry_after=0)
    async with httpx.AsyncClient(timeout=10) as http:
        statuses = [
            (
                await http.get(
                    f"{local.base_url}/web/jobs/none",
                    headers={"Authorization": f"Bearer {local.api_key}"},
                )
            ).status_code
            for _ in range(200)
        ]
    assert 70 < statuses.count(429) < 130
    assert 10 < statuses.count(500) < 60  # 30% of the calls that were not rate limited
    assert statuses.count(404) > 30


async def test_rate_limit_sends_429_with_retry_after(local: LocalPika) -> None:
    await behave(local, rate_limit_requests=1, retry_after=0.3)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    # A backoff below the wait asked for: the wait is what Pika said.
    async with PikaClient(local.api_key, local.base_url, sleep=sleep, backoff_base=0.01) as client:
        created = await client.generate(fox())
    assert created.job_id
    assert sleeps == [0.3]


async def test_latency_makes_answers_slow(local: LocalPika) -> None:
    await behave(local, latency=1.0)
    async with PikaClient(local.api_key, local.base_url, timeout=0.3, max_attempts=1) as client:
        with pytest.raises(errors.PikaServerError):
            await client.get_job("x")


async def test_the_request_log_shows_what_was_sent(local: LocalPika, client: PikaClient) -> None:
    await client.generate(fox())
    log = (await raw(local, "GET", "/_local/requests")).json()
    assert log == [
        {"method": "POST", "path": "/web/generate", "body": fox().payload(), "status": 200}
    ]
    await raw(local, "DELETE", "/_local/requests")
    assert (await raw(local, "GET", "/_local/requests")).json() == []


async def test_bad_behaviour_settings_are_refused(local: LocalPika) -> None:
    response = await raw(local, "POST", "/_local/behaviour", json={"error_rate": 2})
    assert response.status_code == 400
    response = await raw(local, "POST", "/_local/behaviour", json={"explode": True})
    assert response.status_code == 400


# --- inputs fetched over HTTP ----------------------------------------------------------------


async def test_a_failed_fetch_fails_the_job_with_a_reason(
    client: PikaClient, media: MediaServer
) -> None:
    created = await client.generate(
        Generate10Request(image=f"{media.base_url}/missing.png", options=Options.default())
    )
    state = await finish(client, created.job_id or "")
    assert state.status is JobStatus.FAILED
    assert state.reason == "could not fetch the image"


async def test_inputs_over_the_size_cap_fail_the_job(
    client: PikaClient, media: MediaServer, local: LocalPika
) -> None:
    local.renders.capacity = Capacity(limits=MediaLimits(max_bytes=1000))
    url = media.put("big.png", b"\x89PNG" + b"0" * 5000, "image/png")
    created = await client.generate(Generate10Request(image=url, options=Options.default()))
    state = await finish(client, created.job_id or "")
    assert state.status is JobStatus.FAILED
    assert state.reason is not None and "larger than" in state.reason


async def test_an_unreadable_image_fails_the_job(client: PikaClient, media: MediaServer) -> None:
    url = media.put("junk.png", b"this is not a png", "image/png")
    created = await client.generate(Generate10Request(image=url, options=Options.default()))
    state = await finish(client, created.job_id or "")
    assert state.status is JobStatus.FAILED
    assert state.reason == "the image is not a PNG, JPEG, WebP or GIF image"


# --- webhooks --------------------------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, asyncio.Queue[dict[str, Any]]]]:
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put({"path": request.path, "body": await request.json()})
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", received
    await runner.cleanup()


async def test_webhook_gets_the_get_job_shape_on_completion(
    local: LocalPika, client: PikaClient, receiver: tuple[str, asyncio.Queue[dict[str, Any]]]
) -> None:
    base, received = receiver
    await behave(local, job_seconds=0.3)
    created = await client.generate(fox(webhook_override=f"{base}/pika/webhook/s3cret"))
    push = await asyncio.wait_for(received.get(), timeout=20)
    assert push["path"] == "/pika/webhook/s3cret"
    assert push["body"]["job"]["id"] == created.job_id
    video = push["body"]["videos"][0]
    assert video["status"] == "finished" and video["resultUrl"].endswith(".mp4")
    assert "webhookOverride" not in push["body"]["job"]["params"]


async def test_webhook_reports_failures_too(
    local: LocalPika, client: PikaClient, receiver: tuple[str, asyncio.Queue[dict[str, Any]]]
) -> None:
    base, received = receiver
    await behave(local, fail_jobs=1)
    await client.generate(fox(webhook_override=f"{base}/hook"))
    push = await asyncio.wait_for(received.get(), timeout=20)
    assert push["body"]["videos"][0]["status"] == "failed"


# --- restarts and running on its own ---------------------------------------------------------


async def test_jobs_survive_a_restart_on_the_same_directory(tmp_path: Path) -> None:
    async with (
        running_local_pika(job_seconds=0, api_key="k", files_dir=tmp_path) as first,
        PikaClient("k", first.base_url) as client,
    ):
        created = await client.generate(fox())
        done = await finish(client, created.job_id or "")
    async with (
        running_local_pika(job_seconds=0, api_key="k", files_dir=tmp_path) as second,
        PikaClient("k", second.base_url) as client,
    ):
        again = (await client.get_job(created.job_id or "")).state()
    assert again.status is JobStatus.FINISHED
    assert again.seed == done.seed


async def test_a_job_file_from_before_request_keys_is_served_after_a_restart(
    tmp_path: Path,
) -> None:
    async with (
        running_local_pika(job_seconds=0, api_key="k", files_dir=tmp_path) as first,
        PikaClient("k", first.base_url) as client,
    ):
        created = await client.generate(fox())
        done = await finish(client, created.job_id or "")
    job_file = tmp_path / (created.job_id or "") / "job.json"
    old = json.loads(job_file.read_text())
    del old["request_key"]
    job_file.write_text(json.dumps(old | {"kind": "Generate10Request"}))
    async with (
        running_local_pika(job_seconds=0, api_key="k", files_dir=tmp_path) as second,
        PikaClient("k", second.base_url) as client,
    ):
        again = (await client.get_job(created.job_id or "")).state()
        assert second.jobs[created.job_id or ""].request_key == "generate-1.0"
    assert again.status is JobStatus.FINISHED
    assert again.seed == done.seed


async def test_a_job_interrupted_mid_render_is_finished_after_a_restart(tmp_path: Path) -> None:
    async with (
        running_local_pika(job_seconds=30, api_key="k", files_dir=tmp_path) as first,
        PikaClient("k", first.base_url) as client,
    ):
        created = await client.generate(fox())
    # Simulate a crash before the render was recorded.
    job_file = tmp_path / (created.job_id or "") / "job.json"
    job_file.write_text(job_file.read_text().replace('"rendered": true', '"rendered": false'))
    async with running_local_pika(job_seconds=0, api_key="k", files_dir=tmp_path) as second:
        second.jobs[created.job_id or ""].seconds = 0
        async with PikaClient("k", second.base_url) as client:
            state = await finish(client, created.job_id or "")
    assert state.status is JobStatus.FINISHED


def test_runs_on_its_own_from_the_command_line() -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.pika.local", "--port", "0", "--key", "cli-key"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Local Pika at http://127.0.0.1:")
        base = line.split()[3]
        response = httpx.get(
            f"{base}/_local/behaviour", headers={"Authorization": "Bearer cli-key"}, timeout=10
        )
        assert response.status_code == 200
        assert response.json()["fail_jobs"] == 0
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_folder_that_cannot_take_a_job_refuses_it_in_one_line_and_makes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk under DATA_DIR (here: a file where the folder was): each create crashed in a
    30-line traceback, answered 500 (which the bot sends again, eight times over 25 s), and
    kept a job in memory that was never saved nor rendered. Now one line names the folder, the
    answer is 507 (not sent again), and nothing is made."""
    folder = tmp_path / "local-pika"
    async with running_local_pika(job_seconds=0, api_key="k", files_dir=folder) as local:
        folder.rename(tmp_path / "elsewhere")
        folder.write_text("a file where the folder was")
        caplog.clear()
        refused = await raw(local, "POST", "/web/generate", json=fox().payload())
        assert refused.status_code == 507
        assert refused.json()["error"]["message"].startswith("The local Pika cannot save the job")
        assert local.jobs == {}
        said = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [
            (r.getMessage().startswith("Local Pika: cannot save a new job in "), r.exc_info)
            for r in said
        ] == [(True, None)]
        assert str(folder) in said[0].getMessage() and "DATA_DIR" in said[0].getMessage()
        folder.unlink()
        (tmp_path / "elsewhere").rename(folder)
        async with PikaClient("k", local.base_url) as client:
            created = await client.generate(fox())
            assert (await finish(client, created.job_id or "")).status is JobStatus.FINISHED
