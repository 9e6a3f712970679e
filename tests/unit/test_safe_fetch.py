"""The safe fetcher: internal addresses refused in every encoding, before any connection;
redirects checked; caps on bytes and time; TLS checked against the host name at the checked
address; no connection reused (but a results fetcher's, for its own host name only); one error
text whatever went wrong."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import socket
import ssl
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import trustme
from aiohttp import web

from bot.safe_fetch import (
    AllowedHost,
    FetchError,
    FetchTooLarge,
    SafeFetcher,
    parse_allowed_hosts,
    system_resolver,
)

# Names a stub DNS answers; every other name goes to the system resolver (numeric forms such
# as 2130706433 included, exactly as the bot resolves them).
DNS = {
    "internal.example": ["10.0.0.5"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "media.example": ["127.0.0.1"],  # allowed by name in the tests that fetch
    "other.example": ["127.0.0.1"],  # allowed too, but the TLS origin's certificate is not its
    "v6.example": ["::ffff:192.168.0.1"],
}


async def stub_resolver(host: str, port: int) -> list[str]:
    """A DNS that tests control."""
    if host in DNS:
        return DNS[host]
    return await system_resolver(host, port)


@dataclass
class Origin:
    """A loopback server that records every request it gets."""

    port: int = 0
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    client_ports: list[int] = field(default_factory=list)  # the connection each request came on
    sni: list[str | None] = field(default_factory=list)  # names asked for in TLS handshakes
    cookies: list[str | None] = field(default_factory=list)  # each request's Cookie header
    encodings: list[str | None] = field(default_factory=list)  # Accept-Encoding, where noted
    answering_huge: asyncio.Event = field(default_factory=asyncio.Event)  # huge.png on its way


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    """A throwaway certificate authority, trusted by `trusting` contexts only."""
    return trustme.CA()


def trusting(authority: trustme.CA) -> ssl.SSLContext:
    """A verifying client context that trusts the test authority."""
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    async with serving() as found:
        yield found


@pytest.fixture
async def tls_origin(authority: trustme.CA) -> AsyncIterator[Origin]:
    """The same origin over TLS, with a certificate for media.example only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("media.example").configure_cert(context)
    async with serving(context) as found:
        yield found


