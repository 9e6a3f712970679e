"""The use case: a member asks for a job, uses a control on a result, or retries a failure.

All go the way that is the bot's central promise:
    intake (validate) -> [probe the media] -> guardrails (admit: the checks and the job row in
    one statement) -> announce -> the paid call.
Bad input and refusals are raised before anything is written (a `MemberError`, which the cogs
answer privately); the row exists before Pika is called; the member's public answer is posted
before the call, within Discord's three seconds, with nothing slow before it (settings are
cached, admission is one statement); if that answer fails, the job is cancelled before any paid
call; and whatever happens in the call, the job ends with a message (see `JobService`). No
Discord here: the cog gives `announce`, which posts the public answer and returns what can edit
it later (`Answered`), and `hold`, which acknowledges the member privately. A control pressed
again (see `bot.followups`) finds the job the first press started, and nothing is paid.

A request without media files (text only, or a control on a result of ours) needs no network
before its answer: it is announced at once and `hold` is never called. A request with media the
bot did not make is probed first (`bot.probe`: fetched and read, which can take seconds): the
guardrails that need no count are checked, then `hold` acknowledges the member privately
("thinking"), then the files are read. A refusal then replaces that private answer; a request
that passes is announced by a new public message (the cog posts it as a follow-up of the
interaction, which the same token edits later). In a burst, a request that must wait for its
turn is held the same way first (`wait`), so that its answer never races Discord's deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot import followups, intake
from bot.answering import Answering, Turn
from bot.errors import InputError, MemberError, Restarting
from bot.guardrails import Ask, Guardrails, ServerSettings, texts_of
from bot.inbox import Inbox
from bot.jobs.journal import JOURNAL
from bot.jobs.service import JobService, Origin
from bot.pika.kinds import kind as kind_of
from bot.pika.media import pika_result_url
from bot.pika.models import PikaRequestModel
from bot.preferences import PersonalDefaults, Preferences
from bot.probe import Prober
from bot.storage import Job, JobStore, NewJob, RepeatWindow, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answered:
    """The public answer a member got: its message, and the interaction token that can edit it
    for 15 minutes (None for a message the bot posted itself). The token is a credential.
    `withdraw` removes the answer, when it came too late for its job (see `_announce_and_send`)."""

    message_id: int | None
    token: str | None = field(default=None, repr=False)
    withdraw: Callable[[], Awaitable[None]] | None = field(default=None, repr=False, compare=False)


class Unanswered(Exception):
    """The member's interaction could not be answered (Discord's 3 s passed, it refused, or the
    reply was lost and the answer is not in the channel).

    `tell`, when the member may see an answer of ours (the private hold, or an answer whose
    reply was lost), says there that the job was cancelled (with a Retry): it is awaited once
    the job is cancelled, so that a Retry pressed at once finds a job to retry."""

    def __init__(self, why: str, tell: Callable[[], Awaitable[None]] | None = None) -> None:
        super().__init__(why)
        self.tell = tell


# Posts the public "working on it" answer for a job; raises Unanswered when it cannot.
Announce = Callable[[Job], Awaitable[Answered]]
# Acknowledges the member privately before slow checks (probing media takes network time).
Hold = Callable[[], Awaitable[None]]
REPEAT_PRESS_SECONDS = 60.0
# How far back a video made without a prompt of its own looks for one to lend (an upscale of a
# lip sync of a result is two steps); a bound, so that no chain of rows is walked for ever.
LENDING_STEPS = 4


@dataclass(frozen=True)
class Member:
    """Who asks, and where."""

    guild_id: int | None
    user_id: int
    channel_id: int  # where they asked: a thread's id, in a thread
    parent_channel_id: int | None = None  # the thread's channel, when they asked in a thread
    role_ids: frozenset[int] = frozenset()
    may_moderate: bool = False  # may use the controls on other members' results
    locale: str | None = None  # their Discord language; None when unknown (a reaction)
    # The interaction's token (None for a reaction): written with the job, see NewJob.
    token: str | None = field(default=None, repr=False)

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
    """Turns what members ask for into jobs: commands, context menus, buttons, reactions and
    Retry. Each returns (job, created): a control pressed again finds the job it started."""

    def __init__(
        self,
        store: JobStore,
        settings: ServerSettings,
        guardrails: Guardrails,
        service: JobService,
        prober: Prober | None = None,
        *,
        preferences: Preferences | None = None,
        repeat_seconds: float = REPEAT_PRESS_SECONDS,
        answering: Answering | None = None,
        inbox: Inbox | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.guardrails = guardrails
        self.service = service
        self.prober = prober  # None: media are not probed (tests of the rest of the flow)
        self.preferences = preferences  # None: no member has defaults of their own
        self.repeat_seconds = repeat_seconds
        # First answers before paid calls, in arrival order (see bot/answering.py).
        self.answering = answering or Answering()
        # The interactions being handled: a clean stop cuts off those not yet written.
        self.inbox = inbox or Inbox()

    async def ask(
        self,
        member: Member,
        kind: str,
        values: Mapping[str, Any],
        announce: Announce,
        *,
        parent: Job | None = None,
        hold: Hold | None = None,
        wait: Hold | None = None,
        control: bool = False,
    ) -> tuple[Job, bool]:
        """A member asked for a job with these option values (by option name).

        `parent` is the job that made the video worked on, when the caller knows it; otherwise
        a video of ours is recognised by its URL. `hold` is called only when the media must be
        probed, before the probe (see the module's doc); `wait`, the same private hold, when
        the request must wait for its turn behind others (see bot/answering.py). `control` says
        the ask is a control's (a context menu): pressed again, it is the same job. An upscale
        of a video that has one is that upscale, however it is asked for.
        """
        self._preparing(member, kind)
        async with self.answering.turn(wait) as turn:
            try:
                new, repeat = await self._prepare(
                    member,
                    kind,
                    values,
                    parent,
                    hold=turn.after(hold) if hold is not None else None,
                    control=control,
                )
            except MemberError as refusal:
                JOURNAL.refused(kind, member.guild_id, member.user_id, _why(refusal))
                raise
            return await self._start(member, new, repeat, announce, asked=kind, turn=turn)

    def _preparing(self, member: Member, asked: str) -> None:
        """The request is being prepared, nothing written for it yet: a clean stop may cut it
        off. Once the stop began, it is refused at once (Restarting): a probe of its files
        could outlast the stop's grace."""
        if not self.inbox.preparing():
            refusal = Restarting()
            JOURNAL.refused(asked, member.guild_id, member.user_id, _why(refusal))
            raise refusal

    def refused(self, member: Member, kind: str, refusal: MemberError) -> None:
        """A request refused before it reached the use case (its options, checked by the cog):
        recorded in the job journal like any other refusal."""
        JOURNAL.refused(kind, member.guild_id, member.user_id, _why(refusal))

    async def _defaults_of(self, guild_id: int | None, user_id: int) -> PersonalDefaults:
        if self.preferences is None:
            return PersonalDefaults()
        return await self.preferences.get(guild_id, user_id)

    async def _prepare(
        self,
        member: Member,
        kind: str,
        values: Mapping[str, Any],
        parent: Job | None,
        *,
        hold: Hold | None,
        control: bool,
    ) -> tuple[NewJob, followups.Repeat | None]:
        """Intake with the member's and the server's defaults, and the probe of media the bot
        did not make: the job to write, and how a repeat of it is recognised."""
        draft = intake.read(kind, values)
        if parent is None and draft.video_url and kind_of(kind).on_video:
            parent = await self.store.by_result_url(draft.video_url)
        if parent is not None:
            parent = await self._lending(parent)
        rules = await self.settings.get(member.guild_id)
        server = rules.defaults.model_dump(exclude_none=True)
        mine = await self._defaults_of(member.guild_id, member.user_id)
        personal = mine.options()
        request = intake.build(draft, parent=parent, server_defaults=server, personal=personal)
        if parent is None and kind_of(kind).pika_made_only:
            _made_by_pika(draft)  # its link's form is checked first, by the build
        if self.prober is not None and self.prober.needed(draft, parent):
            # Refusals that need no network come first: no fetch for a member over a limit.
            self.guardrails.check(rules, member.ask(kind, request.payload()))
            if hold is not None:
                await hold()
            probed = await self.prober.probe(
                draft, parent, who=member.user_id, server=member.guild_id
            )
            request = intake.build(
                draft, parent=parent, server_defaults=server, personal=personal, probed=probed
            )
        used = intake.personal_used(draft, personal, parent=parent, server_defaults=server)
        origin = Origin(
            member.guild_id,
            member.channel_id,
            member.user_id,
            in_thread=member.parent_channel_id is not None,
        )
        new = self.service.new_job(
            kind, request, origin, parent_job_id=parent.id if parent else None
        )
        new = replace(new, locale=member.locale, mention=mine.mention, personal=used or None)
        new = replace(new, lent_prompt=_lent_prompt(new, parent))
        repeat = (
            followups.repeat_of(kind, draft.video_url, parent)
            if control or kind_of(kind).once_per_video
            else None
        )
        return new, repeat

    async def control(
        self,
        member: Member,
        action: str,
        parent_id: str,
        announce: Announce,
        *,
        wait: Hold | None = None,
    ) -> tuple[Job, bool]:
        """A member used a control (button, reaction, context menu) on a result of ours.
        `wait` holds them privately when their turn is behind others (a button; a reaction
        has no interaction to acknowledge)."""
        self._preparing(member, action)
        async with self.answering.turn(wait) as turn:
            return await self._control(member, action, parent_id, announce, turn)

    async def _control(
        self, member: Member, action: str, parent_id: str, announce: Announce, turn: Turn
    ) -> tuple[Job, bool]:
        try:
            parent = followups.check_allowed(
                await self.store.get(parent_id),
                parent_id,
                member.user_id,
                may_moderate=member.may_moderate,
            )
            parent = await self._lending(parent)
            kind, request = followups.request_for(action, parent)
        except MemberError as refusal:
            JOURNAL.refused(action, member.guild_id, member.user_id, _why(refusal))
            raise
        # A reaction carries no language: its job speaks the language of the result it is on.
        member = replace(member, locale=member.locale or parent.locale)
        new = await self._new(member, parent, kind, request, parent)
        repeat = followups.repeat_of(action, parent.result_url, parent)
        return await self._start(member, new, repeat, announce, asked=action, turn=turn)

    async def _lending(self, parent: Job) -> Job:
        """The parent as the job made from it sees it: a video made without a prompt of its
        own (an upscale, a lip sync) lends the prompt and options of the video it was made
        from, so that an extend of an upscaled "a fox" still asks for a fox, in its shape."""
        source = parent
        for _ in range(LENDING_STEPS):
            kind = kind_of(source.kind)
            if source.prompt or not kind.on_video or kind.inherits or not source.parent_job_id:
                break
            found = await self.store.get(source.parent_job_id)
            if found is None:
                break
            source = found
        lent = {k: v for k, v in source.request.items() if k in ("promptText", "options")}
        if source is parent or not lent:
            return parent
        return replace(parent, request={**parent.request, **lent})

    async def retry(
        self, member: Member, job_id: str, announce: Announce, *, wait: Hold | None = None
    ) -> tuple[Job, bool]:
        """A member pressed Retry on a failure: the same request again, as a new job (`wait`:
        as for a control)."""
        self._preparing(member, "retry")
        async with self.answering.turn(wait) as turn:
            return await self._retry(member, job_id, announce, turn)

    async def _retry(
        self, member: Member, job_id: str, announce: Announce, turn: Turn
    ) -> tuple[Job, bool]:
        try:
            failed = followups.check_retry(
                await self.store.get(job_id),
                job_id,
                member.user_id,
                may_moderate=member.may_moderate,
            )
            request = followups.retry_request(failed)
        except MemberError as refusal:
            JOURNAL.refused("retry", member.guild_id, member.user_id, _why(refusal))
            raise
        parent = await self.store.get(failed.parent_job_id) if failed.parent_job_id else None
        member = replace(member, locale=member.locale or failed.locale)
        new = await self._new(member, failed, failed.kind, request, parent)
        # Their own defaults made the request: "your defaults" only in the requester's Info.
        personal = failed.personal if member.user_id == failed.user_id else None
        new = replace(new, personal=personal, retry_of=failed.id, lent_prompt=failed.lent_prompt)
        repeat = followups.retry_of(failed)
        return await self._start(member, new, repeat, announce, asked="retry", turn=turn)

    async def _new(
        self,
        member: Member,
        where: Job,
        kind: str,
        request: PikaRequestModel,
        parent: Job | None,
    ) -> NewJob:
        """A job of `member` whose result goes where the job `where` went."""
        origin = Origin(
            where.guild_id,
            where.channel_id,
            member.user_id,
            in_thread=where.thread_id is not None,
        )
        new = self.service.new_job(
            kind, request, origin, parent_job_id=parent.id if parent else None
        )
        mine = await self._defaults_of(where.guild_id, member.user_id)
        lent = _lent_prompt(new, parent)
        return replace(new, locale=member.locale, mention=mine.mention, lent_prompt=lent)

    async def _start(
        self,
        member: Member,
        new: NewJob,
        repeat: followups.Repeat | None,
        announce: Announce,
        *,
        asked: str,
        turn: Turn,
    ) -> tuple[Job, bool]:
        """Admit and write the job (unless it repeats one), answer in public, then pay.
        `asked` names what was asked for in the journal (a kind, or a control); `turn` is the
        request's turn to be answered, which ends with the answer."""
        new = replace(new, interaction_token=member.token)
        if not self.inbox.admits():  # the bot is stopping: nothing is written from now on
            refusal = Restarting()
            JOURNAL.refused(asked, member.guild_id, member.user_id, _why(refusal))
            raise refusal
        window = None
        if repeat is not None:
            since = self.store.clock() - self.repeat_seconds
            found = await self.store.repeated(repeat.key, since, repeat.sticky)
            if found is not None:  # found before admission: a repeat is never refused a limit
                return found, False
            new = replace(new, repeat_key=repeat.key)
            window = RepeatWindow(since, tuple(Status(s).value for s in repeat.sticky))
        try:
            job, created = await self.guardrails.admit(
                member.ask(new.kind, new.request), new, window
            )
        except MemberError as refusal:
            JOURNAL.refused(asked, member.guild_id, member.user_id, _why(refusal))
            raise
        if created:
            JOURNAL.admitted(job)
            admitted = job.id
            self.service.answer_begins(admitted)
            try:
                job = await self._announce_and_send(job, announce, turn)
            finally:
                self.service.answer_ends(admitted)
        return job, created

    async def _announce_and_send(self, job: Job, announce: Announce, turn: Turn) -> Job:
        """Answer the member in public, then make the paid call once no other member waits
        for an answer; if the answer fails, cancel the job before anything is paid."""
        try:
            answered = await announce(job)
        except Unanswered as exc:
            turn.done()
            log.info("Job %s: the member's interaction could not be answered (%s)", job.id, exc)
            cancelled = await self.service.cancel_unanswered(job.id, tell=False)
            if exc.tell is not None:
                await exc.tell()
            return cancelled or job
        turn.done()
        await self.answering.quiet()
        started = await self.service.start(job.id, answered.message_id, answered.token)
        if started.status.is_final and started.status_message_id != answered.message_id:
            # Held up past its lease (its event loop stalled), this process answered after
            # another one had taken the job over and cancelled it, telling its member: this
            # answer, which no job records, would say "working" for ever.
            log.warning("Job %s: answered after another process cancelled it", job.id)
            if answered.withdraw is not None:
                await answered.withdraw()
        return started


def _made_by_pika(draft: intake.Draft) -> None:
    """Refuse, before anything is fetched or paid, a video Pika would refuse for a kind it
    takes only on its own results (an upscale of a member's own MP4): neither a result of ours
    nor one of Pika's result URLs. Named as the member gave it."""
    url = draft.video_url
    if url is not None and not pika_result_url(url):
        option = "video_url" if "video" in draft.linked else "video"
        raise InputError.rule(option, "rule.not_made_by_pika")


def _why(refusal: MemberError) -> str:
    """Why a request was refused, for the log: the rule, never the member's own text."""
    if isinstance(refusal, InputError):
        return "bad input: " + ", ".join(
            f"{option} ({rule})" for option, rule, _ in refusal.problems
        )
    return str(refusal)


def _lent_prompt(new: NewJob, parent: Job | None) -> str | None:
    """The prompt a job without one of its own (an upscale, a lip sync) is shown under: that
    of the video it works on, as `_lending` found it (the source of an upscaled upscale)."""
    kind = kind_of(new.kind)
    if parent is None or new.request.get("promptText") or not kind.on_video or kind.inherits:
        return None
    return parent.prompt or None
