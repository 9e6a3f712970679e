"""Probing a request's media: what is probed, what comes back, and how a refusal is named."""

from __future__ import annotations

import asyncio
import io
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web
from PIL import Image

from bot import intake
from bot.errors import InputError
from bot.intake import Draft, Media
from bot.probe import Prober
from bot.safe_fetch import SafeFetcher
from tests.helpers.origins import origin_of
from tests.helpers.web import in_pieces, serving
from tests.media import mp4, png, wav


@pytest.fixture
async def files() -> AsyncIterator[str]:
    served = {"a.png": png(), "b.mp4": mp4(seconds=2.0), "c.wav": wav(seconds=3.0)}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=served.get(request.match_info["name"], b"junk"))

    async with serving(serve) as base:
        yield base


async def test_every_file_is_read_and_lengths_come_back(files: str) -> None:
    prober = Prober(SafeFetcher([origin_of(files)]))
    draft = intake.read(
        "lipsync", {"video_url": f"{files}/b.mp4", "speech": Media(f"{files}/c.wav", "c.wav")}
    )
    assert prober.needed(draft, None)
    facts = await prober.probe(draft)
    assert facts.durations == {f"{files}/b.mp4": 2.0, f"{files}/c.wav": 3.0}
    await prober.fetcher.aclose()


async def test_the_files_read_are_in_the_folder_given(tmp_path: Path) -> None:
    # The process's own (bot/scratch.py), whose leftovers a start-up after a crash removes.
    during: list[str] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        image = png()
        await response.write(image[:16])
        during.extend(p.name for p in tmp_path.iterdir())
        await response.write(image[16:])
        await response.write_eof()
        return response

    async with serving(serve) as base:
        prober = Prober(SafeFetcher([origin_of(base)]), scratch=tmp_path)
        await prober.probe(intake.read("generate", {"image_url": f"{base}/a.png"}))
        await prober.fetcher.aclose()
    assert len(during) == 1 and during[0].startswith("pika-probe-")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"image_url": "{base}/junk.png"}, ("image_url", "rule.media.not_image")),
        ({"image": Media("{base}/b.mp4", "b.png")}, ("image", "rule.media.not_image")),
        ({"video_url": "{base}/a.mp4"}, ("video_url", "rule.media.not_mp4")),
        ({"image_url": "http://127.0.0.1:9/x.png"}, ("image_url", "rule.unreachable")),
    ],
)
async def test_a_file_that_is_not_what_it_claims_is_named_by_its_option(
    files: str, values: dict[str, object], expected: tuple[str, str]
) -> None:
    filled = {
        k: Media(v.url.format(base=files), v.filename)
        if isinstance(v, Media)
        else str(v).format(base=files)
        for k, v in values.items()
    }
    prober = Prober(SafeFetcher([origin_of(files)]))
    draft = intake.read("generate", {"prompt": "x", **filled})
    with pytest.raises(InputError) as caught:
        await prober.probe(draft)
    await prober.fetcher.aclose()
    option, rule, _ = caught.value.problems[0]
    assert (option, rule) == expected


def test_a_result_of_ours_is_not_probed() -> None:
    draft = intake.read("upscale", {"video_url": "https://cdn.pika.art/v1/x/a.mp4"})
    assert not Prober.needed(draft, type("Parent", (), {"result_url": draft.video_url})())
    assert Prober.needed(draft, None)
    text = intake.read("generate", {"prompt": "a fox"})
    assert not Prober.needed(text, None)