@contextlib.asynccontextmanager
async def serving(tls: ssl.SSLContext | None = None) -> AsyncIterator[Origin]:
    """A loopback origin on a free port, over TLS when given a server context."""
    found = Origin()
    if tls is not None:

        def heard(_: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
            found.sni.append(name)

        tls.sni_callback = heard

    async def handle(request: web.Request) -> web.StreamResponse:
        found.seen.append((request.path, request.headers.get("Host", "")))
        assert request.transport is not None
        found.client_ports.append(request.transport.get_extra_info("peername")[1])
        found.cookies.append(request.headers.get("Cookie"))
        name = request.match_info["name"]
        if name == "hop":
            hops = int(request.query.get("n", "1"))
            target = "/ok.png" if hops <= 1 else f"/hop?n={hops - 1}"
            raise web.HTTPFound(target)
        if name == "to-loopback":
            raise web.HTTPFound(f"http://127.0.0.1:{found.port}/secret.png")
        if name == "to-metadata":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        if name == "to-script":
            raise web.HTTPFound("javascript:alert(1)")
        if name == "to-data":
            raise web.HTTPFound("data:text/plain,hi")
        if name == "to-credentials":
            raise web.HTTPFound(f"http://user:secret@media.example:{found.port}/a.png")
        if name == "sets-a-cookie.png":
            answer = web.Response(body=b"PNGDATA")
            answer.set_cookie("session", "of-this-site")
            return answer
        if name == "big.png":
            return web.Response(body=b"x" * 5000, content_type="image/png")
        if name == "huge.png":  # more than the socket's buffers: still on its way at the cap
            found.answering_huge.set()
            return web.Response(body=b"x" * (8 << 20), content_type="image/png")
        if name == "missing-huge.png":  # an error page still on its way when refused
            return web.Response(status=404, body=b"x" * (8 << 20))
        if name == "hop-huge":  # a redirect whose body is still on its way when followed
            return web.Response(status=302, headers={"Location": "/a.png"}, body=b"x" * (8 << 20))
        if name == "broken-gzip-huge.png":  # broken early, the rest still on its way
            broken = bytearray(gzip.compress(b"a fox " * 10_000))
            broken[40:80] = bytes(range(40))
            body = bytes(broken) + b"x" * (8 << 20)
            return web.Response(body=body, headers={"Content-Encoding": "gzip"})
        if name == "gzipped.png":  # 5000 bytes sent as about 40
            body = gzip.compress(b"x" * 5000)
            return web.Response(body=body, headers={"Content-Encoding": "gzip"})
        if name == "x-gzipped.png":  # gzip's old name (RFC 9110: to be taken as gzip)
            body = gzip.compress(b"x" * 5000)
            return web.Response(body=body, headers={"Content-Encoding": "X-Gzip"})
        if name == "gzip-of-nothing.png":  # 3 MiB sent, decoding to no byte at all
            return web.Response(body=gzip_of_nothing(), headers={"Content-Encoding": "gzip"})
        if name == "gzipped-twice.png":  # each layer of a bomb multiplies by up to 1,000
            body = gzip.compress(gzip.compress(b"x" * 5000))
            return web.Response(body=body, headers={"Content-Encoding": "gzip, gzip"})
        if name == "bomb.png":  # one layer: 64 KiB sent, 64 MiB decoded
            found.encodings.append(request.headers.get("Accept-Encoding"))
            return web.Response(body=gzip_bomb(), headers={"Content-Encoding": "gzip"})
        if name == "brotli.png":  # an encoding the fetcher never asks for
            return web.Response(body=b"\x0b\x02\x80PNG\x03", headers={"Content-Encoding": "br"})
        if name == "cut-gzip.png":  # a gzip body that stops half way
            return web.Response(
                body=gzip.compress(b"x" * 5000)[:20], headers={"Content-Encoding": "gzip"}
            )
        if name == "slow.png":
            await asyncio.sleep(5)
        if name == "slow-body.png":  # a start, then nothing within the time cap
            started = web.StreamResponse(headers={"Content-Length": "100"})
            await started.prepare(request)
            await started.write(b"x" * 10)
            await asyncio.sleep(5)
            return started
        if name == "missing.png":
            raise web.HTTPNotFound()
        return web.Response(body=b"PNGDATA", content_type="image/png")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    found.port = runner.addresses[0][1]
    try:
        yield found
    finally:
        await runner.cleanup()


async def refused_alike(fetcher: SafeFetcher, url: str, max_bytes: int = 100) -> None:
    """Fetch `url` as an `image_url` and expect the one failure text, whatever went wrong; the
    fetcher is closed after."""
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url, "image_url", max_bytes)
    finally:
        await fetcher.aclose()
    assert str(caught.value) == "could not fetch image_url"


