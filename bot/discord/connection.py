"""Reaching Discord: the login and the gateway, retried with capped backoff, one line a failure.

discord.py's own loop (`Client.connect`) logs every failed attempt with a full traceback, lets
its backoff grow to seventeen minutes, and crashes on `self.ws.sequence` when the very first
gateway connection fails (discord.py issue #10520: `ws` is still None); a failed login is not
retried at all, and a REST call to a host that accepts and never answers waits five minutes
(aiohttp's default). Here:

- every REST call has a connect and a read timeout (`bound_rest_calls`, then `tune_session`
  for the follow-ups too), and a global rate limit ends when Discord said, even if the request
  that waited it out was stopped (`GlobalLimit`);
- a network failure of the login, the command sync or the gateway is one WARNING line saying
  what failed and when the next try is, with backoff from one second to a minute;
- what no retry can fix (a rejected token, a refused intent, a bad shard) is raised to
  `bot.process`, which says it in one line and exits 2.

The gateway connections themselves, one per shard, are held in `shards.py` with the `Backoff`
and the words of this module.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import discord

from bot.discord.answers import follow_ups_sent_once

log = logging.getLogger(__name__)

T = TypeVar("T")

# A request whose answer never came (the connection lost, a time-out): Discord may or may not
# have acted on it.
ANSWER_LOST: tuple[type[BaseException], ...] = (OSError, aiohttp.ClientError, TimeoutError)
# Failures of the network or of Discord's side, which a later try may not meet.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    *ANSWER_LOST,
    discord.GatewayNotFound,
    discord.DiscordServerError,
)
# A request that failed: refused by Discord, or its answer lost.
CALL_FAILED: tuple[type[BaseException], ...] = (discord.HTTPException, *ANSWER_LOST)
# Every REST call: ten seconds to connect, thirty without a byte of the answer (counted from
# the end of the upload, so a large video is not cut short), no limit on the whole.
REST_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=30.0)
FIRST_RETRY, MAX_RETRY = 1.0, 60.0


def refused(exc: discord.HTTPException) -> bool:
    """Whether Discord refused a request for good (the channel gone, no permission, a thread
    locked): a 4xx other than a rate limit, which no later attempt would change."""
    return 400 <= exc.status < 500 and exc.status != 429


class SetupFailed(Exception):
    """The bot's own set-up failed after the login got through."""


