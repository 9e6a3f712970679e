"""The Pika client: routes, auth, retries, Retry-After, error kinds, and no key in any log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from aiohttp import web

from bot.pika.client import KEY_CHECK_JOB_ID, PikaCall, PikaClient
from bot.pika.errors import (
    PikaAuthError,
    PikaBadResponse,
    PikaOutcomeUnknown,
    PikaPlanError,
    PikaRateLimited,
    PikaRejected,
    PikaServerError,
)
from bot.pika.local.app import running_local_pika
from bot.pika.models import (
    CreateJobResponse,
    ExtendRequest,
    Generate10Request,
    InpaintRequest,
    JobStatus,
    LipSyncRequest,
    Options,
    OutpaintRequest,
    PikaRequestModel,
    UpscaleRequest,
    UpscaleStartResponse,
)

BASE = "https://pika.test"
KEY = "pk_live_5ecret-KEY-do-not-log"
VID = "https://cdn.pika.art/v1/abc/fox_seed1.mp4"
CREATED = {"job": {"id": "job-1", "status": "queued"}, "video": {"jobId": "job-1"}}
JOB = {
    "job": {"id": "job-1"},
    "videos": [{"status": "finished", "resultUrl": VID, "progress": 100}],
}


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(sleeps: Sleeps) -> AsyncIterator[PikaClient]:
    async with PikaClient(KEY, BASE, sleep=sleeps, max_attempts=3) as c:
        yield c


def generate() -> Generate10Request:
    return Generate10Request(prompt_text="a fox", options=Options.default())


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


# --- routes ----------------------------------------------------------------------------------


@respx.mock
async def test_each_route_has_its_method_path_auth_and_body(client: PikaClient) -> None:
    opts = Options.default()
    area = {"x": 0, "y": 0, "width": 50, "height": 50}
    routes = {
        "generate": respx.post(f"{BASE}/web/generate").respond(200, json=CREATED),
        "adjust": respx.post(f"{BASE}/web/adjust").respond(200, json=CREATED),
        "extend": respx.post(f"{BASE}/web/extend").respond(200, json=CREATED),
        "lipSync": respx.post(f"{BASE}/web/lipSync").respond(200, json=CREATED),
        "upscale": respx.post(f"{BASE}/web/upscale").respond(
            200, json={"success": True, "video": VID, "message": "started"}
        ),
        "job": respx.get(f"{BASE}/web/jobs/job-1").respond(200, json=JOB),
        "upscaled": respx.post(f"{BASE}/web/jobs/upscaled").respond(200, json=JOB),
    }
    created = await client.generate(generate())
    assert created.job_id == "job-1" and created.state().status is JobStatus.QUEUED
    await client.adjust(InpaintRequest(video=VID, options=opts, area=area))
    await client.adjust(OutpaintRequest(video=VID, options=opts, area=area, prompt_text="wide"))
    await client.extend(ExtendRequest(video=VID, options=opts))
    await client.lip_sync(
        LipSyncRequest(video=VID, speech="https://x.org/a.wav", speech_start=0, speech_end=2)
    )
    started = await client.upscale(UpscaleRequest(video=VID))
    assert started.video == VID
    job = await client.get_job("job-1")
    assert job.state().result_url == VID
    upscaled = await client.get_upscale_job(VID)
    assert upscaled.state().status is JobStatus.FINISHED

    for route in routes.values():
        assert route.called
        for call in route.calls:
            assert call.request.headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(routes["generate"].calls[0].request.content) == generate().payload()
    assert json.loads(routes["adjust"].calls[1].request.content)["mode"] == "outpainting"
    assert json.loads(routes["upscaled"].calls[0].request.content) == {"video": VID}
    assert routes["job"].calls[0].request.content == b""


@respx.mock
async def test_submit_routes_each_request_kind(client: PikaClient) -> None:
    adjust = respx.post(f"{BASE}/web/adjust").respond(200, json=CREATED)
    generate_route = respx.post(f"{BASE}/web/generate").respond(200, json=CREATED)
    area = {"x": 0, "y": 0, "width": 50, "height": 50}
    await client.submit(InpaintRequest(video=VID, options=Options.default(), area=area))
    await client.submit(generate())
    assert adjust.call_count == 1 and generate_route.call_count == 1


@respx.mock
async def test_submit_sends_to_the_route_the_model_names(client: PikaClient) -> None:
    class DanceRequest(PikaRequestModel):
        """A throwaway endpoint: a model with a route is all the client needs to send it."""

        route = "/web/dance"
        key = "dance"
        video: str

    dance = respx.post(f"{BASE}/web/dance").respond(200, json=CREATED)
    upscale = respx.post(f"{BASE}/web/upscale").respond(200, json={"success": True, "video": VID})
    created = await client.submit(DanceRequest(video=VID))
    started = await client.submit(UpscaleRequest(video=VID))
    assert isinstance(created, CreateJobResponse) and created.job_id == "job-1"
    assert isinstance(started, UpscaleStartResponse) and started.video == VID
    assert json.loads(dance.calls[0].request.content) == {"video": VID}
    assert upscale.call_count == 1


@respx.mock
async def test_job_id_is_escaped_in_the_path(client: PikaClient) -> None:
    route = respx.get(f"{BASE}/web/jobs/a%2Fb").respond(200, json={"job": {"id": "a/b"}})
    await client.get_job("a/b")
    assert route.called


# --- retries ---------------------------------------------------------------------------------


@respx.mock
async def test_503_on_a_paid_call_is_retried_with_backoff(
    client: PikaClient, sleeps: Sleeps
) -> None:
    route = respx.post(f"{BASE}/web/generate")
    route.side_effect = [httpx.Response(503), httpx.Response(200, json=CREATED)]
    assert (await client.generate(generate())).job_id == "job-1"
    assert route.call_count == 2
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5


@pytest.mark.parametrize("status", [429, 500, 502, 503])
@respx.mock
async def test_an_answer_that_means_pika_did_not_start_the_job_is_retried(
    client: PikaClient, sleeps: Sleeps, status: int
) -> None:
    route = respx.post(f"{BASE}/web/generate")
    route.side_effect = [httpx.Response(status), httpx.Response(200, json=CREATED)]
    assert (await client.generate(generate())).job_id == "job-1"
    assert route.call_count == 2 and len(sleeps) == 1


@respx.mock
async def test_500_every_time_ends_the_paid_call_after_bounded_attempts(
    client: PikaClient,
) -> None:
    route = respx.post(f"{BASE}/web/generate").respond(500, json={"message": "boom"})
    with pytest.raises(PikaServerError, match="boom"):
        await client.generate(generate())
    assert route.call_count == 3


@pytest.mark.parametrize(
    "fault",
    [
        httpx.Response(504),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset while reading"),
        httpx.Response(200, text="<html>not json</html>"),
    ],
    ids=["504", "read-timeout", "disconnected", "reset-while-reading", "unreadable"],
)
@respx.mock
async def test_a_paid_call_whose_outcome_is_unknown_is_never_sent_again(
    client: PikaClient, fault: httpx.Response | Exception
) -> None:
    route = respx.post(f"{BASE}/web/generate")
    route.side_effect = [fault, httpx.Response(200, json=CREATED)]
    with pytest.raises(PikaOutcomeUnknown):
        await client.generate(generate())
    assert route.call_count == 1


@respx.mock
async def test_a_connection_reset_while_sending_is_retried_even_on_a_paid_call(
    client: PikaClient,
) -> None:
    route = respx.post(f"{BASE}/web/generate")
    route.side_effect = [httpx.WriteError("reset while sending"), httpx.Response(200, json=CREATED)]
    assert (await client.generate(generate())).job_id == "job-1"
    assert route.call_count == 2


@respx.mock
async def test_paid_call_retries_stop_within_their_time_budget(sleeps: Sleeps) -> None:
    async with PikaClient(KEY, BASE, sleep=sleeps, max_attempts=50, paid_budget=0.0) as client:
        route = respx.post(f"{BASE}/web/generate").respond(503)
        with pytest.raises(PikaServerError):
            await client.generate(generate())
    assert route.call_count == 1 and sleeps == []  # no time left for a second try


@respx.mock
async def test_5xx_on_a_read_is_retried_until_the_attempts_run_out(
    client: PikaClient, sleeps: Sleeps
) -> None:
    route = respx.get(f"{BASE}/web/jobs/job-1").respond(500)
    with pytest.raises(PikaServerError):
        await client.get_job("job-1")
    assert route.call_count == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] / 2  # backoff grows (with jitter)


@respx.mock
async def test_429_honours_retry_after(client: PikaClient, sleeps: Sleeps) -> None:
    route = respx.post(f"{BASE}/web/generate")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, json=CREATED),
    ]
    await client.generate(generate())
    assert sleeps == [7.0]


@respx.mock
async def test_429_with_http_date_retry_after(client: PikaClient, sleeps: Sleeps) -> None:
    route = respx.get(f"{BASE}/web/jobs/job-1")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        httpx.Response(200, json=JOB),
    ]
    await client.get_job("job-1")
    # A date in the past means "now": the backoff's own pause still applies.
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5


@respx.mock
async def test_429_asking_no_wait_still_backs_off(sleeps: Sleeps) -> None:
    # Pika answering "429, Retry-After: 0" at every try used to get all eight tries in a blink.
    route = respx.post(f"{BASE}/web/generate").respond(429, headers={"Retry-After": "0"})
    async with PikaClient(KEY, BASE, sleep=sleeps, max_attempts=8) as client:
        with pytest.raises(PikaRateLimited):
            await client.generate(generate())
    assert route.call_count == 8 and len(sleeps) == 7
    assert all(pause >= 0.25 for pause in sleeps)
    assert sleeps[-1] >= 4.0  # the pauses grow as after any other refusal


@respx.mock
async def test_429_too_long_to_wait_is_raised_at_once(client: PikaClient, sleeps: Sleeps) -> None:
    route = respx.post(f"{BASE}/web/generate").respond(429, headers={"Retry-After": "3600"})
    with pytest.raises(PikaRateLimited) as caught:
        await client.generate(generate())
    assert caught.value.retry_after == 3600.0
    assert route.call_count == 1 and sleeps == []


@respx.mock
async def test_429_every_time_ends_as_rate_limited(client: PikaClient, sleeps: Sleeps) -> None:
    route = respx.get(f"{BASE}/web/jobs/job-1").respond(429)
    with pytest.raises(PikaRateLimited):
        await client.get_job("job-1")
    assert route.call_count == 3 and len(sleeps) == 2


@respx.mock
async def test_connection_errors_are_retried_even_on_paid_calls(
    client: PikaClient, sleeps: Sleeps
) -> None:
    route = respx.post(f"{BASE}/web/generate")
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(200, json=CREATED)]
    await client.generate(generate())
    assert route.call_count == 2


@respx.mock
async def test_unreachable_pika_ends_after_bounded_attempts(client: PikaClient) -> None:
    route = respx.get(f"{BASE}/web/jobs/job-1").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(PikaServerError, match="could not be reached"):
        await client.get_job("job-1")
    assert route.call_count == 3


@respx.mock
async def test_read_timeout_on_a_paid_call_is_outcome_unknown_not_retried(
    client: PikaClient,
) -> None:
    route = respx.post(f"{BASE}/web/extend").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(PikaOutcomeUnknown):
        await client.extend(ExtendRequest(video=VID, options=Options.default()))
    assert route.call_count == 1


@respx.mock
async def test_read_timeout_on_a_read_is_retried(client: PikaClient) -> None:
    route = respx.get(f"{BASE}/web/jobs/job-1")
    route.side_effect = [httpx.ReadTimeout("slow"), httpx.Response(200, json=JOB)]
    await client.get_job("job-1")
    assert route.call_count == 2


# --- error kinds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (401, {"message": "Invalid API key"}, PikaAuthError, "Invalid API key"),
        (402, {"error": "Out of credits"}, PikaPlanError, "Out of credits"),
        (403, "Standard subscription required", PikaPlanError, "Standard subscription"),
        (400, {"error": {"message": "frameRate too high"}}, PikaRejected, "frameRate too high"),
        (422, {"detail": [{"msg": "bad video"}]}, PikaRejected, "bad video"),
        (404, "", PikaRejected, "HTTP 404"),
    ],
)
@respx.mock
async def test_error_kinds(
    client: PikaClient, status: int, body: Any, error: type[Exception], text: str
) -> None:
    kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict) else {"text": body}
    respx.post(f"{BASE}/web/generate").respond(status, **kwargs)
    with pytest.raises(error, match=text) as caught:
        await client.generate(generate())
    assert getattr(caught.value, "status", None) == status


@respx.mock
async def test_answer_that_is_not_json_is_a_bad_response(client: PikaClient) -> None:
    respx.get(f"{BASE}/web/jobs/job-1").respond(200, text="<html>maintenance</html>")
    with pytest.raises(PikaBadResponse, match="not JSON"):
        await client.get_job("job-1")


@respx.mock
@pytest.mark.parametrize("job", [{}, {"id": "  "}], ids=["none", "blank"])
async def test_create_answer_without_job_id_is_a_bad_response(
    client: PikaClient, job: dict[str, str]
) -> None:
    # A blank id cannot be polled by: the job would wait for its time-out to tell its member.
    respx.post(f"{BASE}/web/generate").respond(200, json={"job": job, "video": {}})
    with pytest.raises(PikaBadResponse, match="no job id"):
        await client.generate(generate())


@respx.mock
async def test_create_answer_of_wrong_shape_is_a_bad_response(client: PikaClient) -> None:
    respx.post(f"{BASE}/web/generate").respond(200, json=["not", "an", "object"])
    with pytest.raises(PikaBadResponse, match="Unexpected shape"):
        await client.generate(generate())


@respx.mock
@pytest.mark.parametrize(
    "created_at", [1764353000000, {"_seconds": 1e20}], ids=["milliseconds", "past year 9999"]
)
async def test_a_paid_call_answered_with_an_odd_date_still_gives_its_job(
    client: PikaClient, created_at: object
) -> None:
    # Pika started the job and said which: an odd createdAt (which the bot does not use) must
    # not make it an unknown outcome, or a crash of the call, and the job lost.
    job = {"id": "job-1", "status": "queued", "createdAt": created_at}
    respx.post(f"{BASE}/web/generate").respond(200, json={"job": job, "video": {"jobId": "job-1"}})
    assert (await client.generate(generate())).job_id == "job-1"
    respx.get(f"{BASE}/web/jobs/job-1").respond(200, json=JOB | {"job": job})
    assert (await client.get_job("job-1")).state().result_url == VID


@respx.mock
async def test_a_job_answered_with_another_jobs_ids_is_a_bad_response(client: PikaClient) -> None:
    # Its video is another's: posted, it would reach a member who never asked for it.
    other = {"job": {"id": "job-2", "pikaJobId": "job-2"}, "videos": [{"jobId": "job-2"}]}
    respx.get(f"{BASE}/web/jobs/job-1").respond(200, json=JOB | other)
    with pytest.raises(PikaBadResponse, match="another job"):
        await client.get_job("job-1")
    # An answer naming the job by any one of its ids, or by none, is this job's.
    finished = {"status": "finished", "resultUrl": VID}
    named_once = {"job": {"id": "x", "pikaJobId": "job-1"}, "videos": [finished | {"jobId": "y"}]}
    for answer in (named_once, {"videos": [finished]}):
        respx.get(f"{BASE}/web/jobs/job-1").respond(200, json=answer)
        assert (await client.get_job("job-1")).state().result_url == VID


@respx.mock
@pytest.mark.parametrize(
    "odd", [{"message": {"text": "started"}}, {"message": 7, "video": ["x"], "success": "yes"}]
)
async def test_an_upscale_started_with_odd_fields_is_started(
    client: PikaClient, odd: dict[str, object]
) -> None:
    # Read as unreadable, a started upscale was told to its member as an unknown outcome.
    answer = {"success": True, "video": VID, "message": "started"} | odd
    respx.post(f"{BASE}/web/upscale").respond(200, json=answer)
    started = await client.upscale(UpscaleRequest(video=VID))
    assert started.success is not False


@respx.mock
async def test_pikas_error_message_is_logged_as_one_line(client: PikaClient) -> None:
    forged = "bad request\n2026-11-28 18:00:00,000 ERROR   bot: forged"
    respx.get(f"{BASE}/web/jobs/job-1").respond(400, json={"error": {"message": forged}})
    with pytest.raises(PikaRejected) as caught:
        await client.get_job("job-1")
    assert caught.value.detail == "bad request 2026-11-28 18:00:00,000 ERROR bot: forged"


@respx.mock
async def test_upscale_not_started_is_a_rejection(client: PikaClient) -> None:
    respx.post(f"{BASE}/web/upscale").respond(200, json={"success": False, "message": "not ours"})
    with pytest.raises(PikaRejected, match="not ours"):
        await client.upscale(UpscaleRequest(video=VID))


# --- the key never leaks ---------------------------------------------------------------------


@respx.mock
async def test_key_appears_in_no_log_line_repr_or_error(
    client: PikaClient, logs: pytest.LogCaptureFixture
) -> None:
    respx.post(f"{BASE}/web/generate").side_effect = [
        httpx.Response(503),
        httpx.ConnectError(f"cannot connect with {KEY}"),
        httpx.Response(401, json={"message": f"key {KEY} is invalid"}),  # a server echoing it
    ]
    respx.get(f"{BASE}/web/jobs/job-1").side_effect = [
        httpx.ReadTimeout("slow"),
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(500, text=f"Bearer {KEY}"),
    ]
    with pytest.raises(PikaAuthError) as auth:
        await client.generate(generate())
    with pytest.raises(PikaServerError) as server:
        await client.get_job("job-1")
    texts = [str(auth.value), repr(auth.value), str(server.value), repr(client), logs.text]
    assert logs.records, "the client should log its retries"
    for text in texts:
        assert KEY not in text
    assert "[redacted]" in str(auth.value)


# --- timeouts against a real server ----------------------------------------------------------


async def test_every_call_times_out_against_a_silent_server() -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with PikaClient(
            KEY, f"http://127.0.0.1:{port}", timeout=0.2, max_attempts=2, backoff_base=0.01
        ) as c:
            started = asyncio.get_running_loop().time()
            with pytest.raises(PikaServerError):
                await c.get_job("job-1")
            with pytest.raises(PikaOutcomeUnknown):
                await c.generate(generate())
            assert asyncio.get_running_loop().time() - started < 5
    finally:
        release.set()
        await runner.cleanup()


# --- the key check and the observer ---------------------------------------------------------


@respx.mock
@pytest.mark.parametrize(
    ("status", "raised"),
    [(404, None), (401, PikaAuthError), (403, PikaAuthError), (503, PikaServerError)],
)
async def test_the_key_check_reads_404_as_a_good_key_and_401_403_as_refused(
    client: PikaClient, status: int, raised: type[Exception] | None
) -> None:
    route = respx.get(f"{BASE}/web/jobs/{KEY_CHECK_JOB_ID}").respond(
        status, json={"error": {"message": "nope"}}
    )
    if raised is None:
        await client.check_key()
    else:
        with pytest.raises(raised):
            await client.check_key()
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"


async def test_the_local_pika_answers_the_key_check_as_pika_does() -> None:
    async with running_local_pika(api_key="right-key") as local:
        async with PikaClient("right-key", local.base_url) as good:
            await good.check_key()
        async with PikaClient("wrong-key", local.base_url) as bad:
            with pytest.raises(PikaAuthError):
                await bad.check_key()


@respx.mock
async def test_every_exchange_is_told_to_the_observer_by_route_template(sleeps: Sleeps) -> None:
    seen: list[PikaCall] = []
    respx.get(f"{BASE}/web/jobs/job-1").mock(
        side_effect=[httpx.ConnectError("down"), httpx.Response(200, json=JOB)]
    )
    respx.post(f"{BASE}/web/generate").respond(429, headers={"Retry-After": "0"})
    async with PikaClient(KEY, BASE, sleep=sleeps, max_attempts=2, observer=seen.append) as c:
        await c.get_job("job-1")
        with pytest.raises(PikaRateLimited):
            await c.generate(generate())
    assert [(s.route, s.status, s.error) for s in seen] == [
        ("/web/jobs/{jobId}", None, "ConnectError"),
        ("/web/jobs/{jobId}", 200, None),
        ("/web/generate", 429, None),
        ("/web/generate", 429, None),
    ]
    assert all(s.seconds >= 0 for s in seen)