REFUSED = [
    "http://127.0.0.1:{port}/a.png",
    "http://localhost:{port}/a.png",
    "http://localhost.:{port}/a.png",
    "http://[::1]:{port}/a.png",
    "http://0.0.0.0:{port}/a.png",
    "http://0:{port}/a.png",
    "http://2130706433:{port}/a.png",  # 127.0.0.1 as one decimal number
    "http://017700000001:{port}/a.png",  # ... in octal
    "http://0x7f000001:{port}/a.png",  # ... in hex
    "http://0x7f.0.0.1:{port}/a.png",  # hex dotted
    "http://0177.0.0.1:{port}/a.png",  # octal dotted
    "http://127.1:{port}/a.png",  # short form
    "http://[::ffff:127.0.0.1]:{port}/a.png",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]:{port}/a.png",  # ... written in hex
    "http://[::127.0.0.1]:{port}/a.png",  # IPv4-compatible IPv6
    "http://[2002:7f00:1::]:{port}/a.png",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::7f00:1]:{port}/a.png",  # NAT64 of 127.0.0.1
    "http://[::]:{port}/a.png",
    "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
    "http://100.64.0.1/a.png",  # CGNAT
    "http://10.0.0.5/a.png",
    "http://172.16.0.1/a.png",
    "http://192.168.1.1/a.png",
    "http://224.0.0.1/a.png",  # multicast
    "http://240.0.0.1/a.png",  # reserved
    "http://255.255.255.255/a.png",  # broadcast
    "http://[fe80::1]/a.png",  # link-local
    "http://[fc00::1]/a.png",  # unique local
    "http://[ff02::1]/a.png",  # IPv6 multicast
    "http://internal.example/a.png",  # a DNS name that resolves to a private address
    "http://metadata.example/a.png",
    "http://mixed.example/a.png",  # one public and one loopback address: refused
    "http://v6.example/a.png",
    "http://no-such-host.invalid/a.png",
    "ftp://127.0.0.1/a.png",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_a",
    "not a url",
    "http://xn--ls8h.la/a.png",  # a name IDNA refuses (an emoji's punycode)
]


@pytest.mark.parametrize("url", REFUSED)
async def test_internal_addresses_are_refused_in_every_encoding_without_a_connection(
    origin: Origin, url: str
) -> None:
    fetcher = SafeFetcher(resolver=stub_resolver, timeout=5)
    await refused_alike(fetcher, url.format(port=origin.port), 1 << 20)
    assert origin.seen == []  # nothing was asked of the address behind the URL


async def test_an_allowed_host_is_fetched_at_the_address_checked_with_its_host_name(
    origin: Origin,
) -> None:
    allowed = [AllowedHost("media.example", origin.port)]
    fetcher = SafeFetcher(allowed, resolver=stub_resolver, timeout=5)
    try:
        body = await fetcher.fetch(f"http://media.example:{origin.port}/a.png", "image", 100)
        hopped = await fetcher.fetch(f"http://media.example:{origin.port}/hop?n=3", "image", 100)
    finally:
        await fetcher.aclose()
    assert body == hopped == b"PNGDATA"
    assert origin.seen[0] == ("/a.png", f"media.example:{origin.port}")


async def test_https_goes_to_the_checked_address_with_the_host_name_in_sni_and_certificate(
    tls_origin: Origin, authority: trustme.CA
) -> None:
    # media.example resolves to 127.0.0.1 and its certificate names media.example only: the
    # fetch succeeds only if it connects to the address and checks the certificate on the name.
    allowed = [AllowedHost("media.example", tls_origin.port)]
    fetcher = SafeFetcher(
        allowed, resolver=stub_resolver, timeout=5, ssl_context=trusting(authority)
    )
    try:
        body = await fetcher.fetch(f"https://media.example:{tls_origin.port}/a.png", "image", 100)
    finally:
        await fetcher.aclose()
    assert body == b"PNGDATA"
    assert tls_origin.sni == ["media.example"]
    assert tls_origin.seen == [("/a.png", f"media.example:{tls_origin.port}")]


@pytest.mark.parametrize(
    ("host", "trusted"),
    [
        ("other.example", True),  # the certificate is for media.example, not for this name
        ("media.example", False),  # the right name, from an authority nobody trusts
    ],
)
async def test_a_certificate_not_for_the_name_or_from_an_unknown_authority_is_refused(
    tls_origin: Origin, authority: trustme.CA, host: str, trusted: bool
) -> None:
    fetcher = SafeFetcher(
        [AllowedHost(host, tls_origin.port)],
        resolver=stub_resolver,
        timeout=5,
        ssl_context=trusting(authority) if trusted else None,
    )
    await refused_alike(fetcher, f"https://{host}:{tls_origin.port}/a.png")
    assert tls_origin.seen == []  # no request was sent over the refused connection


