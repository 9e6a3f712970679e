"""Delivery to Discord: progress, the result, failures and DMs, one message per job.

A job's working message (the answer to its command or button, or the bot's reply to a
reaction) becomes its result or its failure: edited through the interaction's webhook while the
interaction's token is valid (15 minutes, less `TOKEN_MARGIN`; these edits count against no
channel's limits), or with the bot's token after that. Only when the working message cannot be
edited (deleted, or none) is a reply posted instead, carrying the job id as its nonce so that
Discord keeps one copy of a post sent twice. Editing is repeatable: a second attempt after a
crash changes nothing. Progress edits, reactions and "done" marks are chores (`lanes.py`): they
never delay a result.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import discord
import httpx

from bot.discord.lanes import ChannelLanes
from bot.discord.results import REACTIONS, control_id, result_embed, result_view, retry_view
from bot.discord.wording import failure_text, say, undeliverable_text, working_text
from bot.jobs.outbox import DeliveryFailed, Undeliverable
from bot.jobs.service import retryable
from bot.storage import Job

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
HISTORY_LOOKBACK = 100  # recent messages searched for a result an earlier attempt posted
TOKEN_SECONDS = 15 * 60  # how long an interaction's token edits its answer
TOKEN_MARGIN = 2 * 60  # an upload started near the end must still finish in time
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
Content = Callable[[], dict[str, Any]]  # what an edit sends, made afresh for each attempt
# Results and failures mention their requester; nothing else ever pings anyone.
MENTION_USERS = discord.AllowedMentions(everyone=False, roles=False, users=True)


class TooLarge(Exception):
    """The video is over the channel's upload limit."""


@contextlib.asynccontextmanager
async def downloaded(http: httpx.AsyncClient, url: str, limit: int) -> AsyncIterator[Path]:
    """Stream `url` to a temporary file; raise TooLarge past `limit` bytes."""
    with tempfile.TemporaryDirectory(prefix="pika-video-") as folder:
        path = Path(folder) / "video.mp4"
        async with http.stream(
            "GET", url, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True
        ) as response:
            response.raise_for_status()
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > limit:
                raise TooLarge
            size = 0
            with path.open("wb") as out:
                async for chunk in response.aiter_bytes(1 << 16):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge
                    out.write(chunk)
        yield path


def token_usable(job: Job, now: float | None = None) -> bool:
    """Whether the job's interaction token can still edit its answer, with a margin."""
    now = time.time() if now is None else now
    return bool(job.interaction_token) and now < job.created_at + TOKEN_SECONDS - TOKEN_MARGIN