async def test_a_file_that_takes_too_long_is_refused_at_the_probes_time_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that trickles a file is given up at PROBE_SECONDS, naming the option."""

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(50):
            await response.write(b"\x89PNG"[:1])
            await asyncio.sleep(0.1)
        return response

    monkeypatch.setattr("bot.probe.PROBE_SECONDS", 0.3)
    async with serving(slow) as base:
        prober = Prober(SafeFetcher([origin_of(base)]))
        draft = intake.read("generate", {"prompt": "x", "image_url": f"{base}/slow.png"})
        caught, took = await refused_in(prober, draft)
    assert took < 3.0  # not the 5 s the file takes
    option, rule, _ = caught.problems[0]
    assert (option, rule) == ("image_url", "rule.unreachable")


@pytest.fixture
async def trickling() -> AsyncIterator[str]:
    """A server that sends each file a byte every tenth of a second, for ten seconds; except
    `/quick.png`, a PNG at once, and `/slow-*.png`, a PNG in eight pieces over 0.8 s."""

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == "quick.png":
            return web.Response(body=png())
        response = web.StreamResponse()
        await response.prepare(request)
        if name.startswith("slow-"):
            data = png()
            step = len(data) // 8 + 1
            for at in range(0, len(data), step):
                await asyncio.sleep(0.1)
                await response.write(data[at : at + step])
            return response
        for _ in range(100):
            await response.write(b"\x89")
            await asyncio.sleep(0.1)
        return response

    async with serving(serve) as base:
        yield base


async def test_the_files_of_one_request_share_the_probes_time_cap(
    monkeypatch: pytest.MonkeyPatch, trickling: str
) -> None:
    """Four ingredients that each take 0.8 s are given up at PROBE_SECONDS (1 s) for the
    request: the cap held for each file, and four files held a probe slot four times as long."""
    monkeypatch.setattr("bot.probe.PROBE_SECONDS", 1.0)
    prober = Prober(SafeFetcher([origin_of(trickling)]))
    values = {f"ingredient_{n}_url": f"{trickling}/slow-{n}.png" for n in range(1, 5)}
    draft = intake.read("ingredients", {"prompt": "x", **values})
    caught, took = await refused_in(prober, draft)
    assert took < 2.5  # not 4 x 0.8 s
    option, rule, _ = caught.problems[0]
    assert (option, rule) == ("ingredient_2_url", "rule.unreachable")


async def test_one_members_slow_files_do_not_hold_every_other_members_probe(
    monkeypatch: pytest.MonkeyPatch, trickling: str
) -> None:
    """A member who asks again and again with links that trickle takes one probe slot at a
    time: another member's file is read while theirs are still trickling."""
    monkeypatch.setattr("bot.probe.PROBE_SECONDS", 8.0)
    prober = Prober(SafeFetcher([origin_of(trickling)]))
    slow = intake.read("generate", {"prompt": "x", "image_url": f"{trickling}/slow.png"})
    hogs = [asyncio.create_task(prober.probe(slow, who=1)) for _ in range(6)]
    try:
        await asyncio.sleep(0.3)  # the hog's requests have started
        quick = intake.read("generate", {"prompt": "x", "image_url": f"{trickling}/quick.png"})
        async with asyncio.timeout(5.0):
            await prober.probe(quick, who=2)
        assert not any(hog.done() for hog in hogs)  # read while the hog's still trickle
    finally:
        for hog in hogs:
            hog.cancel()
        await asyncio.gather(*hogs, return_exceptions=True)
        await prober.fetcher.aclose()


async def test_one_servers_members_do_not_hold_every_other_servers_probe(
    monkeypatch: pytest.MonkeyPatch, trickling: str
) -> None:
    """Members of one server (a raid of accounts) with links that trickle take half the probe
    slots at most: a member of another server has their file read meanwhile."""
    monkeypatch.setattr("bot.probe.PROBE_SECONDS", 8.0)
    prober = Prober(SafeFetcher([origin_of(trickling)]))
    slow = intake.read("generate", {"prompt": "x", "image_url": f"{trickling}/slow.png"})
    raid = [asyncio.create_task(prober.probe(slow, who=n, server=1)) for n in range(6)]
    try:
        await asyncio.sleep(0.3)  # the raid's requests have started
        quick = intake.read("generate", {"prompt": "x", "image_url": f"{trickling}/quick.png"})
        async with asyncio.timeout(5.0):
            await prober.probe(quick, who=100, server=2)
        assert not any(task.done() for task in raid)  # read while the raid's still trickle
    finally:
        for task in raid:
            task.cancel()
        await asyncio.gather(*raid, return_exceptions=True)
        await prober.fetcher.aclose()


def photo_png(side: int = 2000) -> bytes:
    """A 12 MB PNG of noise, stored without compression (quick to make, as large as it gets)."""
    pixels = np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=0)
    return out.getvalue()


async def test_a_large_file_is_read_from_disk_not_held_in_memory() -> None:
    """Four members' probes run at once, each file up to 64 MiB: held in memory (its pieces,
    then joined), four large images were half a gigabyte. On disk, a probe holds a few pieces."""
    big, voice = photo_png(), wav(seconds=100.0)
    served = {"big.png": big, "voice.wav": voice}

    async def serve(request: web.Request) -> web.StreamResponse:
        return await in_pieces(request, served[request.match_info["name"]])

    async with serving(serve) as base:
        image_peak, speech_peak = await probes_measured(base)
    assert len(big) > 10_000_000 and len(voice) > 3_000_000
    assert image_peak < 2_000_000, image_peak
    assert speech_peak < 2_000_000, speech_peak


async def probes_measured(base: str) -> tuple[int, int]:
    """The peak memory of probing `base`'s big image, then its speech (after a warm-up)."""
    prober = Prober(SafeFetcher([origin_of(base)]))
    draft = intake.read(
        "lipsync",
        {"video_url": f"{base}/big.png", "speech": Media(f"{base}/voice.wav", "voice.wav")},
    )
    image = intake.read("generate", {"prompt": "x", "image_url": f"{base}/big.png"})
    try:
        await prober.probe(image)  # everything imported and warmed up before measuring
        tracemalloc.start()
        await prober.probe(image)
        _, image_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with pytest.raises(InputError):  # the "video" is a PNG: only the speech passes
            await prober.probe(draft)
        _, speech_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await prober.fetcher.aclose()
    return image_peak, speech_peak


async def refused_in(prober: Prober, draft: Draft) -> tuple[InputError, float]:
    """The probe's refusal of `draft`, and how long it took (the prober closed after)."""
    started = asyncio.get_running_loop().time()
    try:
        with pytest.raises(InputError) as caught:
            await prober.probe(draft)
    finally:
        await prober.fetcher.aclose()
    return caught.value, asyncio.get_running_loop().time() - started
