"""The local Pika bounded: hostile inputs fail fast with a reason, internal addresses are never
fetched, queued jobs hold nothing, renders have a time cap that a restart does not renew, and
what a stop left half-written or what has grown old is removed."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from bot.pika.client import PikaClient
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.local.renders import Capacity
from bot.pika.models import Generate10Request, Generate20Request, JobStatus, Options
from tests.helpers.requests import fox
from tests.local_pika.conftest import MediaServer, finish
from tests.media import huge_mp4, huge_png, long_claim_mp4, png


async def failure_of(client: PikaClient, job_id: str | None, within: float = 10.0) -> str:
    """The reason a job failed, which it must do within `within` seconds."""
    started = time.monotonic()
    state = await finish(client, job_id or "")
    assert time.monotonic() - started < within
    assert state.status is JobStatus.FAILED, state
    return state.reason or ""


async def test_hostile_inputs_fail_at_once_with_a_reason(
    client: PikaClient, media: MediaServer
) -> None:
    wide = media.put("wide.mp4", huge_mp4(), "video/mp4")
    long = media.put("long.mp4", long_claim_mp4(), "video/mp4")
    bombs = [media.put(f"bomb{i}.png", huge_png(), "image/png") for i in range(4)]
    options = Options.default()
    from_wide = await client.generate(Generate10Request(video=wide, options=options))
    from_long = await client.generate(Generate10Request(video=long, options=options))
    from_bombs = await client.generate(
        Generate20Request(model="2.0", ingredients=bombs, options=options)
    )
    assert "8192x8192" in await failure_of(client, from_wide.job_id)
    assert "36000" in await failure_of(client, from_long.job_id)
    assert "13000x13000 pixels" in await failure_of(client, from_bombs.job_id)


async def test_internal_addresses_are_never_fetched(client: PikaClient) -> None:
    # A second server on loopback, which this local Pika was not told it may fetch from.
    secret = MediaServer()
    async with secret.serving():
        url = secret.put("secret.png", png(), "image/png")
        job = await client.generate(Generate10Request(image=url, options=Options.default()))
        reason = await failure_of(client, job.job_id)
    assert reason == "could not fetch the image"
    assert secret.asked == []


async def test_queued_jobs_fetch_their_inputs_only_when_their_render_starts(
    media: MediaServer, local: LocalPika
) -> None:
    local.renders = type(local.renders)(Capacity(max_renders=1), local.fetcher)
    media.gates["first.png"] = asyncio.Event()
    first = media.put("first.png", png(), "image/png")
    second = media.put("second.png", png((0, 0, 255)), "image/png")
    async with PikaClient(local.api_key, local.base_url) as client:
        one = await client.generate(Generate10Request(image=first, options=Options.default()))
        await asyncio.sleep(0.05)
        two = await client.generate(Generate10Request(image=second, options=Options.default()))
        for _ in range(40):  # the first render holds the only slot, fetching its input
            await asyncio.sleep(0.05)
        assert media.asked == ["first.png"]
        media.gates["first.png"].set()
        assert (await finish(client, one.job_id or "")).status is JobStatus.FINISHED
        assert (await finish(client, two.job_id or "")).status is JobStatus.FINISHED
    assert media.asked == ["first.png", "second.png"]


async def test_a_render_over_its_time_cap_fails_and_a_restart_does_not_renew_the_cap(
    media: MediaServer, tmp_path: Path
) -> None:
    media.gates["slow.png"] = asyncio.Event()  # never set: the fetch never ends
    slow = media.put("slow.png", png(), "image/png")
    capped = Capacity(render_seconds=0.5)
    async with (
        running_local_pika(
            job_seconds=0,
            api_key="k",
            files_dir=tmp_path,
            capacity=capped,
            allowed_hosts=[media.origin],
        ) as first,
        PikaClient("k", first.base_url) as client,
    ):
        job = await client.generate(Generate10Request(image=slow, options=Options.default()))
        assert await failure_of(client, job.job_id) == "the render took longer than 0.5 s"
        resumed = await client.generate(fox())
        await finish(client, resumed.job_id or "")
    # A render cut short by a stop, whose cap has passed since it started: not resumed.
    job_file = tmp_path / (resumed.job_id or "") / "job.json"
    data = json.loads(job_file.read_text())
    data |= {"rendered": False, "notified": False, "render_started_at": time.time() - 600}
    job_file.write_text(json.dumps(data))
    async with (
        running_local_pika(job_seconds=0, api_key="k", files_dir=tmp_path) as second,
        PikaClient("k", second.base_url) as client,
    ):
        assert await failure_of(client, resumed.job_id) == "the render took longer than 300 s"
        assert await failure_of(client, job.job_id) == "the render took longer than 0.5 s"


async def test_leftovers_of_a_stop_are_removed_and_old_videos_pruned(tmp_path: Path) -> None:
    async with (
        running_local_pika(job_seconds=0, api_key="k", files_dir=tmp_path) as first,
        PikaClient("k", first.base_url) as client,
    ):
        old = await client.generate(fox())
        await finish(client, old.job_id or "")
        kept = await client.generate(fox(prompt_text="a newer fox"))
        await finish(client, kept.job_id or "")
    old_dir, kept_dir = tmp_path / (old.job_id or ""), tmp_path / (kept.job_id or "")
    data = json.loads((old_dir / "job.json").read_text())
    (old_dir / "job.json").write_text(json.dumps(data | {"created_at": time.time() - 8 * 86_400}))
    partial = kept_dir / ".a_fox_seed1.mp4.0123abcd.partial"
    partial.write_bytes(b"half a video")
    (tmp_path / ".work" / "x").mkdir(parents=True)
    (tmp_path / ".work" / "x" / "source.mp4").write_bytes(b"an input")
    async with (
        running_local_pika(job_seconds=0, api_key="k", files_dir=tmp_path) as second,
        PikaClient("k", second.base_url) as client,
    ):
        assert (await finish(client, kept.job_id or "")).status is JobStatus.FINISHED
        assert old.job_id not in second.jobs
    assert not old_dir.exists() and kept_dir.exists()
    assert not partial.exists() and not (tmp_path / ".work").exists()


@pytest.mark.parametrize("days", [0.5])
async def test_the_keep_setting_decides_what_is_old(tmp_path: Path, days: float) -> None:
    async with running_local_pika(
        job_seconds=0, api_key="k", files_dir=tmp_path, capacity=Capacity(keep_days=days)
    ) as local:
        async with PikaClient("k", local.base_url) as client:
            job = await client.generate(fox())
            await finish(client, job.job_id or "")
        for _ in range(100):  # notified just after it finished
            if local.jobs[job.job_id or ""].notified:
                break
            await asyncio.sleep(0.02)
        assert local.prune(now=time.time() + 0.4 * 86_400) == 0
        assert local.prune(now=time.time() + 0.6 * 86_400) == 1
    assert not (tmp_path / (job.job_id or "")).exists()
