"""Delivery to Discord: progress edits, the result post (upload or link), failures and DMs."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord

from bot.discord.results import REACTIONS, control_id, result_embed, result_view
from bot.discord.wording import failure_text, say, undeliverable_text, working_text
from bot.jobs.tracker import DeliveryFailed, Undeliverable
from bot.safe_fetch import FetchError, FetchTooLarge, SafeFetcher
from bot.storage import Job

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
HISTORY_LOOKBACK = 100  # recent messages searched for a result an earlier attempt posted
NO_PINGS = discord.AllowedMentions.none()


def requester(job: Job) -> discord.AllowedMentions:
    """Results and failures may ping their requester, and nobody else, whatever the text says."""
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False
    )


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

    def __init__(self, client: discord.Client, fetcher: SafeFetcher) -> None:
        self.client = client
        self.fetcher = fetcher

    async def channel(self, job: Job) -> discord.abc.Messageable:
        """Where the job's result goes; Undeliverable when that channel is gone or closed."""
        found = self.client.get_channel(job.channel_id)
        if found is None:
            try:
                found = await self.client.fetch_channel(job.channel_id)
            except discord.NotFound:
                raise Undeliverable(say("undeliverable.channel_gone")) from None
            except discord.Forbidden:
                raise Undeliverable(say("undeliverable.hidden")) from None
            except discord.HTTPException as exc:
                raise DeliveryFailed(say("delivery.discord_error", status=exc.status)) from None
        if not isinstance(found, discord.abc.Messageable):
            raise Undeliverable(say("undeliverable.not_messageable"))
        return found

    async def progress(self, job: Job) -> None:
        """Edit the "working on it" message with status and progress."""
        if job.status_message_id is not None:
            await _show_status(await self.channel(job), job)

    async def deliver(self, job: Job) -> int:
        """Post the result, replying to the request, mentioning the requester."""
        channel = await self.channel(job)
        if job.result_url is None:
            raise Undeliverable(say("undeliverable.no_video"))
        guild = getattr(channel, "guild", None)
        limit = guild.filesize_limit if isinstance(guild, discord.Guild) else DEFAULT_UPLOAD_LIMIT
        reply = _reply_to(job)
        content = say("job.ready", user=job.user_id)
        try:
            try:
                async with downloaded(self.fetcher, job.result_url, limit) as path:
                    message = await channel.send(
                        content,
                        embed=result_embed(job, linked=False),
                        view=result_view(job.id),
                        file=discord.File(path, filename=_filename(job)),
                        nonce=job.id,
                        allowed_mentions=requester(job),
                        reference=reply,
                    )
            except TooLarge:
                message = await self._send_link(channel, job, content)
            except discord.HTTPException as exc:
                if exc.status != 413 and exc.code != 40005:
                    raise
                message = await self._send_link(channel, job, content)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise Undeliverable(
                say("undeliverable.refused", status=exc.status, text=exc.text)
            ) from None
        except discord.HTTPException as exc:
            raise DeliveryFailed(say("delivery.discord_error", status=exc.status)) from None
        except FetchError:
            raise DeliveryFailed(say("delivery.download")) from None
        return int(message.id)

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
        """The reactions on the result, and "done" on the request."""
        channel = await self.channel(job)
        if job.result_message_id is None or not isinstance(
            channel, discord.TextChannel | discord.Thread
        ):
            return
        result = channel.get_partial_message(job.result_message_id)
        for emoji in REACTIONS:
            with contextlib.suppress(discord.HTTPException):
                await result.add_reaction(emoji)
        with contextlib.suppress(discord.HTTPException):
            await _show_status(channel, job)

    async def _send_link(
        self, channel: discord.abc.Messageable, job: Job, content: str
    ) -> discord.Message:
        message: discord.Message = await channel.send(
            f"{content}\n{job.result_url}",
            embed=result_embed(job, linked=True),
            view=result_view(job.id),
            nonce=job.id,
            allowed_mentions=requester(job),
            reference=_reply_to(job),
        )
        return message

    async def tell_failure(self, job: Job) -> None:
        """Reply in the channel; if that is impossible, by DM."""
        text = failure_text(job)
        try:
            channel = await self.channel(job)
            await channel.send(text, allowed_mentions=requester(job), reference=_reply_to(job))
            with contextlib.suppress(discord.HTTPException):
                await _show_status(channel, job)
        except (Undeliverable, discord.NotFound, discord.Forbidden):
            await self._dm(job, text)

    async def tell_undeliverable(self, job: Job) -> None:
        """A DM to the requester, with a link to the video when there is one."""
        await self._dm(job, undeliverable_text(job))

    async def _dm(self, job: Job, text: str) -> None:
        try:
            user = self.client.get_user(job.user_id) or await self.client.fetch_user(job.user_id)
            await user.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("Job %s: could not DM the requester (%s)", job.id, exc.status)


async def _show_status(channel: discord.abc.Messageable, job: Job) -> None:
    """Rewrite the job's "working on it" message to show where the job is now."""
    if job.status_message_id is not None and isinstance(
        channel, discord.TextChannel | discord.Thread | discord.DMChannel
    ):
        await channel.get_partial_message(job.status_message_id).edit(
            content=working_text(job), allowed_mentions=NO_PINGS
        )


def _reply_to(job: Job) -> Any:
    """A reply to the job's "working on it" message, or None (discord.py accepts None, though
    its overloads do not say so)."""
    if job.status_message_id is None:
        return None
    return discord.MessageReference(
        message_id=job.status_message_id, channel_id=job.channel_id, fail_if_not_exists=False
    )


def _carries(message: discord.Message, custom_id: str) -> bool:
    """Whether one of the message's buttons has this custom_id."""
    return any(
        getattr(item, "custom_id", None) == custom_id
        for row in message.components
        for item in getattr(row, "children", [row])
    )


def _filename(job: Job) -> str:
    return f"pika-{job.id}.mp4"
