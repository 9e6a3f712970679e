"""`python -m bot.pika.local`: run the local Pika on its own, for anyone building on the API."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from bot import event_loop
from bot.pika.local.app import running_local_pika
from bot.pika.local.renders import Capacity
from bot.safe_fetch import AllowedHost


async def serve(args: argparse.Namespace) -> None:
    """Serve until interrupted."""
    async with running_local_pika(
        job_seconds=args.job_seconds,
        host=args.host,
        port=args.port,
        api_key=args.key,
        files_dir=args.files_dir,
        capacity=Capacity(max_renders=args.max_renders, render_seconds=args.render_seconds),
        allowed_hosts=[AllowedHost.parse(entry) for entry in args.allow],
    ) as pika:
        print(f"Local Pika at {pika.base_url}  (API key: {pika.api_key})", flush=True)
        print(
            f"Try: curl -H 'Authorization: Bearer {pika.api_key}' {pika.base_url}/_local/behaviour"
        )
        await asyncio.Event().wait()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description="A local Pika Web Bot API that renders real MP4s.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key", default="local-pika-key", help="the Bearer key to accept")
    parser.add_argument("--job-seconds", type=float, default=8.0, help="how long a job takes")
    parser.add_argument("--files-dir", type=Path, default=None, help="keep jobs and videos here")
    parser.add_argument("--max-renders", type=int, default=2, help="renders at once")
    parser.add_argument(
        "--render-seconds", type=float, default=300.0, help="a render's time cap, in seconds"
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="a private host inputs may be fetched from (loopback, LAN); repeatable",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        event_loop.run(serve(args))


if __name__ == "__main__":
    main()
