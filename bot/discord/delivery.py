"""Delivery to Discord: progress edits, the result post (upload or link), failures and DMs.

Each job leaves one message in the channel: its working message shows the progress, then the
result (or the failure, with Retry) is posted as a new message, which notifies the member, and
the working message is deleted.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord

from bot.discord.links import jump_url, reachable
from bot.discord.results import REACTIONS, control_id, result_embed, result_view, retry_view
from bot.discord.texts import failure_text, lang_of, undeliverable_text, working_text
from bot.discord.wording import say
from bot.jobs.estimate import Estimates
from bot.jobs.tracker import DeliveryFailed, Undeliverable
from bot.safe_fetch import FetchError, FetchTooLarge, SafeFetcher
from bot.storage import Job, JobStore

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
HISTORY_LOOKBACK = 100  # recent messages searched for a result an earlier attempt posted
POSTER_NAME = "poster.jpg"
FILENAME_CHARS = 60


NO_PINGS = discord.AllowedMentions.none()


def mentions(job: Job) -> discord.AllowedMentions:
    """Results and failures may ping their requester (unless they turned it off in
    `/pika settings`), and nobody else, whatever the text says."""
    users: list[discord.Object] | bool = [discord.Object(job.user_id)] if job.mention else False
    return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


class TooLarge(Exception):
    """The video is over the channel's upload limit."""


@contextlib.asynccontextmanager
async def downloaded(fetcher: SafeFetcher, url: str, limit: int) -> AsyncIterator[Path]:
    """Fetch `url` (Pika's result link, through the safe fetcher) to a temporary file; raise
    TooLarge past `limit` bytes."""
    with tempfile.TemporaryDirectory(prefix="pika-video-") as folder:
        path = Path(folder) / "video.mp4"
        try:
            await fetcher.download(url, path, "the video", limit)
        except FetchTooLarge:
            raise TooLarge from None
        yield path