class DiscordDelivery:
    """The job core's Notifier, speaking to Discord through the bot's own client."""

    def __init__(
        self, client: discord.Client, http: httpx.AsyncClient, lanes: ChannelLanes
    ) -> None:
        self.client = client
        self.http = http
        self.lanes = lanes
        # One request at a time per channel with the bot's token: discord.py paces a bucket by
        # the headers of its answers, and with several in flight an answer that comes late
        # says there is room when there is none (a 429, and another for the one that waited).
        # Keyed by channel and by "edit" or "post": Discord counts those in separate buckets.
        self._in_channel: collections.defaultdict[tuple[int, str], asyncio.Lock] = (
            collections.defaultdict(asyncio.Lock)
        )

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

    # --- the working message ----------------------------------------------------------------

    def progress(self, job: Job) -> None:
        """Queue an edit of the working message with the job's status and progress."""
        if job.status_message_id is not None:
            self.lanes.chore(job.channel_id, ("edit", job.id), lambda: self._show_status(job))

    async def _show_status(self, job: Job) -> None:
        """Rewrite the job's working message to show where the job is now."""
        if job.status_message_id is None:
            return
        text = working_text(job)
        none = discord.AllowedMentions.none()
        if token_usable(job):
            with contextlib.suppress(discord.NotFound):
                await self._webhook(job).edit_message(
                    job.status_message_id, content=text, allowed_mentions=none
                )
                return
        channel = await self.channel(job)
        if isinstance(channel, discord.TextChannel | discord.Thread | discord.DMChannel):
            message = channel.get_partial_message(job.status_message_id)
            async with self._in_channel[job.channel_id, "edit"]:
                await message.edit(content=text, allowed_mentions=none)

    def _webhook(self, job: Job) -> discord.Webhook:
        """The webhook of the interaction that asked for the job (its token edits its answer)."""
        assert job.interaction_token is not None and self.client.application_id is not None
        return discord.Webhook.partial(
            self.client.application_id, job.interaction_token, client=self.client
        )

    async def _into_working_message(
        self, job: Job, channel: discord.abc.Messageable, content: Content
    ) -> int | None:
        """Edit the working message into `content()`; its id, or None if it cannot be edited
        (deleted, or there is none). Other refusals are raised."""
        if job.status_message_id is None:
            return None
        await self.lanes.settle(job.channel_id, ("edit", job.id))  # no progress edit after it
        if token_usable(job):
            try:
                await self._webhook(job).edit_message(job.status_message_id, **content())
                return job.status_message_id
            except discord.HTTPException as exc:
                if exc.status not in (401, 403, 404):
                    raise
                # The token expired early, or the message is gone: try as the bot.
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return None
        try:
            async with self._in_channel[job.channel_id, "edit"]:
                await channel.get_partial_message(job.status_message_id).edit(**content())
        except (discord.NotFound, discord.Forbidden):
            return None
        return job.status_message_id

    # --- the result ---------------------------------------------------------------------------

    async def deliver(self, job: Job) -> int:
        """Turn the working message into the result (or reply with it), mentioning the
        requester."""
        channel = await self.channel(job)
        if job.result_url is None:
            raise Undeliverable(say("undeliverable.no_video"))
        guild = getattr(channel, "guild", None)
        limit = guild.filesize_limit if isinstance(guild, discord.Guild) else DEFAULT_UPLOAD_LIMIT
        content = say("job.ready", user=job.user_id)
        try:
            try:
                async with (
                    self.lanes.posting(job.channel_id),
                    downloaded(self.http, job.result_url, limit) as path,
                ):
                    return await self._post(job, channel, content, path)
            except TooLarge:
                return await self._post_link(job, channel, content)
            except discord.HTTPException as exc:
                if exc.status != 413 and exc.code != 40005:
                    raise
                return await self._post_link(job, channel, content)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise Undeliverable(
                say("undeliverable.refused", status=exc.status, text=exc.text)
            ) from None
        except discord.HTTPException as exc:
            raise DeliveryFailed(say("delivery.discord_error", status=exc.status)) from None
        except httpx.HTTPError as exc:
            raise DeliveryFailed(say("delivery.download", error=type(exc).__name__)) from None

    async def _post_link(self, job: Job, channel: discord.abc.Messageable, content: str) -> int:
        """The result as a link, for a video over the channel's upload limit."""
        async with self.lanes.posting(job.channel_id):
            return await self._post(job, channel, f"{content}\n{job.result_url}", None)

    async def _post(
        self, job: Job, channel: discord.abc.Messageable, content: str, video: Path | None
    ) -> int:
        """The result (its video uploaded from `video`, or linked), into the working message,
        or as a reply to it."""
        embed = result_embed(job, linked=video is None)

        def result() -> dict[str, Any]:
            # A File is spent by one request: each attempt gets its own.
            files = [discord.File(video, filename=_filename(job))] if video else []
            return {
                "content": content,
                "embed": embed,
                "view": result_view(job.id),
                "attachments": files,
                "allowed_mentions": MENTION_USERS,
            }

        edited = await self._into_working_message(job, channel, result)
        if edited is not None:
            return edited
        extra: dict[str, Any] = {}
        if video is not None:
            extra["file"] = discord.File(video, filename=_filename(job))
        async with self._in_channel[job.channel_id, "post"]:
            message = await channel.send(
                content,
                embed=embed,
                view=result_view(job.id),
                nonce=job.id,
                allowed_mentions=MENTION_USERS,
                reference=_reply_to(job),
                **extra,
            )
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
        """The reactions on the result, and "done" on the request when it is a message of its
        own. Chores: they wait for their turn, behind no result."""
        if job.result_message_id is None:
            return
        channel = await self.channel(job)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        result = channel.get_partial_message(job.result_message_id)
        waits = [
            self.lanes.chore(job.channel_id, None, _reaction(result, emoji), low=True)
            for emoji in REACTIONS
        ]
        if job.status_message_id not in (None, job.result_message_id):
            waits.append(
                self.lanes.chore(job.channel_id, ("edit", job.id), lambda: self._show_status(job))
            )
        for wait in waits:
            await wait

    # --- failures -----------------------------------------------------------------------------

    async def tell_failure(self, job: Job) -> None:
        """Turn the working message into the failure (with a Retry button where a retry may
        help), or reply; if that is impossible, a DM."""
        text = failure_text(job)
        view = retry_view(job.id) if retryable(job.failure) else None
        try:
            channel = await self.channel(job)
            async with self.lanes.posting(job.channel_id):
                await self._failure_into_channel(job, channel, text, view)
        except (Undeliverable, discord.NotFound, discord.Forbidden):
            await self._dm(job, text)

    async def _failure_into_channel(
        self, job: Job, channel: discord.abc.Messageable, text: str, view: discord.ui.View | None
    ) -> None:
        edited = await self._into_working_message(
            job,
            channel,
            lambda: {
                "content": text,
                "embed": None,
                "view": view,
                "allowed_mentions": MENTION_USERS,
            },
        )
        if edited is None:
            extra: dict[str, Any] = {"view": view} if view is not None else {}
            async with self._in_channel[job.channel_id, "post"]:
                await channel.send(
                    text, allowed_mentions=MENTION_USERS, reference=_reply_to(job), **extra
                )

    async def tell_undeliverable(self, job: Job) -> None:
        """A DM to the requester, with a link to the video when there is one."""
        await self._dm(job, undeliverable_text(job))

    async def _dm(self, job: Job, text: str) -> None:
        try:
            user = self.client.get_user(job.user_id) or await self.client.fetch_user(job.user_id)
            await user.send(text)
        except discord.HTTPException as exc:
            log.warning("Job %s: could not DM the requester (%s)", job.id, exc.status)


def _reaction(message: discord.PartialMessage, emoji: str) -> Any:
    async def react() -> None:
        await message.add_reaction(emoji)

    return react


def _reply_to(job: Job) -> Any:
    """A reply to the job's working message, or None (discord.py accepts None, though its
    overloads do not say so)."""
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
