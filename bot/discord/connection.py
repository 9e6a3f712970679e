"""Reaching Discord: the login and the gateway, retried with capped backoff, one line a failure.

discord.py's own loop (`Client.connect`) logs every failed attempt with a full traceback, lets
its backoff grow to seventeen minutes, and crashes on `self.ws.sequence` when the very first
gateway connection fails (discord.py issue #10520: `ws` is still None); a failed login is not
retried at all, and a REST call to a host that accepts and never answers waits five minutes
(aiohttp's default). Here:

- every REST call has a connect and a read timeout (`bound_rest_calls`);
- a network failure of the login, the command sync or the gateway is one WARNING line saying
  what failed and when the next try is, with backoff from one second to a minute;
- what no retry can fix (a rejected token, a refused intent, a bad shard) is raised to
  `bot.app`, which says it in one line and exits 2.

The gateway loop follows discord.py 2.7's `Client.connect` (`DiscordWebSocket.from_client`,
`ReconnectWebSocket`, resuming with the last sequence), which is why discord.py is pinned to a
minor version.
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
from discord.gateway import DiscordWebSocket, ReconnectWebSocket

log = logging.getLogger(__name__)

T = TypeVar("T")

# Failures of the network or of Discord's side, which a later try may not meet.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    aiohttp.ClientError,
    TimeoutError,
    discord.GatewayNotFound,
    discord.DiscordServerError,
)
# Every REST call: ten seconds to connect, thirty without a byte of the answer (counted from
# the end of the upload, so a large video is not cut short), no limit on the whole.
REST_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=30.0)
HANDSHAKE_TIMEOUT = 30.0  # the gateway's HELLO after connecting (discord.py waits 60 s)
FIRST_RETRY, MAX_RETRY = 1.0, 60.0
# Gateway close codes that no reconnect can fix: a bad token, then sharding, API version and
# intents that Discord refuses.
TOKEN_REFUSED = 4004
INTENTS_REFUSED = 4014


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


async def stay_connected(
    client: discord.Client, backoff: Backoff, handshake_timeout: float = HANDSHAKE_TIMEOUT
) -> None:
    """Hold the gateway connection until the client is closed: resume where Discord allows,
    identify afresh where it does not, wait and retry after a network failure."""
    params: dict[str, Any] = {"initial": True, "shard_id": client.shard_id}
    ws: DiscordWebSocket | None = None  # the last socket that got through the handshake
    failures = 0
    while not client.is_closed():
        try:
            ws = await asyncio.wait_for(
                DiscordWebSocket.from_client(client, **params), timeout=handshake_timeout
            )
            client.ws = ws
            params["initial"] = False
            if failures:
                log.info("Connected to the Discord gateway again")
            failures = 0
            backoff.reset()
            while True:
                await ws.poll_event()
        except ReconnectWebSocket as exc:
            client.dispatch("disconnect")
            assert ws is not None  # raised only by a socket that got through
            params.update(sequence=ws.sequence, resume=exc.resume, session=ws.session_id)
            if exc.resume:
                params["gateway"] = ws.gateway
        except discord.ConnectionClosed as exc:
            client.dispatch("disconnect")
            if client.is_closed():
                return
            if exc.code == TOKEN_REFUSED:
                raise discord.LoginFailure("The gateway refused the token.") from None
            if exc.code == INTENTS_REFUSED:
                raise discord.PrivilegedIntentsRequired(exc.shard_id) from None
            if exc.code != 1000:  # sharding, API version or intents: no retry fixes these
                raise
            failures += 1
            await _wait(exc, backoff)
            params.update(_resume(ws))
        except NETWORK_ERRORS as exc:
            client.dispatch("disconnect")
            if client.is_closed():
                return
            failures += 1
            await _wait(exc, backoff)
            params.update(_resume(ws))


async def _wait(exc: BaseException, backoff: Backoff) -> None:
    wait = backoff.next()
    log.warning("Discord gateway: %s; retrying in %.0fs", describe(exc), wait)
    await asyncio.sleep(wait)


def _resume(ws: DiscordWebSocket | None) -> dict[str, Any]:
    """After a failure: resume the session if one was ever opened, else identify afresh (where
    discord.py reads `ws.sequence` of a socket that never was, and crashes)."""
    if ws is None:
        return {}
    return {
        "sequence": ws.sequence,
        "gateway": ws.gateway,
        "resume": True,
        "session": ws.session_id,
    }
