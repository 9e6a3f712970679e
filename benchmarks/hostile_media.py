"""Benchmark: peak memory under the hostile inputs of issue 12, while other jobs still finish.

The hostile inputs, made here with PyAV and Pillow: a 198 KB MP4 of 8192x8192, four 20 KB PNGs
of 13000x13000, a 2 KB MP4 that claims ten hours; plus queued jobs with ordinary inputs.

1. The local Pika in its own process (`python -m bot.pika.local`), sent the hostile requests
   directly on its API (as if nothing stood before it), then ordinary jobs: prints each job's
   outcome, seconds to finish, and the process's peak RSS (VmHWM).
2. The bot (`python -m bot`, with its embedded local Pika) against the test suite's fake
   Discord: members attach the hostile files to /pika commands while another asks for ordinary
   videos: prints what the members were answered, and the bot process's peak RSS.

Target: peak RSS under 400 MB in both, and every ordinary job finished. Figures are printed,
not asserted. Run: `.venv/bin/python benchmarks/hostile_media.py` (about a minute).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.pika.models import Generate10Request, Generate20Request, Options  # noqa: E402
from tests.e2e.harness import BotProcess, bot_env, private_answer, results  # noqa: E402
from tests.fake_discord import running_fake_discord  # noqa: E402
from tests.fake_discord.world import GENERAL, MEMBER, REQUESTER  # noqa: E402
from tests.helpers.ports import reserved_port  # noqa: E402
from tests.media import huge_mp4, huge_png, long_claim_mp4, png  # noqa: E402

KEY = "bench-key"
TARGET_MB = 400


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (Linux: VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Media:
    """Serves the benchmark's files on loopback."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.base_url = ""

    async def start(self) -> web.AppRunner:
        async def serve(request: web.Request) -> web.Response:
            body, kind = self.files[request.match_info["name"]]
            return web.Response(body=body, content_type=kind)

        app = web.Application()
        app.router.add_get("/{name}", serve)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return runner

    def put(self, name: str, body: bytes, kind: str) -> str:
        self.files[name] = (body, kind)
        return f"{self.base_url}/{name}"


async def finish(http: httpx.AsyncClient, job_id: str, limit: float = 120) -> tuple[str, str]:
    """Poll a job until it ends; its status and reason."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        answer = (await http.get(f"/web/jobs/{job_id}")).json()
        video = answer["videos"][0]
        if video["status"] in ("finished", "failed"):
            return video["status"], str(video.get("error") or "")
        await asyncio.sleep(0.2)
    return "unfinished", f"not done after {limit:g} s"


async def local_pika_alone(media: Media) -> None:
    """Part 1: hostile requests straight to the local Pika's API."""
    port = reserved_port()
    origin = media.base_url.removeprefix("http://")
    with tempfile.TemporaryDirectory() as files:
        process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own server, for the whole run
            [sys.executable, "-m", "bot.pika.local", "--port", str(port), "--key", KEY,
             "--job-seconds", "1", "--files-dir", files, "--allow", origin],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
            ) as http:
                for _ in range(100):
                    try:
                        await http.get("/_local/requests")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                options = Options.default()
                bombs = [media.put(f"bomb{i}.png", huge_png(), "image/png") for i in range(4)]
                requests: list[tuple[str, Any]] = [
                    ("8192x8192 MP4", Generate10Request(
                        video=media.put("wide.mp4", huge_mp4(), "video/mp4"), options=options)),
                    ("10-hour MP4", Generate10Request(
                        video=media.put("long.mp4", long_claim_mp4(), "video/mp4"),
                        options=options)),
                    ("4 PNGs 13000x13000", Generate20Request(
                        model="2.0", ingredients=bombs, options=options)),
                ]  # fmt: skip
                for n in range(4):
                    image = media.put(f"ok{n}.png", png(size=(1600, 1200)), "image/png")
                    requests.append(
                        (f"ordinary {n}", Generate10Request(image=image, options=options))
                    )
                started = time.monotonic()
                ids = []
                for name, request in requests:
                    answer = await http.post(request.route, json=request.payload())
                    ids.append((name, answer.json()["job"]["id"]))
                print("1. The local Pika alone (hostile requests on its API):")
                for name, job_id in ids:
                    status, reason = await finish(http, job_id)
                    took = time.monotonic() - started
                    print(f"   {name:20} {status:9} after {took:5.1f} s  {reason}")
                print(f"   peak RSS of the local Pika process: {peak_rss_mb(process.pid):.0f} MB")
        finally:
            process.terminate()
            process.wait(10)


async def bot_with_members(media: Media) -> None:
    """Part 2: members attach the hostile files; another asks for ordinary videos."""
    async with running_fake_discord(heartbeat_ms=1000) as fake:
        with tempfile.TemporaryDirectory() as work:
            env = bot_env(fake, Path(work), LOCAL_PIKA_JOB_SECONDS="1")
            bot = BotProcess(env, Path(work))
            await bot.start()
            try:
                await bot.wait_ready(60)
                assert bot.process is not None
                bomb = ("bomb.png", huge_png(), "image/png")
                bombs = {f"ingredient_{i}": bomb for i in range(1, 5)}
                hostile = [
                    ("generate", {"prompt": "x"}, {"video": ("wide.mp4", huge_mp4(), "video/mp4")}),
                    ("generate", {"prompt": "x"},
                     {"video": ("long.mp4", long_claim_mp4(), "video/mp4")}),
                    ("ingredients", {"prompt": "x"}, bombs),
                ]  # fmt: skip
                asks = [fake.slash(MEMBER, GENERAL, "pika", sub, o, f) for sub, o, f in hostile]
                ordinary = [
                    fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": f"fox {n}"})
                    for n in range(2)
                ]
                print("2. The bot with its local Pika (members attach the hostile files):")
                for (sub, _, files), ask in zip(hostile, asks, strict=True):
                    answer = await private_answer(fake, ask)
                    print(f"   /pika {sub} with {', '.join(f[0] for f in files.values())}:")
                    print(f"      {answer}")
                started = time.monotonic()
                await fake.wait_for(lambda: len(results(fake)) >= len(ordinary), timeout=120)
                print(
                    f"   ordinary videos delivered: {len(results(fake))} of {len(ordinary)} "
                    f"({time.monotonic() - started:.1f} s after the hostile ones were answered)"
                )
                print(f"   peak RSS of the bot process: {peak_rss_mb(bot.process.pid):.0f} MB")
            finally:
                await bot.stop()


async def main() -> None:
    print(f"cores: {os.cpu_count()}  target: peak RSS under {TARGET_MB} MB")
    media = Media()
    runner = await media.start()
    try:
        await local_pika_alone(media)
        await bot_with_members(media)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