async def test_no_connection_is_reused_between_fetches_or_redirects(origin: Origin) -> None:
    allowed = [AllowedHost("media.example", origin.port)]
    fetcher = SafeFetcher(allowed, resolver=stub_resolver, timeout=5)
    base = f"http://media.example:{origin.port}"
    try:
        for path in ("a.png", "a.png", "hop?n=2"):
            assert await fetcher.fetch(f"{base}/{path}", "image", 100) == b"PNGDATA"
    finally:
        await fetcher.aclose()
    assert len(origin.seen) == 5  # two fetches, then two hops and their end
    assert len(set(origin.client_ports)) == 5  # each on a connection of its own


async def test_a_results_fetcher_keeps_its_connection_but_not_one_left_mid_body(
    origin: Origin,
) -> None:
    # Pika's results, one after another: no TCP handshake for each. A body cut at the cap
    # leaves unread bytes on its connection, which must never be read as the next answer.
    allowed = [AllowedHost("media.example", origin.port)]
    fetcher = SafeFetcher(allowed, resolver=stub_resolver, timeout=5, keep_alive=True)
    base = f"http://media.example:{origin.port}"
    try:
        for _ in range(3):
            assert await fetcher.fetch(f"{base}/a.png", "the video", 100) == b"PNGDATA"
        assert len(set(origin.client_ports)) == 1
        with pytest.raises(FetchTooLarge):
            await fetcher.fetch(f"{base}/huge.png", "the video", 4096)
        assert await fetcher.fetch(f"{base}/a.png", "the video", 100) == b"PNGDATA"
    finally:
        await fetcher.aclose()
    assert len(set(origin.client_ports)) == 2  # the cut one was closed, a new one opened


@pytest.mark.parametrize(
    "cut", ["missing-huge.png", "hop-huge", "broken-gzip-huge.png", "cancelled", "timed-out"]
)
async def test_a_results_fetcher_never_keeps_a_connection_left_mid_body(
    origin: Origin, cut: str
) -> None:
    # Whatever ended a fetch before its body was read (an error status, a redirect, a broken
    # gzip stream, a cancellation, the time cap), the bytes still coming must not be read as
    # the next fetch's answer: that connection is closed, not kept.
    allowed = [AllowedHost("media.example", origin.port)]
    fetcher = SafeFetcher(allowed, resolver=stub_resolver, timeout=2, keep_alive=True)
    base = f"http://media.example:{origin.port}"
    try:
        assert await fetcher.fetch(f"{base}/a.png", "the video", 100) == b"PNGDATA"
        if cut == "cancelled":
            task = asyncio.ensure_future(fetcher.fetch(f"{base}/huge.png", "the video", 1 << 30))
            await origin.answering_huge.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        elif cut == "hop-huge":  # followed on a connection of its own
            assert await fetcher.fetch(f"{base}/{cut}", "the video", 100) == b"PNGDATA"
        else:
            path = "slow-body.png" if cut == "timed-out" else cut
            with pytest.raises(FetchError):
                await fetcher.fetch(f"{base}/{path}", "the video", 1 << 30)
        cut_on = origin.client_ports[1]
        assert await fetcher.fetch(f"{base}/a.png", "the video", 100) == b"PNGDATA"
        assert await fetcher.fetch(f"{base}/a.png", "the video", 100) == b"PNGDATA"
    finally:
        await fetcher.aclose()
    assert cut_on not in origin.client_ports[2:]
    assert len(set(origin.client_ports[-2:])) == 1  # a new connection, kept in turn


