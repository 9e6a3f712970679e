"""The use case: a member asks for a job, or uses a control on a result.

Both go the way that is the bot's central promise:
    intake (validate) -> [probe the media] -> guardrails (admit) -> job row -> announce -> pay.
Bad input and refusals are raised before anything is written (a `MemberError`, which the cogs
answer privately); the row exists before Pika is called; the member's public answer is posted
before the call; and whatever happens in the call, the job ends with a message (see
`JobService.send`). No Discord here: the cog gives `announce`, which posts the public answer
and returns its message id, and `hold`, which acknowledges the member privately.

Discord wants an answer within three seconds. A request without media files (text only, or
a control on a result of ours) needs no network before its answer: it is announced at once and
`hold` is never called. A request with media the bot did not make is probed first (`bot.probe`:
fetched and read, which can take seconds): the guardrails are checked, then `hold` acknowledges
the member privately ("thinking"), then the files are read. A refusal then replaces that private
answer; a request that passes is announced by a new public message (the cog posts it as a
follow-up of the interaction). Either way `announce` returns the id of the public message the
job's progress and result are tied to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot import followups, intake
from bot.errors import InputError, MemberError
from bot.guardrails import Ask, Guardrails, ServerSettings, texts_of
from bot.jobs.journal import JOURNAL
from bot.jobs.service import JobService, Origin
from bot.probe import Prober
from bot.storage import Job, JobStore

# Posts the public "working on it" answer for a job; returns its message id (None: unknown).
Announce = Callable[[Job], Awaitable[int | None]]
# Acknowledges the member privately before slow checks (probing media takes network time).
Hold = Callable[[], Awaitable[None]]


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
        prober: Prober | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.guardrails = guardrails
        self.service = service
        self.prober = prober  # None: media are not probed (tests of the rest of the flow)

    async def ask(
        self,
        member: Member,
        kind: str,
        values: Mapping[str, Any],
        announce: Announce,
        *,
        parent: Job | None = None,
        hold: Hold | None = None,
    ) -> Job:
        """A member asked for a job with these option values (by option name).

        `parent` is the job that made the video worked on, when the caller knows it (a context
        menu on a result); otherwise a video of ours is recognised by its URL. `hold` is called
        only when the media must be probed, before the probe (see the module's doc).
        """
        try:
            job = await self._admit(member, kind, values, parent, hold)
        except MemberError as refusal:
            JOURNAL.refused(kind, member.guild_id, member.user_id, _why(refusal))
            raise
        JOURNAL.admitted(job)
        return await self._announce_and_send(job, announce)

    def refused(self, member: Member, kind: str, refusal: MemberError) -> None:
        """A request refused before it reached the use case (its options, checked by the cog):
        recorded in the job journal like any other refusal."""
        JOURNAL.refused(kind, member.guild_id, member.user_id, _why(refusal))

    async def _admit(
        self,
        member: Member,
        kind: str,
        values: Mapping[str, Any],
        parent: Job | None,
        hold: Hold | None,
    ) -> Job:
        """Intake, the probe of media the bot did not make, then the guardrails and the row in
        one admission."""
        draft = intake.read(kind, values)
        if parent is None and draft.video_url and kind in intake.WORKS_ON_RESULT:
            parent = await self.store.by_result_url(draft.video_url)
        rules = await self.settings.get(member.guild_id)
        defaults = rules.defaults.model_dump(exclude_none=True)
        request = intake.build(draft, parent=parent, server_defaults=defaults)
        if self.prober is not None and self.prober.needed(draft, parent):
            # Refusals that need no network come first: no fetch for a member over a limit.
            await self.guardrails.check(rules, member.ask(kind, request.payload()))
            if hold is not None:
                await hold()
            probed = await self.prober.probe(draft, parent)
            request = intake.build(draft, parent=parent, server_defaults=defaults, probed=probed)
        origin = Origin(
            member.guild_id,
            member.channel_id,
            member.user_id,
            in_thread=member.parent_channel_id is not None,
        )
        new = self.service.new_job(
            kind, request, origin, parent_job_id=parent.id if parent else None
        )
        async with self.guardrails.admitted(member.ask(kind, new.request)):
            return await self.store.create(new)

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
            async with self.guardrails.admitted(member.ask(kind, new.request)):
                job, created = await self.store.create_unique_follow_up(
                    new, followups.BLOCKING[action]
                )
        except MemberError as refusal:
            JOURNAL.refused(action, member.guild_id, member.user_id, _why(refusal))
            raise
        if created:
            JOURNAL.admitted(job)
            job = await self._announce_and_send(job, announce)
        return job, created

    async def _announce_and_send(self, job: Job, announce: Announce) -> Job:
        """Answer the member in public, then make the paid call."""
        message_id = await announce(job)
        return await self.service.start(job.id, message_id)


def _why(refusal: MemberError) -> str:
    """Why a request was refused, for the log: the rule, never the member's own text."""
    if isinstance(refusal, InputError):
        return "bad input: " + ", ".join(
            f"{option} ({rule})" for option, rule, _ in refusal.problems
        )
    return str(refusal)
