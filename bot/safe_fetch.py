"""The one way the bot and the local Pika fetch a URL that a member (or Pika) gave.

A member's `image_url` could name an address inside the machine or its network: 127.0.0.1,
`[::ffff:127.0.0.1]`, `2130706433`, a DNS name that resolves to 10.0.0.5, the cloud's metadata
service at 169.254.169.254, or a public URL that redirects to any of them. Whatever such a
fetch returns may end up in a public video, and the way it fails would tell open ports from
closed ones. So every fetch here:

- takes http and https only;
- resolves the host once, refuses it if ANY of its addresses is not a public unicast one
  (`refused_address`: loopback, private, link-local, CGNAT, multicast, reserved, unspecified,
  and IPv6 forms that embed such an IPv4 address: mapped, compatible, 6to4, NAT64, Teredo);
- connects to the address it checked, not to a second resolution (the URL is rewritten to the
  IP; the `Host` header, TLS SNI and certificate check keep the host name);
- follows at most three redirects by hand, each checked the same way;
- takes no proxy from the environment, and keeps no cookie for a later fetch, nor a connection
  unless it was made to fetch what Pika names (`keep_alive`);
- stops past a byte cap and a total time cap, and refuses a body compressed more than once;
- fails with `FetchError`, whose text says only "could not fetch <what>" (the reason goes to the
  log, for the owner), so a member learns nothing about what is behind an address.

An owner (or a test) may allow named private hosts with ALLOWED_PRIVATE_HOSTS (`host` or
`host:port`). Nothing here imports the rest of the bot: the local Pika uses it too.

httpx is the API; under it, aiohttp sends (`httpx-aiohttp`, as for the Pika client): httpx's
default transport (httpcore over anyio) spent most of the CPU of a result's download in its own
machinery. The transport passes the host name to aiohttp as `server_hostname` (SNI and the
certificate check), never follows a redirect and leaves the body encoded, so httpx decodes it
and the byte cap counts decoded bytes. Faults httpx-aiohttp passes on unnamed (aiohttp's
`ClientResponseError` for an answer that is not HTTP, any other aiohttp or TLS error, a
UnicodeError) are caught here too: a fetch fails with `FetchError` and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from bot.cookieless import CookielessClient
from bot.gunzip import Gunzip

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
DNS_TIMEOUT = 5.0
DEFAULT_TIMEOUT = 30.0
CHUNK = 1 << 16

# Networks that are not public unicast, beyond what `ipaddress` flags on its own.
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# What a fetch may fail with below this module: httpx's faults, and aiohttp's and TLS's that
# httpx-aiohttp passes on unnamed (an answer that is not HTTP is aiohttp's ClientResponseError),
# and a UnicodeError: httpx-aiohttp encodes the reason phrase again as UTF-8 (aiohttp decoded a
# Latin-1 one with surrogates), and httpx decodes a redirect's `xn--` name with IDNA. httpx
# also builds the request a redirect names while sending, followed or not: a Location that is
# no URL it can join (`javascript:alert(1)`, `data:,x`) is an InvalidURL, no HTTPError.
FAULTS = (httpx.HTTPError, httpx.InvalidURL, aiohttp.ClientError, ssl.SSLError, UnicodeError)


class FetchError(Exception):
    """A URL could not be fetched. Its text names only what was being fetched."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"could not fetch {what}")