async def test_a_kept_connection_is_never_used_for_another_host_name_on_its_address(
    tls_origin: Origin, authority: trustme.CA
) -> None:
    # Both names are on one address; the certificate is for media.example only. Were the
    # connection kept for media.example taken for other.example, its fetch would pass unchecked.
    allowed = [AllowedHost(h, tls_origin.port) for h in ("media.example", "other.example")]
    fetcher = SafeFetcher(
        allowed,
        resolver=stub_resolver,
        timeout=5,
        ssl_context=trusting(authority),
        keep_alive=True,
    )
    try:
        url = f"https://media.example:{tls_origin.port}/a.png"
        assert await fetcher.fetch(url, "the video", 100) == b"PNGDATA"
        with pytest.raises(FetchError):
            await fetcher.fetch(f"https://other.example:{tls_origin.port}/a.png", "the video", 100)
        assert await fetcher.fetch(url, "the video", 100) == b"PNGDATA"
    finally:
        await fetcher.aclose()
    assert tls_origin.sni == ["media.example", "other.example"]  # media's was kept, once
    assert [path for path, _ in tls_origin.seen] == ["/a.png", "/a.png"]


async def test_a_kept_plain_http_connection_is_kept_for_its_own_host_name_only(
    origin: Origin,
) -> None:
    # Without TLS, aiohttp keys its pool by address and port alone unless it is given the
    # host name: a connection kept for one name was taken for another name on that address.
    allowed = [AllowedHost(h, origin.port) for h in ("media.example", "other.example")]
    fetcher = SafeFetcher(allowed, resolver=stub_resolver, timeout=5, keep_alive=True)
    try:
        for host in ("media.example", "other.example", "media.example", "other.example"):
            url = f"http://{host}:{origin.port}/a.png"
            assert await fetcher.fetch(url, "the video", 100) == b"PNGDATA"
    finally:
        await fetcher.aclose()
    by_name: dict[str, set[int]] = {}
    for (_, host), port in zip(origin.seen, origin.client_ports, strict=True):
        by_name.setdefault(host.partition(":")[0], set()).add(port)
    # One connection for each name, kept for it, and never the other's.
    assert [len(ports) for ports in by_name.values()] == [1, 1]
    assert not by_name["media.example"] & by_name["other.example"]


async def test_a_kept_connection_the_server_dropped_does_not_fail_a_fetch() -> None:
    # A server drops an idle connection when it likes; its close may cross the next request
    # on the wire. Each connection here answers one request, then closes on the next one
    # unanswered: aiohttp sends a GET again once on a new connection (RFC 9112, 9.3.1).
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nPNGDATA")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")  # the next request: dropped unanswered
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    allowed = [AllowedHost("media.example", port)]
    fetcher = SafeFetcher(allowed, resolver=stub_resolver, timeout=5, keep_alive=True)
    try:
        for _ in range(3):
            url = f"http://media.example:{port}/a.png"
            assert await fetcher.fetch(url, "the video", 100) == b"PNGDATA"
    finally:
        await fetcher.aclose()
        server.close()
        await server.wait_closed()
    assert connections == 3  # each later fetch found its kept connection dropped


async def test_no_cookie_is_kept_for_a_later_fetch_of_any_name(origin: Origin) -> None:
    # Both names are on one address (a shared CDN's, say): what one site set must not reach
    # the other, nor the same site again.
    allowed = [AllowedHost("media.example", origin.port), AllowedHost("other.example")]
    fetcher = SafeFetcher(allowed, resolver=stub_resolver, timeout=5)
    try:
        for url in ("media.example:{port}/sets-a-cookie.png", "media.example:{port}/a.png"):
            await fetcher.fetch("http://" + url.format(port=origin.port), "image", 100)
        await fetcher.fetch(f"http://other.example:{origin.port}/a.png", "image", 100)
    finally:
        await fetcher.aclose()
    assert origin.cookies == [None, None, None]


