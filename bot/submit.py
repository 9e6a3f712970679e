"""The use case: a member asks for a job, or uses a control on a result.

Both go the way that is the bot's central promise:
    intake (validate) -> guardrails (admit: the checks and the job row in one statement)
    -> announce -> the paid call.
Bad input and refusals are raised before anything is written (a `MemberError`, which the cogs
answer privately); the row exists before Pika is called; the member's public answer is posted
before the call, within Discord's three seconds, with nothing slow before it (settings are
cached, admission is one statement); if that answer fails, the job is cancelled before any
paid call; and whatever happens in the call, the job ends with a message (see
`JobService`). No Discord here: the cog gives `announce`, which posts the public answer and
returns what can edit it later.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import followups, intake
from bot.errors import InputError, MemberError
from bot.guardrails import Ask, Guardrails, ServerSettings, texts_of
from bot.jobs.journal import JOURNAL
from bot.jobs.service import JobService, Origin
from bot.pika.kinds import kind as kind_of
from bot.storage import Job, JobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answered:
    """The public answer a member got: its message, and the interaction token that can edit it
    for 15 minutes (None for a message the bot posted itself). The token is a credential."""

    message_id: int | None
    token: str | None = field(default=None, repr=False)


class Unanswered(Exception):
    """The member's interaction could not be answered (Discord's 3 s passed, or it refused)."""


# Posts the public "working on it" answer for a job; raises Unanswered when it cannot.
Announce = Callable[[Job], Awaitable[Answered]]


@dataclass(frozen=True)
class Member:
    """Who asks, and where."""

    guild_id: int | None
    user_id: int
    channel_id: int  # where they asked: a thread's id, in a thread
    parent_channel_id: int | None = None  # the thread's channel, when they asked in a thread
    role_ids: frozenset[int] = frozenset()
    may_moderate: bool = False  # may use the controls on other members' results

    @property
    def rules_channel_id(self) -> int:
        """The channel whose rules apply: a thread follows its channel's."""
        return self.parent_channel_id or self.channel_id

    def ask(self, kind: str, payload: dict[str, Any]) -> Ask:
        """What the guardrails check for a request of this member."""
        return Ask(
            self.guild_id,
            self.rules_channel_id,
            self.user_id,
            self.role_ids,
            kind,
            texts_of(payload),
        )


class Submissions:
    """Turns what members ask for into jobs: commands, context menus, buttons and reactions."""

    def __init__(
        self,
        store: JobStore,
        settings: ServerSettings,
        guardrails: Guardrails,
        service: JobService,
    ) -> None:
        self.store = store
        self.settings = settings
        self.guardrails = guardrails
        self.service = service

    async def ask(
        self,
        member: Member,
        kind: str,
        values: Mapping[str, Any],
        announce: Announce,
        *,
        parent: Job | None = None,
    ) -> Job:
        """A member asked for a job with these option values (by option name).

        `parent` is the job that made the video worked on, when the caller knows it (a context
        menu on a result); otherwise a video of ours is recognised by its URL.
        """
        try:
            job = await self._admit(member, kind, values, parent)
        except MemberError as refusal:
            JOURNAL.refused(kind, member.guild_id, member.user_id, _why(refusal))
            raise
        JOURNAL.admitted(job)
        return await self._announce_and_send(job, announce)

    async def _admit(
        self, member: Member, kind: str, values: Mapping[str, Any], parent: Job | None
    ) -> Job:
        """Intake, then the guardrails and the row in one admission."""
        draft = intake.read(kind, values)
        if parent is None and draft.video_url and kind in intake.WORKS_ON_RESULT:
            parent = await self.store.by_result_url(draft.video_url)
        rules = await self.settings.get(member.guild_id)
        request = intake.build(
            draft, parent=parent, server_defaults=rules.defaults.model_dump(exclude_none=True)
        )
        origin = Origin(
            member.guild_id,
            member.channel_id,
            member.user_id,
            in_thread=member.parent_channel_id is not None,
        )
        new = self.service.new_job(
            kind, request, origin, parent_job_id=parent.id if parent else None
        )
        job, _ = await self.guardrails.admit(member.ask(kind, new.request), new)
        return job

    async def control(
        self, member: Member, action: str, parent_id: str, announce: Announce
    ) -> tuple[Job, bool]:
        """A member used a control (button, reaction, context menu) on a result.

        Returns (job, created): a double press finds the job the first press made.
        """
        try:
            parent = followups.check_allowed(
                await self.store.get(parent_id),
                parent_id,
                member.user_id,
                may_moderate=member.may_moderate,
            )
            kind, request = followups.request_for(action, parent)
            origin = Origin(
                parent.guild_id,
                parent.channel_id,
                member.user_id,
                in_thread=parent.thread_id is not None,
            )
            new = self.service.new_job(kind, request, origin, parent_job_id=parent.id)
            job, created = await self.guardrails.admit(
                member.ask(kind, new.request), new, duplicate_of=followups.BLOCKING[action]
            )
        except MemberError as refusal:
            JOURNAL.refused(action, member.guild_id, member.user_id, _why(refusal))
            raise
        if created:
            JOURNAL.admitted(job)
            job = await self._announce_and_send(job, announce)
        return job, created

    async def retry(self, member: Member, job_id: str, announce: Announce) -> tuple[Job, bool]:
        """A member pressed Retry on a failed job: a new job with the same request, through
        the guardrails. Returns (job, created): a second press finds the retry the first made.
        """
        try:
            failed = followups.check_retry(
                await self.store.get(job_id),
                job_id,
                member.user_id,
                may_moderate=member.may_moderate,
            )
            body = {k: v for k, v in failed.request.items() if k != "webhookOverride"}
            request = kind_of(failed.kind).parse(body)
            origin = Origin(
                failed.guild_id,
                failed.channel_id,
                member.user_id,
                in_thread=failed.thread_id is not None,
            )
            new = self.service.new_job(
                failed.kind,
                request,
                origin,
                parent_job_id=failed.parent_job_id,
                retry_of=failed.id,
            )
            job, created = await self.guardrails.admit(
                member.ask(failed.kind, new.request), new, duplicate_of=followups.RETRY_BLOCKING
            )
        except MemberError as refusal:
            JOURNAL.refused("retry", member.guild_id, member.user_id, _why(refusal))
            raise
        if created:
            JOURNAL.admitted(job)
            job = await self._announce_and_send(job, announce)
        return job, created

    async def _announce_and_send(self, job: Job, announce: Announce) -> Job:
        """Answer the member in public, then make the paid call; if the answer fails, cancel
        the job before anything is paid."""
        try:
            answered = await announce(job)
        except Unanswered as exc:
            log.info("Job %s: the member's interaction could not be answered (%s)", job.id, exc)
            cancelled = await self.service.cancel_unanswered(job.id, tell=False)
            return cancelled or job
        return await self.service.start(job.id, answered.message_id, answered.token)


def _why(refusal: MemberError) -> str:
    """Why a request was refused, for the log: the rule, never the member's own text."""
    if isinstance(refusal, InputError):
        return "bad input: " + ", ".join(
            f"{option} ({rule})" for option, rule, _ in refusal.problems
        )
    return str(refusal)
