"""Probe before paying: every media input a member gave is fetched and read before Pika is paid.

Intake checks what a request says; this checks what its files are. Each media option that is
not a result of ours (whose length the job store knows) is fetched through the safe fetcher,
bounded in bytes and time, and read by `media_probe`: an image must be an image of a sane
number of pixels, an MP4 must play and be of a sane size and length, a WAV must play. The
lengths found go back to intake as `MediaFacts`, so the vendor's rules that depend on them
(an extend stays within 15 s, a lip-sync span fits the video and the speech) are checked
before the paid call. Any problem is an `InputError` naming the option the member used
(`image` for an attachment, `image_url` for a link), in words that say nothing about what is
behind an address.

Probing takes network time, so the use case acknowledges the member privately first (see
`bot/submit.py`); requests without media never come here.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from pathlib import Path

from bot import intake
from bot.errors import InputError
from bot.intake import Draft, Media
from bot.pika.media import MediaFacts, MediaKind
from bot.pika.media_probe import (
    LIMITS,
    MediaLimits,
    MediaRefused,
    image_facts,
    speech_seconds,
    video_facts,
)
from bot.safe_fetch import FetchError, FetchTooLarge, SafeFetcher
from bot.storage import Job

PROBE_SECONDS = 30.0  # all the inputs of one request
AT_ONCE = 4  # probes running at once, over all members: each holds up to a file on disk
PER_SERVER = 2  # of them for one server's members


@contextlib.asynccontextmanager
async def _share(
    shares: dict[Hashable, tuple[asyncio.Semaphore, int]], key: Hashable, size: int
) -> AsyncIterator[None]:
    """A turn among the probes of `key` (a member, a server; none for None), at most `size` at
    once; the key is forgotten once none of its probes waits."""
    if key is None:
        yield
        return
    turns, users = shares.get(key, (asyncio.Semaphore(size), 0))
    shares[key] = (turns, users + 1)
    try:
        async with turns:
            yield
    finally:
        turns, users = shares[key]
        if users == 1:
            del shares[key]
        else:
            shares[key] = (turns, users - 1)


class Prober:
    """Fetches and reads a request's media inputs, within limits."""

    def __init__(
        self, fetcher: SafeFetcher, limits: MediaLimits = LIMITS, scratch: Path | None = None
    ) -> None:
        self.fetcher = fetcher
        self.limits = limits
        self.scratch = scratch  # the process's folder for the files read (None: the system's)
        self._slots = asyncio.Semaphore(AT_ONCE)
        # Each member's probes take one slot at a time, each server's PER_SERVER: nothing is
        # counted before the probe (the cooldown is the job row's), so one member asking again
        # and again with links that trickle, or a raid of accounts in one server, would
        # otherwise hold every slot, and every server's media would wait.
        self._members: dict[Hashable, tuple[asyncio.Semaphore, int]] = {}  # and its users
        self._servers: dict[Hashable, tuple[asyncio.Semaphore, int]] = {}

    @staticmethod
    def needed(draft: Draft, parent: Job | None) -> bool:
        """Whether the request has media that is not a result of ours."""
        known = parent.result_url if parent else None
        return any(media.url != known for media in draft.media.values())

    async def probe(
        self,
        draft: Draft,
        parent: Job | None = None,
        *,
        who: Hashable = None,
        server: Hashable = None,
    ) -> MediaFacts:
        """Read every media input that is not the parent's result; return their lengths.

        Raises InputError naming the first option whose file cannot be used."""
        async with (
            _share(self._members, who, 1),
            _share(self._servers, server, PER_SERVER),
            self._slots,
        ):
            return await self._read_all(draft, parent)

    async def _read_all(self, draft: Draft, parent: Job | None) -> MediaFacts:
        known = parent.result_url if parent else None
        durations: dict[str, float] = {}
        deadline = asyncio.get_running_loop().time() + PROBE_SECONDS  # for all the files
        with tempfile.TemporaryDirectory(prefix="pika-probe-", dir=self.scratch) as folder:
            for name, media in sorted(draft.media.items()):
                if media.url == known:
                    continue
                option = name if media.filename else f"{name}_url"
                read = self._reader(intake.media_kind(name))
                path = Path(folder) / name
                try:
                    async with asyncio.timeout_at(deadline):
                        seconds = await read(media, path)
                    path.unlink()  # read: four ingredients never hold 4 x 64 MiB of disk
                except TimeoutError:
                    raise InputError.rule(option, "rule.unreachable") from None
                except FetchTooLarge:
                    limit = self.limits.max_bytes >> 20
                    key = "rule.media.too_large"
                    raise InputError.rule(option, key, limit_mib=limit) from None
                except FetchError:
                    raise InputError.rule(option, "rule.unreachable") from None
                except MediaRefused as exc:
                    key = f"rule.media.{exc.problem}"
                    raise InputError.rule(option, key, **exc.numbers) from None
                if seconds is not None:
                    durations[media.url] = seconds
        return MediaFacts(durations=durations)

    def _reader(self, kind: MediaKind | None) -> Callable[[Media, Path], Awaitable[float | None]]:
        if kind is MediaKind.VIDEO:
            return self._video
        if kind is MediaKind.SPEECH:
            return self._speech
        return self._image

    # Each file is read from disk: held in memory (its pieces, then joined), four probes of
    # 64 MiB files at once were half a gigabyte.
    async def _image(self, media: Media, path: Path) -> float | None:
        await self.fetcher.download(media.url, path, "the image", self.limits.max_bytes)
        await asyncio.to_thread(image_facts, path, self.limits)
        return None

    async def _video(self, media: Media, path: Path) -> float | None:
        await self.fetcher.download(media.url, path, "the video", self.limits.max_bytes)
        facts = await asyncio.to_thread(video_facts, path, self.limits)
        return facts.seconds

    async def _speech(self, media: Media, path: Path) -> float | None:
        await self.fetcher.download(media.url, path, "the speech", self.limits.max_bytes)
        return await asyncio.to_thread(speech_seconds, path, self.limits)
