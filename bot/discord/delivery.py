"""Delivery to Discord: progress, the result, failures and DMs, one message per job.

The result (or failure) of a member who wants to be pinged is a new message, since only a new
message notifies whom it mentions: a follow-up of the interaction while its token is valid
(`answers.py`; off every channel's limits), else a post with the job id as nonce (Discord keeps
one copy of a post sent twice); the working message is then deleted. For a member who turned
pings off, the working message itself becomes the result (edited, repeatably). Either way the
channel keeps one message per job. Progress edits and reactions are chores (`lanes.py`): they
never delay a result.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

import discord

from bot.discord.answers import TOKEN_SECONDS, InteractionAnswer, token_usable
from bot.discord.chats import Chat
from bot.discord.connection import ANSWER_LOST, CALL_FAILED, describe, refused
from bot.discord.downloads import Spool, TooLarge, downloaded
from bot.discord.landed import Shown, in_history, posted_unrecorded, unrecorded
from bot.discord.lanes import ChannelLanes
from bot.discord.links import linkable
from bot.discord.results import (
    carries,
    control_id,
    mentions,
    reactions_of,
    reply_to,
    result_message,
    retry_view,
)
from bot.discord.texts import failure_text, undeliverable_text, working_heading, working_text
from bot.discord.wording import language_of, say
from bot.jobs.estimates import Estimates
from bot.jobs.outbox import DeliveryFailed, Undeliverable
from bot.jobs.service import retryable
from bot.safe_fetch import FetchError, SafeFetcher
from bot.storage import WRITE_ERRORS, Hold, Job, JobStore

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
POSTER_LIMIT = 1 << 20
Content = Callable[[], dict[str, Any]]  # what an edit sends, made afresh for each attempt
NO_PINGS = discord.AllowedMentions.none()
UNKNOWN_WEBHOOK = 10015  # Discord's code for a dead interaction token
HOLD_MARGIN = 30.0  # a hold left behind is not edited this close to its token's end
HOLD_SECONDS = 20.0  # reading a hold left behind and editing it, at most
# Channels whose messages the bot edits and deletes by id.
EDITABLE: TypeAlias = Chat | discord.DMChannel


class DiscordDelivery:
    """The job core's Notifier, speaking to Discord through the bot's own client."""

    def __init__(
        self,
        client: discord.Client,
        fetcher: SafeFetcher,
        lanes: ChannelLanes,
        store: JobStore,
        estimates: Estimates,
        scratch: Path | None = None,
        *,
        simulated: bool = False,
    ) -> None:
        self.client = client
        # Whether this process may still act on the jobs it holds (the tracker's `may_act`,
        # set by the tracker given this delivery): checked again just before a post, after
        # the download.
        self.may_post: Callable[[], bool] = lambda: True
        self.simulated = simulated  # videos come from the built-in local Pika: results say so
        self.fetcher = fetcher
        self.scratch = scratch  # this process's folder for a download too large for memory
        self.lanes = lanes
        self.store = store
        self.estimates = estimates
        # One request at a time per channel with the bot's token: discord.py paces a bucket by
        # the headers of its answers, and with several in flight an answer that comes late
        # says there is room when there is none (a 429, and another for the one that waited).
        # Keyed by channel and by "edit" or "post": Discord counts those in separate buckets.
        self._in_channel: collections.defaultdict[tuple[int, str], asyncio.Lock] = (
            collections.defaultdict(asyncio.Lock)
        )
        self._unshown: set[str] = set()  # jobs whose working message refused an edit

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

    # --- the working message ----------------------------------------------------------------

    def progress(self, job: Job) -> None:
        """Queue an edit of the working message: place in line or progress, expected end;
        none once Discord refused one for good (a flood of 403s gets a bot banned)."""
        if job.status_message_id is not None and job.id not in self._unshown:
            self.lanes.chore(job.channel_id, ("edit", job.id), lambda: self._show_status(job))

    async def _show_status(self, job: Job) -> None:
        """Rewrite the job's working message to show where the job is now."""
        try:
            await self._edit_status(job)
        except (Undeliverable, discord.HTTPException) as exc:
            if isinstance(exc, Undeliverable) or refused(exc):
                self._unshown.add(job.id)  # until the job ends (its result or failure)
            raise

    async def _edit_status(self, job: Job) -> None:
        if job.status_message_id is None:
            return
        text = working_text(job, await self.estimates.standing(job))
        if token_usable(job):
            with contextlib.suppress(discord.NotFound):
                await InteractionAnswer(self.client, job).edit(
                    job.status_message_id, content=text, allowed_mentions=NO_PINGS
                )
                return
        channel = await self.channel(job)
        if isinstance(channel, EDITABLE):
            message = channel.get_partial_message(job.status_message_id)
            async with self._in_channel[job.channel_id, "edit"]:
                await message.edit(content=text, allowed_mentions=NO_PINGS)

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
                await InteractionAnswer(self.client, job).edit(job.status_message_id, **content())
                return job.status_message_id
            except discord.HTTPException as exc:
                if exc.status not in (401, 403, 404):
                    raise
                # The token expired early, or the message is gone: try as the bot.
        if not isinstance(channel, Chat):
            return None
        try:
            async with self._in_channel[job.channel_id, "edit"]:
                await channel.get_partial_message(job.status_message_id).edit(**content())
        except (discord.NotFound, discord.Forbidden):
            return None
        return job.status_message_id

    # --- the result ---------------------------------------------------------------------------

    async def deliver(self, job: Job) -> int:
        """Turn the working message into the result (or post it), mentioning the requester
        unless they turned that off."""
        channel = await self.channel(job)
        if job.result_url is None:
            raise Undeliverable("undeliverable.no_video")
        guild = getattr(channel, "guild", None)
        limit = guild.filesize_limit if isinstance(guild, discord.Guild) else DEFAULT_UPLOAD_LIMIT
        parent = await self._parent(job)
        try:
            try:
                async with (
                    self.lanes.posting(job.channel_id),
                    downloaded(self.fetcher, job.result_url, limit, folder=self.scratch) as video,
                ):
                    return await self._post(job, channel, parent, video=video)
            except TooLarge:
                return await self._post_large(job, channel, parent, limit)
            except discord.HTTPException as exc:
                if exc.status != 413 and exc.code != 40005:
                    raise
                return await self._post_large(job, channel, parent, limit)
        except discord.HTTPException as exc:
            if refused(exc):
                log.warning(
                    "Job %s: Discord refused the result (%s %s)", job.id, exc.status, exc.text
                )
                raise Undeliverable("undeliverable.refused") from None
            log.warning("Job %s: Discord error %s while posting", job.id, exc.status)
            raise DeliveryFailed("delivery.discord_error") from None
        except ANSWER_LOST as exc:
            # Discord may have the post: the next attempt, counted, looks for it first.
            log.warning("Job %s: Discord's answer to the post was lost (%s)", job.id, describe(exc))
            raise DeliveryFailed("delivery.discord_error") from None
        except FetchError as exc:
            log.warning("Job %s: could not download the video (%s)", job.id, exc)
            raise DeliveryFailed("delivery.download") from None

    async def _post_large(
        self, job: Job, channel: discord.abc.Messageable, parent: Job | None, limit: int
    ) -> int:
        """The result of a video too large to upload: linked where members can open the link,
        else described, with its first frame when that can be uploaded."""
        poster = None if linkable(job.result_url) else await self._poster(job, limit)
        async with self.lanes.posting(job.channel_id):
            try:
                return await self._post(job, channel, parent, poster=poster)
            except discord.HTTPException as exc:
                if poster is None or (exc.status != 413 and exc.code != 40005):
                    raise
            # The first frame is too large as well.
            return await self._post(job, channel, parent)

    async def _post(
        self,
        job: Job,
        channel: discord.abc.Messageable,
        parent: Job | None,
        *,
        video: Spool | None = None,
        poster: bytes | None = None,
    ) -> int:
        """The result (its video uploaded from `video`, or described), into the working
        message, or as a new message."""
        self._still_held(job)
        result = partial(result_message, job, parent, video, poster, simulated=self.simulated)
        if not job.mention:
            edited = await self._into_working_message(job, channel, result)
            if edited is not None:
                return edited
        return await self._send_new(job, channel, parent, result)

    def _still_held(self, job: Job) -> None:
        """Raise DeliveryFailed if this process's leases may have ended since the attempt was
        recorded (its event loop held up past the lease, a download included): another process
        may have taken the job over and be posting it. The attempt is counted, and whoever holds
        the job next looks for a post before making one."""
        if not self.may_post():
            log.warning("Job %s: leases not renewed in time; nothing is posted for it here", job.id)
            raise DeliveryFailed("delivery.paused")

    async def _send_new(
        self, job: Job, channel: discord.abc.Messageable, parent: Job | None, content: Content
    ) -> int:
        """`content()` as a new message: a mention notifies only in a new message, never in an
        edit. A follow-up of the interaction while its token is valid (it counts against no
        channel's limits), else a post with the bot's token (its nonce, the job id, makes
        Discord keep one copy of a post sent twice). The working message goes afterwards."""
        await self.lanes.settle(job.channel_id, ("edit", job.id))  # no progress edit after it
        if token_usable(job):
            try:
                return await InteractionAnswer(self.client, job).send(**content())
            except discord.HTTPException as exc:
                if exc.status not in (401, 403, 404):
                    raise
        parts = content()
        files = parts.pop("attachments")
        async with self._in_channel[job.channel_id, "post"]:
            message = await channel.send(
                files=files, nonce=job.id, reference=reply_to(parent), **parts
            )
        return int(message.id)

    async def _poster(self, job: Job, limit: int) -> bytes | None:
        """The video's first frame, when it is small enough to upload."""
        if not job.poster_url:
            return None
        try:
            async with downloaded(
                self.fetcher, job.poster_url, min(limit, POSTER_LIMIT), folder=self.scratch
            ) as image:
                return image.read_bytes()
        except (TooLarge, FetchError):
            return None

    async def find_posted(self, job: Job) -> int | None:
        """The result an earlier attempt got into the channel, found by its Info button.

        Discord dedupes a retried post by its nonce for a few minutes only; the channel's recent
        history covers a longer gap (a bot down for an hour). Without Read Message History the
        nonce is all there is, and the post goes ahead.
        """
        marker = control_id("info", job.id)
        return await in_history(
            self.client, job.id, await self.channel(job), lambda m: carries(m, marker)
        )

    async def adorn(self, job: Job) -> None:
        """The reactions on the result; and a working message the result did not replace is
        deleted, leaving one message for the job. Chores: they wait behind no result."""
        self._unshown.discard(job.id)
        if job.result_message_id is None:
            return
        channel = await self.channel(job)
        if not isinstance(channel, Chat):
            return
        result = channel.get_partial_message(job.result_message_id)
        waits = [
            self.lanes.chore(job.channel_id, None, partial(result.add_reaction, emoji), low=True)
            for emoji in reactions_of(job)
        ]
        if job.status_message_id not in (None, job.result_message_id):
            waits.append(
                self.lanes.chore(
                    job.channel_id, ("edit", job.id), lambda: self._remove_working(job, channel)
                )
            )
        for wait in waits:
            await wait

    # --- failures -----------------------------------------------------------------------------

    async def tell_failure(self, job: Job) -> None:
        """Turn the working message into the failure (with a Retry button where a retry may
        help), or post it; if that is impossible, a DM. A later attempt first looks for the
        failure an earlier one may have posted (its answer lost)."""
        self._unshown.discard(job.id)
        text = failure_text(job)
        view = retry_view(job) if retryable(job.failure) else None
        try:
            channel = await self.channel(job)
            taken_over = job.interaction_token is not None or job.failure == "not_acknowledged"
            if job.status_message_id is None and taken_over:
                # Its process stopped between answering and recording the answer: the answer
                # that shows is the working message the failure takes the place of, recorded
                # now (a later attempt, and `/pika job`, know it). Discord did get that answer:
                # the member is told the bot stopped.
                found = await self._unrecorded(job, channel)
                if found is not None and found.thinking:
                    # It stopped after holding the member privately, before answering them:
                    # the hold, all they see, says so ("thinking" for good otherwise), and
                    # the channel, which saw nothing, gets nothing.
                    return await self._failure_into_hold(job, found.message_id, view)
                if found is not None or job.interaction_token is None:
                    # Not "Discord did not get the bot's answer" when the member read one (a
                    # private hold that said the video was starting, too), nor for a
                    # reaction's job, which has none to get: the bot stopped.
                    working = found.message_id if found is not None and not found.private else None
                    shown = {"status_message_id": working, "failure": "not_sent"}
                    recorded = await self.store.transition(job.id, [job.status], held=True, **shown)
                    job = recorded or replace(job, status_message_id=working, failure="not_sent")
                    text = failure_text(job)
            # By its Retry button, or by its words (the member, the request and why) if none.
            marker = control_id("retry", job.id)
            told = None
            if job.delivery_attempts > 1:
                told = await in_history(
                    self.client, job.id, channel, lambda m: carries(m, marker) or m.content == text
                )
            if told is not None:
                log.info("Job %s: its failure was already told", job.id)
                if told != job.status_message_id:
                    await self._remove_working(job, channel)
                return
            async with self.lanes.posting(job.channel_id):
                await self._failure_into_channel(job, channel, text, view)
        except Undeliverable:
            await self._dm(job, text)
        except CALL_FAILED as exc:
            if isinstance(exc, discord.HTTPException) and refused(exc):
                return await self._dm(job, text)
            log.warning("Job %s: could not tell its failure (%s)", job.id, describe(exc))
            raise DeliveryFailed("delivery.discord_error") from None

    async def _unrecorded(self, job: Job, channel: discord.abc.Messageable) -> Shown | None:
        """What shows of the answer of a job taken over before it was recorded: found with
        the interaction's token, or, for a job a reaction started (it has none), among the
        channel's recent posts as a reply to the result reacted to."""
        if job.interaction_token is not None:
            return await unrecorded(self.client, job, channel)
        parent = await self._parent(job)
        # A Retry by reaction answers the failure reacted to, which no row records.
        under = parent.result_message_id if parent is not None and not job.retry_of else None
        heading = working_heading(job)
        found = await posted_unrecorded(self.client, job.id, channel, heading, under)
        return Shown(found) if found is not None else None

    async def _failure_into_hold(
        self, job: Job, hold_id: int, view: discord.ui.View | None
    ) -> None:
        recorded = await self.store.transition(job.id, [job.status], held=True, failure="not_sent")
        job = recorded or replace(job, failure="not_sent")
        self._still_held(job)
        await InteractionAnswer(self.client, job).edit(
            hold_id, content=failure_text(job), view=view, allowed_mentions=NO_PINGS
        )

    async def resolve_hold(self, hold: Hold) -> None:
        """A member's private "thinking" left by a process that stopped before answering
        them: while its token edits it, and when no job was admitted for it (that job's own
        failure takes its place), it says the bot restarted and nothing was made or paid."""
        # Made within Discord's 3 s of the interaction, whose token lasts 15 minutes from it.
        if self.store.clock() >= hold.made_at + TOKEN_SECONDS - HOLD_MARGIN:
            return
        try:
            if await self.store.holds.admitted(hold):
                return
            answer = InteractionAnswer(self.client, token=hold.token)
            async with asyncio.timeout(HOLD_SECONDS):
                original = await answer.original()
                if not original.thinking:  # answered before its process stopped
                    return
                text = say("hold.restarted", language_of(hold.locale))
                await answer.edit(original.message_id, content=text, allowed_mentions=NO_PINGS)
        except (*CALL_FAILED, *WRITE_ERRORS) as exc:
            log.info("Could not resolve a private hold left behind (%s)", describe(exc))
        except Exception:  # run beside the tracker's loop: nothing else would report it
            log.exception("Could not resolve a private hold left behind")

    async def _failure_into_channel(
        self, job: Job, channel: discord.abc.Messageable, text: str, view: discord.ui.View | None
    ) -> None:
        def failure() -> dict[str, Any]:
            content: dict[str, Any] = {
                "content": text,
                "embed": None,
                "attachments": [],
                "allowed_mentions": mentions(job),
            }
            if view is not None or not job.mention:  # an edit clears the working message's
                content["view"] = view
            return content

        self._still_held(job)
        if not job.mention:
            edited = await self._into_working_message(job, channel, failure)
            if edited is not None:
                return
        await self._send_new(job, channel, await self._parent(job), failure)
        await self._remove_working(job, channel)

    async def tell_undeliverable(self, job: Job) -> None:
        """A DM to the requester, with a link to the video when there is one they can open."""
        self._unshown.discard(job.id)
        await self._dm(job, undeliverable_text(job))

    async def _remove_working(self, job: Job, channel: discord.abc.Messageable) -> None:
        """Delete the job's working message once a new message took its place: through the
        interaction while its token is valid, else as the bot."""
        if job.status_message_id is None:
            return
        try:
            try:
                if token_usable(job):
                    return await InteractionAnswer(self.client, job).delete(job.status_message_id)
            except discord.NotFound as exc:
                if exc.code != UNKNOWN_WEBHOOK:  # else the token died early: as the bot
                    raise
            if isinstance(channel, EDITABLE):
                await channel.get_partial_message(job.status_message_id).delete()
        except discord.NotFound:
            pass  # already gone: a retried delivery, or a moderator
        except CALL_FAILED as exc:
            log.info("Job %s: could not remove its working message (%s)", job.id, describe(exc))

    async def _parent(self, job: Job) -> Job | None:
        return await self.store.get(job.parent_job_id) if job.parent_job_id else None

    async def _dm(self, job: Job, text: str) -> None:
        try:
            user = self.client.get_user(job.user_id) or await self.client.fetch_user(job.user_id)
            # Sent again after a crash, its nonce makes Discord keep one copy (for minutes).
            await user.send(text, allowed_mentions=NO_PINGS, nonce=job.id)
        except discord.HTTPException as exc:
            log.warning("Job %s: could not DM the requester (%s)", job.id, exc.status)
        except ANSWER_LOST as exc:  # it may have gone: not sent again
            log.warning("Job %s: the DM's answer was lost (%s)", job.id, describe(exc))