class Backoff:
    """Waits that double from `first` to `cap` seconds, each drawn between half and all of its
    ceiling, so that many bots coming back together do not knock in step."""

    def __init__(
        self,
        first: float = FIRST_RETRY,
        cap: float = MAX_RETRY,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.first, self.cap = first, cap
        self._rand = rand
        self._failures = 0

    def next(self) -> float:
        """The wait before the next try."""
        ceiling = min(self.cap, self.first * 2.0**self._failures)
        self._failures += 1
        return ceiling * (0.5 + self._rand() / 2)

    def reset(self) -> None:
        """A try succeeded: start again from `first`."""
        self._failures = 0

    def copy(self) -> Backoff:
        """The same waits, counted afresh (one for each shard)."""
        return Backoff(self.first, self.cap, self._rand)


def describe(exc: BaseException) -> str:
    """A network failure in a few words, without a traceback."""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"the gateway refused the connection (HTTP {exc.status})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port} ({_reason(exc.os_error)})"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, discord.DiscordServerError):
        return f"Discord answered HTTP {exc.status}"
    if isinstance(exc, discord.ConnectionClosed):
        return f"the gateway closed the connection (code {exc.code})"
    if isinstance(exc, discord.GatewayNotFound):
        return "the gateway could not be found"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reason(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "name not found"
    return error.strerror or type(error).__name__


async def retried(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    backoff: Backoff,
    before_retry: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Run `attempt` until it gets through the network; log each failure in one line."""
    while True:
        try:
            result = await attempt()
        except NETWORK_ERRORS as exc:
            wait = backoff.next()
            log.warning("%s: %s; retrying in %.0fs", what, describe(exc), wait)
            if before_retry is not None:
                await before_retry()
            await asyncio.sleep(wait)
        else:
            backoff.reset()
            return result


def bound_rest_calls(http: discord.http.HTTPClient, timeout: aiohttp.ClientTimeout) -> None:
    """Give every REST call of discord.py's HTTP client `timeout` (it sets none of its own)."""
    original = http.request

    async def request(route: discord.http.Route, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout)
        return await original(route, **kwargs)

    http.request = request  # type: ignore[method-assign]


class GlobalLimit:
    """A middleware that opens discord.py's global gate (`HTTPClient._global_over`) when
    Discord's global rate limit is over, as its 429 said (`Retry-After`).

    discord.py closes the gate on a global 429 and opens it after sleeping in the request
    that got it; a request stopped in that sleep (a time-out of ours, a job taken over) never
    opens it, and every later request of the bot's token would wait for ever."""

    def __init__(self, http: discord.http.HTTPClient) -> None:
        self._http = http
        self._until = 0.0  # loop time at which the latest global limit is over

    async def __call__(
        self, request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        response = await send(request)
        if response.status == 429 and response.headers.get("X-RateLimit-Global") == "true":
            try:
                wait = float(response.headers.get("Retry-After", ""))
            except ValueError:
                return response  # no time given: discord.py's own sleep is all there is
            loop = asyncio.get_running_loop()
            self._until = max(self._until, loop.time() + wait)
            loop.call_at(self._until, self._open)
        return response

    def _open(self) -> None:
        if asyncio.get_running_loop().time() >= self._until:
            self._http._global_over.set()


def tune_session(
    http: discord.http.HTTPClient,
    middleware: aiohttp.ClientMiddlewareType,
    timeout: aiohttp.ClientTimeout = REST_TIMEOUT,
) -> None:
    """From now on, every request of discord.py's session (REST calls, an interaction's
    follow-ups, the gateway's handshake) has `timeout` and runs through `middleware`.

    discord.py sends follow-ups with no time-out of its own, so aiohttp's default held one to a
    Discord that accepts and never answers for five minutes; and it lets nothing into the
    session but a TraceConfig, whose dozen signals per request cost far more than one
    middleware. The session is made at login: this is called once logged in (the login's own
    calls have `bound_rest_calls`, and go uncounted). Outermost, `follow_ups_sent_once` keeps
    discord.py from posting a follow-up again after a 5xx (`answers.py`), and `GlobalLimit`
    ends a global rate limit when Discord said."""
    session: aiohttp.ClientSession = getattr(http, "_HTTPClient__session")  # noqa: B009
    session._timeout = timeout
    session._middlewares = (
        follow_ups_sent_once,
        GlobalLimit(http),
        *session._middlewares,
        middleware,
    )


async def fresh_session(http: discord.http.HTTPClient) -> None:
    """Close the REST session a failed login opened; the next login opens a new one (each
    login makes a session, and one left open is reported as a leak when collected)."""
    await http.close()
    http.connector = aiohttp.TCPConnector(limit=0)


async def log_in(
    login: Callable[[], Awaitable[None]],
    http: discord.http.HTTPClient,
    backoff: Backoff,
    set_up: Callable[[], bool],
) -> None:
    """discord.py's login (who am I, the application, then `setup_hook`), until it gets through.

    A rejected token raises `discord.LoginFailure` at once. `set_up` says whether `setup_hook`
    has started: an error raised there is the bot's own (a disk, a database), not Discord's,
    and is raised rather than retried, since the hook is not run twice."""
    was_down = False

    async def attempt() -> None:
        nonlocal was_down
        try:
            await login()
        except NETWORK_ERRORS as exc:
            if set_up():
                raise SetupFailed(describe(exc)) from exc
            was_down = True
            raise

    await retried("Cannot reach Discord to log in", attempt, backoff, lambda: fresh_session(http))
    if was_down:
        log.info("Reached Discord; logged in")