class DiscordDelivery:
    """The tracker's Notifier, speaking to Discord through the bot's own client."""

    def __init__(
        self,
        client: discord.Client,
        fetcher: SafeFetcher,
        store: JobStore,
        estimates: Estimates,
    ) -> None:
        self.client = client
        self.fetcher = fetcher
        self.store = store
        self.estimates = estimates

    async def channel(self, job: Job) -> discord.abc.Messageable:
        """Where the job's result goes; Undeliverable when that channel is gone or closed."""
        found = self.client.get_channel(job.channel_id)
        if found is None:
            try:
                found = await self.client.fetch_channel(job.channel_id)
            except discord.NotFound:
                raise Undeliverable("undeliverable.channel_gone") from None
            except discord.Forbidden:
                raise Undeliverable("undeliverable.hidden") from None
            except discord.HTTPException:
                raise DeliveryFailed("delivery.discord_error") from None
        if not isinstance(found, discord.abc.Messageable):
            raise Undeliverable("undeliverable.not_messageable")
        return found

    async def progress(self, job: Job) -> None:
        """Edit the working message: place in line or progress, and the expected end."""
        channel = await self.channel(job)
        if job.status_message_id is not None and isinstance(channel, _EDITABLE):
            text = working_text(job, await self.estimates.standing(job))
            await channel.get_partial_message(job.status_message_id).edit(
                content=text, allowed_mentions=NO_PINGS
            )

    async def deliver(self, job: Job) -> int:
        """Post the result, mentioning the requester (unless they turned that off)."""
        channel = await self.channel(job)
        if job.result_url is None:
            raise Undeliverable("undeliverable.no_video")
        guild = getattr(channel, "guild", None)
        limit = guild.filesize_limit if isinstance(guild, discord.Guild) else DEFAULT_UPLOAD_LIMIT
        parent = await self.store.get(job.parent_job_id) if job.parent_job_id else None
        posted: dict[str, Any] = {
            "content": say("job.ready", lang_of(job), user=job.user_id),
            "embed": result_embed(job, parent_link=_result_link(parent)),
            "view": result_view(job),
            "nonce": job.id,
            "allowed_mentions": mentions(job),
            "reference": _reply_to(parent),
        }
        try:
            try:
                async with downloaded(self.fetcher, job.result_url, limit) as path:
                    file = discord.File(path, filename=_filename(job))
                    message = await channel.send(file=file, **posted)
            except TooLarge:
                message = await self._send_link(channel, job, posted, limit)
            except discord.HTTPException as exc:
                if exc.status != 413 and exc.code != 40005:
                    raise
                message = await self._send_link(channel, job, posted, limit)
        except (discord.NotFound, discord.Forbidden) as exc:
            log.warning("Job %s: Discord refused the result (%s %s)", job.id, exc.status, exc.text)
            raise Undeliverable("undeliverable.refused") from None
        except discord.HTTPException as exc:
            log.warning("Job %s: Discord error %s while posting", job.id, exc.status)
            raise DeliveryFailed("delivery.discord_error") from None
        except FetchError as exc:
            log.warning("Job %s: could not download the video (%s)", job.id, exc)
            raise DeliveryFailed("delivery.download") from None
        return int(message.id)

    async def _send_link(
        self, channel: discord.abc.Messageable, job: Job, posted: dict[str, Any], limit: int
    ) -> discord.Message:
        """The result of a video too large to upload: linked where members can open the link,
        else described, with its first frame when that can be uploaded."""
        lang = lang_of(job)
        embed: discord.Embed = posted["embed"]
        if reachable(job.result_url):
            embed.description = say("job.too_large", lang, url=job.result_url)
            embed.url = job.result_url
            if reachable(job.poster_url):
                embed.set_image(url=job.poster_url)
            message: discord.Message = await channel.send(**posted)
            return message
        embed.description = say("job.too_large_local", lang)
        poster = await self._poster(job, limit)
        if poster is not None:
            embed.set_image(url=f"attachment://{POSTER_NAME}")
            try:
                return await channel.send(file=discord.File(poster, POSTER_NAME), **posted)
            except discord.HTTPException as exc:
                if exc.status != 413 and exc.code != 40005:
                    raise
            embed.set_image(url=None)  # the first frame is too large as well
        return await channel.send(**posted)

    async def _poster(self, job: Job, limit: int) -> io.BytesIO | None:
        """The video's first frame, read into memory, when it is small enough to upload."""
        if not job.poster_url:
            return None
        try:
            async with downloaded(self.fetcher, job.poster_url, min(limit, 1 << 20)) as path:
                return io.BytesIO(path.read_bytes())
        except (TooLarge, FetchError):
            return None

    async def find_posted(self, job: Job) -> int | None:
        """The result an earlier attempt got into the channel, found by its Info button.

        Discord dedupes a retried post by its nonce for a few minutes only; the channel's recent
        history covers a longer gap (a bot down for an hour). Without Read Message History the
        nonce is all there is, and the post goes ahead.
        """
        channel = await self.channel(job)
        me = self.client.user
        marker = control_id("info", job.id)
        try:
            async for message in channel.history(limit=HISTORY_LOOKBACK):
                if me is not None and message.author.id == me.id and _carries(message, marker):
                    return int(message.id)
        except discord.HTTPException as exc:
            log.info("Job %s: could not read the channel's history (%s)", job.id, exc.status)
        return None

    async def adorn(self, job: Job) -> None:
        """The reactions on the result; then the working message goes, leaving one message."""
        channel = await self.channel(job)
        if job.result_message_id is None or not isinstance(channel, _EDITABLE):
            return
        result = channel.get_partial_message(job.result_message_id)
        for emoji in REACTIONS:
            with contextlib.suppress(discord.HTTPException):
                await result.add_reaction(emoji)
        await _remove_working_message(channel, job)

    async def tell_failure(self, job: Job) -> None:
        """Post the failure, with Retry, in the channel (the working message goes); if that is
        impossible, by DM."""
        text = failure_text(job)
        try:
            channel = await self.channel(job)
            await channel.send(
                text,
                view=retry_view(job),
                allowed_mentions=mentions(job),
                reference=_reply_to(await self._parent(job)),
            )
        except (Undeliverable, discord.NotFound, discord.Forbidden):
            await self._dm(job, text)
            return
        await _remove_working_message(channel, job)

    async def tell_undeliverable(self, job: Job) -> None:
        """A DM to the requester, with a link to the video when there is one they can open."""
        await self._dm(job, undeliverable_text(job))

    async def _parent(self, job: Job) -> Job | None:
        return await self.store.get(job.parent_job_id) if job.parent_job_id else None

    async def _dm(self, job: Job, text: str) -> None:
        try:
            user = self.client.get_user(job.user_id) or await self.client.fetch_user(job.user_id)
            await user.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("Job %s: could not DM the requester (%s)", job.id, exc.status)


# Channels whose messages the bot edits and deletes by id.
_EDITABLE = (discord.TextChannel, discord.Thread, discord.DMChannel)


async def _remove_working_message(channel: discord.abc.Messageable, job: Job) -> None:
    """Delete the job's working message once its result or failure is posted."""
    if job.status_message_id is None or not isinstance(channel, _EDITABLE):
        return
    try:
        await channel.get_partial_message(job.status_message_id).delete()
    except discord.NotFound:
        pass  # already gone: a retried delivery, or a moderator
    except discord.HTTPException as exc:
        log.info("Job %s: could not remove its working message (%s)", job.id, exc.status)


def _result_link(parent: Job | None) -> str | None:
    """The jump link to the result a follow-up was made from, when it was posted."""
    if parent is None or parent.result_message_id is None:
        return None
    return jump_url(parent.guild_id, parent.channel_id, parent.result_message_id)


def _reply_to(parent: Job | None) -> Any:
    """A reply to the result a follow-up was made from, or None (discord.py accepts None,
    though its overloads do not say so)."""
    if parent is None or parent.result_message_id is None:
        return None
    return discord.MessageReference(
        message_id=parent.result_message_id,
        channel_id=parent.channel_id,
        fail_if_not_exists=False,
    )


def _carries(message: discord.Message, custom_id: str) -> bool:
    """Whether one of the message's buttons has this custom_id."""
    return any(
        getattr(item, "custom_id", None) == custom_id
        for row in message.components
        for item in getattr(row, "children", [row])
    )


def _filename(job: Job) -> str:
    """The video's file name as members see it: words of its prompt, never its job id."""
    words = re.findall(r"[a-z0-9]+", job.prompt.lower())
    slug = "-".join(words)[:FILENAME_CHARS].strip("-")
    return f"{slug or 'pika-video'}.mp4"