async def test_no_proxy_is_taken_from_the_environment(
    origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would connect to whatever it resolves, not to the address checked. This one
    # refuses every connection: a fetch through it would fail.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy)
        fetcher = SafeFetcher(
            [AllowedHost("media.example", origin.port)], resolver=stub_resolver, timeout=5
        )
        try:
            body = await fetcher.fetch(f"http://media.example:{origin.port}/a.png", "image", 100)
        finally:
            await fetcher.aclose()
    assert body == b"PNGDATA"


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        # A reason phrase that is not UTF-8 (Latin-1): httpx-aiohttp fails to encode it again
        # (a UnicodeError), which must read like any other failure.
        b"HTTP/1.1 200 \xc9tat\r\nContent-Length: 7\r\n\r\nPNGDATA",
        # A redirect to a name IDNA refuses.
        b"HTTP/1.1 302 Found\r\nLocation: http://xn--ls8h.la/\r\nContent-Length: 0\r\n\r\n",
    ],
    ids=["not-http", "latin-1-reason", "redirect-to-a-bad-name"],
)
async def test_an_answer_that_is_not_http_fails_like_any_other_fetch(answer: bytes) -> None:
    async def babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(babble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fetcher = SafeFetcher(parse_allowed_hosts(f"127.0.0.1:{port}"), timeout=5)
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"http://127.0.0.1:{port}/a.png", "image_url", 100)
    finally:
        await fetcher.aclose()
        server.close()
        await server.wait_closed()
    assert str(caught.value) == "could not fetch image_url"


@pytest.mark.parametrize(
    ("path", "seen"),
    [
        ("to-loopback", ["/to-loopback"]),  # the redirect is followed to a refused address: no
        ("to-metadata", ["/to-metadata"]),
        # A user name and password in the link: aiohttp refused it with a ValueError, which
        # escaped as "Something went wrong" for a member whose link redirected there.
        ("to-credentials", ["/to-credentials"]),
        # A Location that is no URL to join: httpx's InvalidURL escaped as "Something went wrong".
        ("to-script", ["/to-script"]),
        ("to-data", ["/to-data"]),
        ("hop?n=4", ["/hop", "/hop", "/hop", "/hop"]),  # more than three redirects
        ("missing.png", ["/missing.png"]),
    ],
)
async def test_redirects_are_checked_and_bounded_and_failures_all_read_alike(
    origin: Origin, path: str, seen: list[str]
) -> None:
    fetcher = SafeFetcher(
        [AllowedHost("media.example", origin.port)], resolver=stub_resolver, timeout=5
    )
    await refused_alike(fetcher, f"http://media.example:{origin.port}/{path}")
    assert [p for p, _ in origin.seen] == seen


async def test_a_link_with_a_user_name_or_password_is_refused_unfetched(origin: Origin) -> None:
    fetcher = SafeFetcher(
        [AllowedHost("media.example", origin.port)], resolver=stub_resolver, timeout=5
    )
    before = len(origin.seen)
    await refused_alike(fetcher, f"http://user:secret@media.example:{origin.port}/a.png")
    assert len(origin.seen) == before


async def test_bytes_and_time_are_capped(origin: Origin) -> None:
    allowed = parse_allowed_hosts(f"127.0.0.1:{origin.port}")
    fetcher = SafeFetcher(allowed, timeout=0.5)
    base = f"http://127.0.0.1:{origin.port}"
    try:
        with pytest.raises(FetchTooLarge):
            await fetcher.fetch(f"{base}/big.png", "image", 4096)
        # A compressed body is capped on what it decodes to, not on what was sent.
        with pytest.raises(FetchTooLarge):
            await fetcher.fetch(f"{base}/gzipped.png", "image", 4096)
        assert await fetcher.fetch(f"{base}/gzipped.png", "image", 5000) == b"x" * 5000
        assert await fetcher.fetch(f"{base}/x-gzipped.png", "image", 5000) == b"x" * 5000
        started = asyncio.get_running_loop().time()
        with pytest.raises(FetchError):
            await fetcher.fetch(f"{base}/slow.png", "image", 4096)
        assert asyncio.get_running_loop().time() - started < 2
        # The allowance is for that port only.
        with pytest.raises(FetchError):
            await fetcher.fetch(f"http://127.0.0.1:{origin.port + 1}/a.png", "image", 4096)
    finally:
        await fetcher.aclose()


