"""Async client of the Pika Web Bot API: one method per route, retries, typed errors."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bot.pika.answers import MAX_ANSWER_BYTES, Answer, exchange, message_of, retry_after_of
from bot.pika.errors import (
    PikaAuthError,
    PikaBadResponse,
    PikaError,
    PikaOutcomeUnknown,
    PikaPlanError,
    PikaRateLimited,
    PikaRejected,
    PikaServerError,
    PikaUnreadableAnswer,
)
from bot.pika.models import (
    AdjustRequest,
    CreateJobResponse,
    EditRequest,
    ExtendRequest,
    GenerateRequest,
    JobResponse,
    LipSyncRequest,
    PikaRequestModel,
    RepromptRequest,
    UpscaleJobRequest,
    UpscaleRequest,
    UpscaleStartResponse,
)
from bot.pika.models.responses import one_line
from bot.pika.transport import POOL_LIMITS
from bot.redaction import Redactor

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Sleep = Callable[[float], Awaitable[None]]
MayRetry = Callable[[], bool]
# A get-job of an id no job can have: 404 says the key works, 401 or 403 that it is refused.
KEY_CHECK_JOB_ID = "pika-discord-bot-key-check"


@dataclass(frozen=True)
class PikaCall:
    """One HTTP exchange with Pika, as metrics and the health view see it."""

    route: str  # the route's template (`/web/jobs/{jobId}`), never an id
    status: int | None  # None: no answer (cannot connect, timed out, connection lost)
    error: str | None  # the transport error's name, when there was no answer
    seconds: float


CallObserver = Callable[[PikaCall], None]


def route_of(path: str) -> str:
    """The route template of a request path: job ids are not labels."""
    if path.startswith("/web/jobs/") and path != "/web/jobs/upscaled":
        return "/web/jobs/{jobId}"
    return path


# Answers that mean Pika did not start a job, so that even a paid call may be sent again: the
# rate limit (429) and the server errors that come before any work (500, 502, 503). 504 comes from
# a gateway that gave up waiting: Pika may be working on the request, so a paid call is not
# re-sent (the outcome is unknown); a read may be, as reads cost nothing.
RETRY_STATUSES_PAID = frozenset({429, 500, 502, 503})
RETRY_STATUSES_READ = frozenset({429, 500, 502, 503, 504})
# Transport errors raised before the request left this machine whole: nothing reached Pika.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError)
READ_ATTEMPTS = 3


class PikaClient:
    """The seven routes of the Pika Web Bot API over httpx, with bounded retries.

    The fault policy of the paid call (a create: generate, adjust, extend, lip sync, upscale):
    - Pika did not start the job: 429 (Retry-After honoured, never below the backoff), 500,
      502, 503, or a connection refused, timed out or reset before the request was sent.
      Retried with exponential backoff and jitter, at most `max_attempts` times in all and
      within `paid_budget` seconds (about a minute); then the last error is raised
      (`PikaRateLimited`, `PikaServerError`), and the job ends telling its member, who was not
      charged.
    - The outcome is unknown: a timeout after the request was sent, 504, the connection lost
      while reading the answer, or a success answer that cannot be read. Never re-sent: raises
      `PikaOutcomeUnknown` (see `JobService` for what the job does then).
    Reads (get job) are retried on the same faults and on 504 and lost answers too, up to
    `READ_ATTEMPTS` times: the tracker asks again at the job's next poll anyway. Each exchange
    waits at most `timeout` for each read and `call_timeout` in all (an answer that drips in
    stays within every read's time-out), and reads at most `MAX_ANSWER_BYTES` of an answer
    (`answers.py`); past either, the answer is lost, or cannot be read. `base_url`
    has no default here: the vendor's address is PIKA_BASE_URL's default in bot.config, the
    one place it is written. `http` is the bot's shared client
    (`shared_http_client`); without one the client makes its own and closes it.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        call_timeout: float = 60.0,
        max_attempts: int = 8,
        paid_budget: float = 60.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_retry_after: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        observer: CallObserver | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._key = api_key
        self._redact = Redactor([api_key])
        self.base_url = base_url.rstrip("/")
        self._max_attempts = max_attempts
        self._paid_budget = paid_budget
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._call_timeout = call_timeout
        # Made once: every call sends the same headers.
        self._headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip",  # the one encoding undone within the size cap
            "Authorization": f"Bearer {api_key}",
            "User-Agent": "pika-discord-bot/0.1",
        }
        self._observer = observer
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            limits=POOL_LIMITS, transport=transport, trust_env=False, follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"PikaClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool, if it is this client's own."""
        if self._owns_http:
            await self._http.aclose()

    # --- routes ----------------------------------------------------------------------------

    async def generate(
        self, request: GenerateRequest | RepromptRequest | EditRequest
    ) -> CreateJobResponse:
        """POST /web/generate: every model, Additions, Swap, reprompt and edit."""
        return await self._create(request)

    async def adjust(self, request: AdjustRequest) -> CreateJobResponse:
        """POST /web/adjust: inpainting (modify region) or outpainting (extend canvas)."""
        return await self._create(request)

    async def extend(self, request: ExtendRequest) -> CreateJobResponse:
        """POST /web/extend: add four seconds to a video."""
        return await self._create(request)

    async def lip_sync(self, request: LipSyncRequest) -> CreateJobResponse:
        """POST /web/lipSync: lay speech over a video."""
        return await self._create(request)

    async def upscale(self, request: UpscaleRequest) -> UpscaleStartResponse:
        """POST /web/upscale: start an upscale; follow it with get_upscale_job."""
        return await self._start_upscale(request)

    async def get_job(self, job_id: str) -> JobResponse:
        """GET /web/jobs/{jobId}: status, progress and result of a job."""
        if not job_id.strip():
            raise ValueError("job_id must not be empty")
        body = await self._call("GET", f"/web/jobs/{quote(job_id, safe='')}", None)
        answer = self._parse(JobResponse, body, paid=False)
        if not answer.is_about(job_id):  # its video is another's: never a member's result
            raise PikaBadResponse("The answer was about another job.")
        return answer

    async def get_upscale_job(self, video_url: str) -> JobResponse:
        """POST /web/jobs/upscaled: the upscale job of a video, found by the original's URL."""
        payload = UpscaleJobRequest(video=video_url).payload()
        body = await self._call("POST", "/web/jobs/upscaled", payload)
        return self._parse(JobResponse, body, paid=False)

    async def check_key(self) -> None:
        """One cheap authenticated call that spends no credit: a get-job of an id no job has.

        Returns when Pika knows the key (it answers 404); raises PikaAuthError when the key is
        refused (401 or 403), and PikaError when Pika cannot be reached or fails."""
        try:
            await self.get_job(KEY_CHECK_JOB_ID)
        except PikaPlanError as exc:  # no plan is needed to read a job: the key is refused
            raise PikaAuthError(exc.detail, status=exc.status) from None
        except PikaRejected as exc:
            if exc.status != 404:
                raise

    async def submit(
        self, request: PikaRequestModel, may_retry: MayRetry = lambda: True
    ) -> CreateJobResponse | UpscaleStartResponse:
        """Send any request to its model's route; only an upscale answers without a job. A call
        Pika did not start is sent again only while `may_retry()` (the job is still the
        caller's to send): else it ends as the last attempt did."""
        if request.route == UpscaleRequest.route:
            return await self._start_upscale(request, may_retry)
        return await self._create(request, may_retry)

    # --- plumbing --------------------------------------------------------------------------

    async def _create(
        self, request: PikaRequestModel, may_retry: MayRetry = lambda: True
    ) -> CreateJobResponse:
        body = await self._call("POST", request.route, request.payload(), paid=may_retry)
        answer = self._parse(CreateJobResponse, body, paid=True)
        if not answer.job_id:
            raise PikaUnreadableAnswer("The answer carried no job id.")
        return answer

    async def _start_upscale(
        self, request: PikaRequestModel, may_retry: MayRetry = lambda: True
    ) -> UpscaleStartResponse:
        body = await self._call("POST", request.route, request.payload(), paid=may_retry)
        answer = self._parse(UpscaleStartResponse, body, paid=True)
        if answer.success is False:
            raise PikaRejected(answer.message or "the upscale was not started")
        return answer

    def _parse(self, model: type[M], body: Any, *, paid: bool) -> M:
        try:
            return model.model_validate(body)
        except ValidationError:
            unreadable = PikaUnreadableAnswer if paid else PikaBadResponse
            raise unreadable(f"Unexpected shape for {model.__name__}.") from None

    def _delay(self, attempt: int) -> float:
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def _call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None,
        *,
        paid: MayRetry | None = None,  # a paid call: whether it may still be sent again
    ) -> Any:
        retry_statuses = RETRY_STATUSES_PAID if paid else RETRY_STATUSES_READ
        # A paid call is bounded in time as well as attempts: its member is waiting.
        deadline = time.monotonic() + self._paid_budget if paid else float("inf")
        attempts = self._max_attempts if paid else min(self._max_attempts, READ_ATTEMPTS)
        for attempt in range(1, attempts + 1):
            last_try = attempt == attempts
            started = time.monotonic()
            try:
                response = await self._send(method, path, payload)
            except NOT_SENT as exc:
                # Nothing reached Pika: safe to try again, even for a paid call.
                log.warning(
                    "Pika %s %s: not sent (%s), attempt %d",
                    method,
                    path,
                    type(exc).__name__,
                    attempt,
                )
                delay = self._delay(attempt)
                if last_try or time.monotonic() + delay > deadline:
                    raise PikaServerError("Pika could not be reached.") from None
                await self._sleep(delay)
                if paid is not None and not paid():
                    raise PikaServerError("Pika could not be reached.") from None
                continue
            except httpx.TransportError as exc:
                log.warning(
                    "Pika %s %s: %s after sending, attempt %d",
                    method,
                    path,
                    type(exc).__name__,
                    attempt,
                )
                if paid:
                    raise PikaOutcomeUnknown() from None
                if last_try:
                    raise PikaServerError("Pika did not answer.") from None
                await self._sleep(self._delay(attempt))
                continue

            status = response.status
            log.debug(
                "Pika %s %s -> %d in %.2fs (attempt %d)",
                method,
                path,
                status,
                time.monotonic() - started,
                attempt,
            )
            if 200 <= status < 300:
                try:
                    return response.json()
                except ValueError:
                    unreadable = PikaUnreadableAnswer if paid else PikaBadResponse
                    why = f"was {response.fault}" if response.fault else "was not JSON"
                    raise unreadable(f"The answer {why}.", status=status) from None
            if paid and status == 504:
                raise PikaOutcomeUnknown(status=status)
            if status not in retry_statuses:
                raise self._error(response)
            retry_after = retry_after_of(response.headers.get("Retry-After"))
            # Retry-After is the least wait Pika asks for, not a licence to hammer it: "0", or a
            # date already past, still waits the backoff (else eight tries in a blink).
            delay = max(retry_after or 0.0, self._delay(attempt))
            too_long = (retry_after or 0) > self._max_retry_after
            if last_try or too_long or time.monotonic() + delay > deadline:
                raise self._error(response, retry_after)
            log.warning(
                "Pika %s %s -> %d, retrying in %.1fs (attempt %d of %d)",
                method,
                path,
                status,
                delay,
                attempt,
                attempts,
            )
            await self._sleep(delay)
            if paid is not None and not paid():  # the job is no longer the caller's to send
                raise self._error(response, retry_after)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, path: str, payload: Mapping[str, Any] | None) -> Answer:
        """One HTTP exchange, within `call_timeout` in all and `MAX_ANSWER_BYTES`, told to the
        observer (metrics, health) whatever its outcome."""
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        request = self._http.build_request(
            method, self.base_url + path, json=payload, headers=self._headers, timeout=self._timeout
        )
        try:
            try:
                async with asyncio.timeout(self._call_timeout):
                    answer = await exchange(self._http, request, MAX_ANSWER_BYTES)
            except TimeoutError:
                # Sent, or perhaps sent: a paid call is never sent again (the outcome is unknown).
                raise httpx.ReadTimeout("the exchange took too long", request=request) from None
        except httpx.TransportError as exc:
            error = type(exc).__name__
            raise
        else:
            status = answer.status
            return answer
        finally:
            # A cancelled call (the bot stopping) has no outcome to tell.
            if self._observer is not None and (status is not None or error is not None):
                elapsed = time.monotonic() - started
                self._observer(PikaCall(route_of(path), status, error, elapsed))

    def _detail(self, response: Answer) -> str:
        """A short, safe description of an error answer: its message, never the key."""
        text = ""
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip().splitlines()[0] if response.text.strip() else ""
        else:
            text = message_of(body)
        return one_line(self._redact(text), 200)

    def _error(self, response: Answer, retry_after: float | None = None) -> PikaError:
        status, detail = response.status, self._detail(response)
        if status == 429:
            return PikaRateLimited(detail, retry_after=retry_after)
        if status == 401:
            return PikaAuthError(detail, status=status)
        if status in (402, 403):
            return PikaPlanError(detail, status=status)
        if 400 <= status < 500:
            return PikaRejected(detail or f"HTTP {status}", status=status)
        if 500 <= status < 600:
            return PikaServerError(detail, status=status)
        return PikaBadResponse(f"Unexpected HTTP {status}.", status=status)