class FetchTooLarge(FetchError):
    """The answer was larger than the cap (a public host only: refused ones are never asked)."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(what)
        self.limit = limit
        self.args = (f"{what} is larger than {limit >> 20} MiB",)


def refused_address(address: IPAddress) -> bool:
    """Whether an address is anything but public unicast, in any of its encodings."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refused_address(embedded)
        if any(address in net for net in NAT64):
            return True
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or (isinstance(address, ipaddress.IPv4Address) and address in CGNAT)
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: mapped, compatible, 6to4, NAT64 or Teredo."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64[0]:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for a host (numeric forms included)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class AllowedHost:
    """A private host an owner allows: a host name or address, and optionally one port."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> AllowedHost:
        """`host`, `host:port`, `[v6]` or `[v6]:port`; ValueError when it is none of them."""
        text = text.strip().lower()
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = rest.removeprefix(":") if rest.startswith(":") else None
            if rest and port is None:
                raise ValueError(f"{text!r} is not host or host:port")
        elif text.count(":") == 1:
            host, port = text.split(":")
        else:
            host, port = text, None
            if ":" in host and not _is_ip(host):  # a bare IPv6 address takes no port
                raise ValueError(f"{text!r} is not host or host:port")
        if not host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
            raise ValueError(f"{text!r} is not host or host:port")
        return cls(host, int(port) if port is not None else None)

    def matches(self, host: str, port: int) -> bool:
        """Whether a URL's host and port are this entry."""
        return host.lower() == self.host and self.port in (None, port)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_allowed_hosts(text: str) -> tuple[AllowedHost, ...]:
    """A comma-separated ALLOWED_PRIVATE_HOSTS value."""
    return tuple(AllowedHost.parse(part) for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Target:
    """One checked hop: the URL as given, and the address to connect to."""

    url: httpx.URL
    address: str


class SafeFetcher:
    """Fetches member-given URLs: checked addresses only, bounded in bytes and time."""

    def __init__(
        self,
        allowed: Iterable[AllowedHost] = (),
        *,
        resolver: Resolver = system_resolver,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        keep_alive: bool = False,
    ) -> None:
        """`ssl_context` checks certificates (default: certifi's authorities, as httpx's);
        `transport` replaces the aiohttp one (tests); `keep_alive` keeps connections for the
        next fetch, for a fetcher that only fetches what Pika names (its results), never a
        member's URL."""
        self.allowed = tuple(allowed)
        self._keep_alive = keep_alive
        self.resolver = resolver
        self.timeout = timeout
        if ssl_context is None:
            ssl_context = httpx.create_ssl_context(trust_env=False)
        self._tls = ssl_context
        if transport is None:
            transport = AiohttpTransport(verify=ssl_context, client=self._session)
        # No cookie kept (`CookielessClient`): requests go to an address, so a cookie one site
        # set would be sent to every other name on that address (a shared CDN's, say).
        self._http: httpx.AsyncClient = CookielessClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            headers={"User-Agent": "pika-discord-bot/0.1", "Accept-Encoding": "gzip"},
        )

    def _session(self) -> aiohttp.ClientSession:
        """aiohttp's session under the transport, made on the first fetch (inside the running
        loop: a fetcher may be built before one runs)."""
        # A member's URL gets a connection of its own (`force_close`): one fetch must not find
        # a connection another member's URL opened. Pika's results (`keep_alive`) come from a
        # few hosts, one after another: a kept connection spares each a TCP and TLS handshake.
        # aiohttp keys its pool by address, port and `server_hostname` (`_request` gives the
        # host name for http too), so two host names on one address never share a connection:
        # each has its certificate checked against its own name. No proxy from the environment
        # either: a proxy would connect to whatever it resolves, not to the address checked
        # here. No cookie jar (httpx's keeps nothing either).
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._tls, force_close=not self._keep_alive),
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def allow(self, host: AllowedHost) -> None:
        """Allow one more private host (the local Pika's own origin, for its results)."""
        self.allowed = (*self.allowed, host)

    async def aclose(self) -> None:
        """Close the HTTP client and aiohttp's session under it."""
        await self._http.aclose()

    async def check(self, url: str, what: str) -> Target:
        """Resolve and check a URL without fetching it; FetchError if it is refused."""
        try:
            parsed = httpx.URL(url.strip())
            host = parsed.host  # decoded here: an `xn--` name IDNA refuses is a UnicodeError
        except (httpx.InvalidURL, ValueError, TypeError):
            log.info("Fetch of %s refused: not a URL", what)
            raise FetchError(what) from None
        if parsed.scheme not in ("http", "https") or not host:
            log.info("Fetch of %s refused: scheme %r", what, parsed.scheme)
            raise FetchError(what)
        if parsed.userinfo:
            # Nothing fetched here logs in anywhere; and aiohttp refuses a URL with them beside
            # its own Authorization header with a ValueError, no fault of the fetch's.
            log.info("Fetch of %s refused: a user name or password in the URL", what)
            raise FetchError(what)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            async with asyncio.timeout(DNS_TIMEOUT):
                addresses = await self._addresses(host, port)
        except (OSError, TimeoutError, ValueError, UnicodeError):
            log.info("Fetch of %s refused: its host does not resolve", what)
            raise FetchError(what) from None
        if not addresses:
            raise FetchError(what)
        if any(refused_address(a) for a in addresses) and not any(
            entry.matches(host, port) for entry in self.allowed
        ):
            log.info("Fetch of %s refused: %s is not a public address", what, host)
            raise FetchError(what)
        return Target(parsed, str(addresses[0]))

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        found = await self.resolver(host, port)
        return [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]

    @contextlib.asynccontextmanager
    async def stream(self, url: str, what: str) -> AsyncIterator[httpx.Response]:
        """The response to GET `url` after at most three checked redirects; 200 only."""
        target = await self.check(url, what)
        for _ in range(MAX_REDIRECTS + 1):
            request = self._request(target)
            try:
                response = await self._http.send(request, stream=True)
            except FAULTS as exc:
                log.info("Fetch of %s failed: %s", what, fault_name(exc))
                raise FetchError(what) from None
            try:
                location = response.headers.get("Location")
                if response.is_redirect and location:
                    target = await self.check(str(target.url.join(location)), what)
                    continue
                if response.status_code != 200:
                    log.info("Fetch of %s failed: HTTP %d", what, response.status_code)
                    raise FetchError(what)
                # Only gzip is asked for, and undone here a bounded piece at a time (`read_into`):
                # httpx would undo a network chunk at once, each layer in turn, before the byte
                # cap looks (590 bytes of "gzip, gzip" took 768 MiB against a 1 MiB cap).
                if encoding(response) not in ("identity", "gzip"):
                    log.info("Fetch of %s refused: an encoding not asked for", what)
                    raise FetchError(what)
                yield response
                return
            finally:
                await response.aclose()
        log.info("Fetch of %s refused: more than %d redirects", what, MAX_REDIRECTS)
        raise FetchError(what)

    def _request(self, target: Target) -> httpx.Request:
        """GET the checked address, with the host name in Host and in TLS."""
        url = target.url
        host_header = url.netloc.decode("ascii")
        # httpx-aiohttp hands `sni_hostname` to aiohttp as `server_hostname`: the TLS name, and
        # part of the key of aiohttp's pool. Given for http too (where TLS does not use it), so
        # that a kept connection is never taken for another host name on its address.
        return self._http.build_request(
            "GET",
            url.copy_with(host=target.address),
            headers={"Host": host_header},
            extensions={"sni_hostname": url.host},
        )

    async def fetch(self, url: str, what: str, max_bytes: int) -> bytes:
        """The body at `url`, at most `max_bytes`; FetchError (or FetchTooLarge) otherwise."""
        chunks: list[bytes] = []
        await self.read_into(url, what, max_bytes, chunks.append)
        return b"".join(chunks)

    async def download(self, url: str, path: Path, what: str, max_bytes: int) -> int:
        """Write the body at `url` to `path`; return its size. Same caps and errors as fetch."""
        with path.open("wb") as out:
            return await self.read_into(url, what, max_bytes, out.write)

    async def read_into(
        self, url: str, what: str, max_bytes: int, sink: Callable[[bytes], object]
    ) -> int:
        """Stream the body into `sink`, chunk by chunk; return its size. The whole fetch
        (redirects too) within the time cap; same caps and errors as fetch."""
        size = sent = 0
        # What is sent is capped too: gzip makes no real file much larger, but a gzip body can
        # go on decoding to nothing (empty blocks, a name that never ends) until the time cap.
        sent_cap = max_bytes + max_bytes // 64 + CHUNK
        try:
            async with asyncio.timeout(self.timeout), self.stream(url, what) as response:
                declared = response.headers.get("Content-Length", "")
                gunzip = Gunzip() if encoding(response) == "gzip" else None
                if gunzip is None and declared.isdigit() and int(declared) > max_bytes:
                    raise FetchTooLarge(what, max_bytes)
                async for raw in response.aiter_raw(CHUNK):
                    sent += len(raw)
                    if sent > sent_cap:
                        raise FetchTooLarge(what, max_bytes)
                    for chunk in gunzip.feed(raw) if gunzip is not None else (raw,):
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchTooLarge(what, max_bytes)
                        sink(chunk)
                if gunzip is not None:
                    gunzip.end()
        except TimeoutError:
            log.info("Fetch of %s failed: over %g s", what, self.timeout)
            raise FetchError(what) from None
        except FAULTS as exc:
            log.info("Fetch of %s failed: %s", what, fault_name(exc))
            raise FetchError(what) from None
        except zlib.error:
            log.info("Fetch of %s failed: its gzip body is broken", what)
            raise FetchError(what) from None
        return size


def encoding(response: httpx.Response) -> str:
    """The response's content encoding: "identity", "gzip", or what else it says (several
    layers as one string, which nothing here undoes)."""
    codings = [c.strip().lower() for c in response.headers.get_list("Content-Encoding", True)]
    # "x-gzip" is gzip's old name, to be taken as gzip (RFC 9110, 8.4.1.3).
    layers = ["gzip" if c == "x-gzip" else c for c in codings if c and c != "identity"]
    return ", ".join(layers) or "identity"


def fault_name(exc: BaseException) -> str:
    """The fault's name for the owner's log, with the one behind it: httpx-aiohttp names a
    certificate refused, for instance, `ConnectTimeout`."""
    cause = exc.__cause__
    return f"{type(exc).__name__} ({type(cause).__name__})" if cause else type(exc).__name__
