"""The transport under the bot's httpx client: aiohttp's connection pool, with faults named so
that the paid call can tell "not sent" from "outcome unknown".

httpx stays the bot's HTTP API; its default pool (httpcore over anyio) cost 2-4 ms of CPU per
request with many requests in flight on the benchmark's machine, against 0.5-0.9 ms through
aiohttp (`httpx-aiohttp`, by httpx's maintainer; aiohttp is already the bot's server and
discord.py's client). That package names every connection fault `ConnectTimeout`, which the
fault policy reads as "nothing was sent": a connection lost while reading an answer would then
be sent again, and paid twice. `FaultNamingTransport` names them again:
- the connection could not be made (refused, DNS, TLS, a connect time-out): nothing was sent
  (`httpx.ConnectError`, `httpx.ConnectTimeout`);
- anything after it was made (the server disconnected, a reset, a read time-out, a broken
  body): the request may have been received (`httpx.ReadError`, `httpx.ReadTimeout`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from bot.cookieless import CookielessClient

# aiohttp's exceptions, most specific first, and the httpx fault each one means.
FAULTS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientConnectionError, httpx.ReadError),
)


def fault_of(exc: BaseException) -> type[httpx.TransportError] | None:
    """The httpx fault an aiohttp exception means, if it is one of the transport's."""
    for raised, meant in FAULTS:
        if isinstance(exc, raised):
            return meant
    return None


def renamed(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """The fault `exc` (as httpx-aiohttp named it) means, by the aiohttp exception behind it."""
    cause = exc.__cause__
    meant = fault_of(cause) if cause is not None else None
    if meant is None or isinstance(exc, meant):
        return exc
    named = meant(str(exc), request=request)
    named.__cause__ = cause
    return named


class FaultNamingStream(httpx.AsyncByteStream):
    """An answer's body: a fault while it is read means the request was received."""

    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except httpx.TransportError as exc:
            raise renamed(exc, self._request) from exc.__cause__

    async def aclose(self) -> None:
        await self._stream.aclose()


class FaultNamingTransport(AiohttpTransport):
    """httpx over aiohttp's pool, with connection faults named by whether a request left."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through aiohttp; a fault is raised as the httpx fault it means."""
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise renamed(exc, request) from exc.__cause__
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = FaultNamingStream(response.stream, request)
        return response


# Many concurrent calls (polls of thousands of jobs, result downloads) share one client: enough
# connections that polls rarely queue for one, kept alive so that a poll costs no handshake.
POOL_LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=64, keepalive_expiry=30)


def shared_http_client(timeout: float = 30.0) -> httpx.AsyncClient:
    """The one HTTP client of the bot (the Pika API and result downloads), tuned for many
    concurrent calls: aiohttp's pool under httpx (this module: a fifth of the CPU per
    request), a bounded pool of kept-alive connections, no environment lookups (proxies,
    .netrc) and no cookie jar on each request."""
    return CookielessClient(
        transport=FaultNamingTransport(limits=POOL_LIMITS, trust_env=False),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        trust_env=False,
        headers={"User-Agent": "pika-discord-bot/0.1"},
        follow_redirects=False,
    )
