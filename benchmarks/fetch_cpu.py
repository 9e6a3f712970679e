"""Micro-benchmark: the client's CPU per download through the safe fetcher, by transport.

An aiohttp origin in its own process serves a 300 KB body; this process downloads it `--count`
times through `SafeFetcher.download` into a new file (as a result's video is fetched for upload),
one at a time, then as many again `--concurrency` at a time, and prints the CPU milliseconds this
process spent per download (`time.process_time()`), for:
- `httpcore`: httpx's default transport, as the fetcher had it (no kept-alive connection);
- `aiohttp`: the fetcher's transport now (httpx-aiohttp, a fresh connection per request), as
  for a member's URL;
- `kept`: the same with `keep_alive`, as the fetcher of Pika's results (connections kept).
`--tls` serves HTTPS with a throwaway authority (trustme): each download then pays a handshake.

Figures are printed, not asserted. Run: `.venv/bin/python benchmarks/fetch_cpu.py [--tls]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trustme
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.safe_fetch import AllowedHost, SafeFetcher  # noqa: E402

BODY = os.urandom(300_000)  # incompressible, like a video (each process draws its own)


def serve(cert_file: str | None) -> None:
    """The origin (in the child process): GET /video.mp4 answers BODY; its port goes to stdout."""
    tls = None
    if cert_file:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert_file)

    async def video(_: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="video/mp4")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/video.mp4", video)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def httpcore_transport(tls: ssl.SSLContext) -> httpx.AsyncBaseTransport:
    """httpx's default transport as the fetcher configured it before."""
    return httpx.AsyncHTTPTransport(
        verify=tls, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
    )


async def measure(name: str, fetcher: SafeFetcher, url: str, count: int, concurrency: int) -> None:
    """Print CPU ms per download, one at a time and `concurrency` at a time; close `fetcher`."""
    with tempfile.TemporaryDirectory() as folder:

        async def one(i: int) -> None:
            path = Path(folder, f"{i}.mp4")  # a new file each time, removed after, as for uploads
            size = await fetcher.download(url, path, "the video", 1 << 20)
            os.unlink(path)
            assert size == len(BODY)

        try:
            await one(0)  # warm: the session, imports, caches
            for width in (1, concurrency):
                started, wall = time.process_time(), time.perf_counter()
                for first in range(0, count, width):
                    await asyncio.gather(*(one(i) for i in range(first, first + width)))
                cpu = (time.process_time() - started) * 1000 / count
                print(
                    f"{name:9} {width:3} at a time: {cpu:6.2f} ms CPU per download"
                    f" ({time.perf_counter() - wall:5.2f} s wall for {count})"
                )
        finally:
            await fetcher.aclose()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cert_file = None
        client_tls = ssl.create_default_context()
        if args.tls:
            authority = trustme.CA()
            cert_file = str(Path(folder, "cert.pem"))
            authority.issue_cert("media.example").private_key_and_cert_chain_pem.write_to_path(
                cert_file
            )
            authority.configure_trust(client_tls)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            *([cert_file] if cert_file else []),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert child.stdout is not None
            port = int(await child.stdout.readline())

            async def resolve(host: str, _: int) -> list[str]:
                return ["127.0.0.1"]

            allowed = [AllowedHost("media.example", port)]
            scheme = "https" if args.tls else "http"
            url = f"{scheme}://media.example:{port}/video.mp4"
            print(f"{os.cpu_count()} cores; {len(BODY)} bytes x {args.count}; {scheme}")
            old = httpcore_transport(client_tls)
            for name, transport, keep_alive in (
                ("httpcore", old, False),
                ("aiohttp", None, False),
                ("kept", None, True),
            ):
                fetcher = SafeFetcher(
                    allowed,
                    resolver=resolve,
                    ssl_context=client_tls,
                    transport=transport,
                    keep_alive=keep_alive,
                )
                await measure(name, fetcher, url, args.count, args.concurrency)
        finally:
            child.terminate()
            await child.wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--count", type=int, default=300)
        parser.add_argument("--concurrency", type=int, default=16)
        parser.add_argument("--tls", action="store_true")
        asyncio.run(main(parser.parse_args()))