@functools.cache
def gzip_bomb() -> bytes:
    return gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)


async def test_a_gzip_bomb_is_decoded_no_further_than_the_cap_in_memory(origin: Origin) -> None:
    # httpx undoes a 16 KiB network chunk of it at once, about 16 MiB, before any cap looks.
    fetcher = SafeFetcher(parse_allowed_hosts(f"127.0.0.1:{origin.port}"), timeout=10)
    gzip_bomb()  # made before memory is traced: the server's 64 MiB of zeros is not ours
    tracemalloc.start()
    try:
        with pytest.raises(FetchTooLarge):
            await fetcher.fetch(f"http://127.0.0.1:{origin.port}/bomb.png", "image", 10**6)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await fetcher.aclose()
    assert peak < 4 * 1024 * 1024  # the 1 MB kept, and a piece or two in flight
    assert origin.encodings == ["gzip"]  # the only encoding it can undo, and asks for


def gzip_of_nothing() -> bytes:
    """A valid gzip body of 3 MiB whose deflate blocks are all empty: it decodes to b""."""
    empty_block = b"\x00\x00\x00\xff\xff"  # a stored block of length 0, not the last
    deflate = empty_block * (3 * 1024 * 1024 // len(empty_block)) + b"\x03\x00"
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + deflate + struct.pack("<II", zlib.crc32(b""), 0)


async def test_a_gzip_body_is_capped_on_the_bytes_sent_too(origin: Origin) -> None:
    # A gzip body can go on for ever decoding to nothing (empty blocks, a name that never
    # ends): counting only decoded bytes, the fetch would read at line speed until the time cap.
    fetcher = SafeFetcher(parse_allowed_hosts(f"127.0.0.1:{origin.port}"), timeout=10)
    try:
        with pytest.raises(FetchTooLarge):
            await fetcher.fetch(
                f"http://127.0.0.1:{origin.port}/gzip-of-nothing.png", "image", 10**6
            )
    finally:
        await fetcher.aclose()


@pytest.mark.parametrize("name", ["brotli.png", "cut-gzip.png"])
async def test_a_body_in_an_encoding_not_asked_for_or_broken_fails_the_fetch(
    origin: Origin, name: str
) -> None:
    fetcher = SafeFetcher(parse_allowed_hosts(f"127.0.0.1:{origin.port}"), timeout=5)
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"http://127.0.0.1:{origin.port}/{name}", "image", 10**6)
    finally:
        await fetcher.aclose()
    assert str(caught.value) == "could not fetch image"


async def test_a_body_encoded_twice_is_refused_before_it_is_decoded(origin: Origin) -> None:
    # The cap is checked on each decoded chunk, but httpx decodes a whole network chunk (16 KiB)
    # at once, layer after layer: 590 bytes of "gzip, gzip" decode to 256 MiB in one call,
    # far past any cap. No image or video is sent compressed twice.
    fetcher = SafeFetcher(parse_allowed_hosts(f"127.0.0.1:{origin.port}"), timeout=5)
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(
                f"http://127.0.0.1:{origin.port}/gzipped-twice.png",
                "image",
                10**6,
            )
    finally:
        await fetcher.aclose()
    assert str(caught.value) == "could not fetch image"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("", ()),
        ("cdn.local", (AllowedHost("cdn.local"),)),
        ("127.0.0.1:8000, Media.Lan", (AllowedHost("127.0.0.1", 8000), AllowedHost("media.lan"))),
        ("[::1]:9000", (AllowedHost("::1", 9000),)),
    ],
)
def test_allowed_private_hosts_are_read_from_host_or_host_port(
    text: str, parsed: tuple[AllowedHost, ...]
) -> None:
    assert parse_allowed_hosts(text) == parsed


@pytest.mark.parametrize("text", ["host:port", "host:0", "a:b:c", "[::1]x"])
def test_a_bad_allowed_host_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="host or host:port"):
        parse_allowed_hosts(text)
