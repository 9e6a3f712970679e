"""What the cogs share between the interaction and the use case: the common video options,
option values and the member read from an interaction, and the answers to it: the public
working message, or, for a control pressed again, a private pointer to the first job."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.app import PikaBot
from bot.discord.chats import Chat
from bot.discord.connection import ANSWER_LOST, CALL_FAILED
from bot.discord.landed import landed
from bot.discord.links import jump_url
from bot.discord.results import Posted, info_embed, retry_view, video_line
from bot.discord.texts import repeat_text, working_text
from bot.discord.wording import language_of, say
from bot.errors import InputError, Problem
from bot.intake import Media
from bot.pika.models import (
    FRAME_RATE,
    GUIDANCE_SCALE,
    MAX_PROMPT_CHARS,
    MOTION,
    SEED,
    AspectRatio,
    Pan,
    Rotate,
    Tilt,
    Zoom,
)
from bot.storage import WRITE_ERRORS, Job
from bot.storage import Hold as HoldRecord
from bot.submit import Announce, Answered, Hold, Member, Unanswered

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Awaitable[None]])
LINK_WAIT_STEPS, LINK_WAIT_STEP = 15, 0.1  # how long a repeat waits for the first's message

# The vendor's bounds, declared in the commands so that Discord's client guides members.
Prompt = app_commands.Range[str, 1, MAX_PROMPT_CHARS]
FrameRate = app_commands.Range[int, FRAME_RATE.low, FRAME_RATE.high]
Motion = app_commands.Range[int, MOTION.low, MOTION.high]
GuidanceScale = app_commands.Range[int, GUIDANCE_SCALE.low, GUIDANCE_SCALE.high]

# The common video options of every subcommand that makes a video: name, type, description.
# Descriptions are the English the translations are keyed by (bot/discord/locales/).
VIDEO_OPTIONS: list[tuple[str, Any, str]] = [
    ("aspect_ratio", AspectRatio | None, "The shape of the video: 16:9 is wide, 9:16 is tall"),
    (
        "frame_rate",
        FrameRate | None,
        f"Frames per second, from {FRAME_RATE.low} to {FRAME_RATE.high}",
    ),
    (
        "motion",
        Motion | None,
        f"How much moves, from {MOTION.low} (calm) to {MOTION.high} (lively)",
    ),
    (
        "guidance_scale",
        GuidanceScale | None,
        f"How closely to follow the prompt, from {GUIDANCE_SCALE.low} to {GUIDANCE_SCALE.high}",
    ),
    ("negative_prompt", Prompt | None, "What the video should avoid"),
    (
        "seed",
        app_commands.Range[int, SEED.low, SEED.high] | None,
        "A number that makes the result repeatable",
    ),
    ("zoom", Zoom | None, "Move the camera in or out"),
    ("pan", Pan | None, "Turn the camera left or right"),
    ("tilt", Tilt | None, "Tilt the camera up or down"),
    ("rotate", Rotate | None, "Roll the camera clockwise (cw) or counter-clockwise (ccw)"),
]


def video_options(*, exclude: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Add the common video options to a subcommand; they arrive together as `common`."""
    names = [name for name, _, _ in VIDEO_OPTIONS if name not in exclude]

    def decorate(func: F) -> F:
        # Evaluated here, in the command's module: the wrapper's globals are this module's.
        own = [
            p
            for p in inspect.signature(func, eval_str=True).parameters.values()
            if p.name != "common"
        ]
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
            for name, kind, _ in VIDEO_OPTIONS
            if name not in exclude
        ]

        @functools.wraps(func)
        async def wrapper(self: Any, interaction: discord.Interaction, **kwargs: Any) -> None:
            common = {name: kwargs.pop(name, None) for name in names}
            await func(self, interaction, common=common, **kwargs)

        wrapper.__signature__ = inspect.Signature([*own, *extra])  # type: ignore[attr-defined]
        described = {name: text for name, _, text in VIDEO_OPTIONS if name not in exclude}
        return app_commands.describe(**described)(wrapper)  # type: ignore[return-value]

    return decorate


class BadOptions(app_commands.CheckFailure):
    """Option values the bot refuses before running a command (`original` names each)."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.original = error


# Option types (Discord's numbers) and what a value of each must be.
STRING, INTEGER, BOOLEAN, NUMBER, ATTACHMENT = 3, 4, 5, 10, 11
RESOLVED = frozenset({6, 7, 8, 9, 11})  # users, channels, roles, mentionables, attachments


def check_options(interaction: discord.Interaction) -> None:
    """Check every option of a slash command against its declaration, as Discord's client
    would: required options present, types (a boolean is never a number), ranges, lengths and
    choices. A crafted interaction skips Discord's client; it does not skip this.

    Raises BadOptions naming each offending option; never echoes what was given."""
    command = interaction.command
    if not isinstance(command, app_commands.Command):
        return
    raw = _raw_values(interaction.data or {})
    resolved = dict(iter(interaction.namespace))  # (name, value) pairs
    problems: list[Problem] = []
    for param in declared(command):
        name = param.display_name
        if name not in raw:
            if param.required:
                problems.append((name, "rule.required", {}))
            continue
        problem = _problem(param, raw[name], resolved.get(name))
        if problem is not None:
            problems.append((name, *problem))
    if problems:
        raise BadOptions(InputError(problems))


@functools.cache
def declared(command: app_commands.Command[Any, ..., Any]) -> tuple[app_commands.Parameter, ...]:
    """A command's options as declared (discord.py builds that list afresh on every read, and
    every interaction reads it)."""
    return tuple(command.parameters)


def _raw_values(data: Any) -> dict[str, Any]:
    """The option values as sent, by name, below the subcommand (group) that holds them."""
    options = data.get("options") or [] if isinstance(data, dict) else []
    while options and isinstance(options[0], dict) and options[0].get("type") in (1, 2):
        options = options[0].get("options") or []
    return {o["name"]: o.get("value") for o in options if isinstance(o, dict) and "name" in o}


def _problem(
    param: app_commands.Parameter, value: Any, resolved: Any
) -> tuple[str, dict[str, Any]] | None:
    kind = param.type.value
    if kind in RESOLVED:
        if kind == ATTACHMENT and not isinstance(resolved, discord.Attachment):
            return "rule.attachment_missing", {}
        if kind != ATTACHMENT and (resolved is None or type(resolved) is discord.Object):
            return "rule.not_found", {}
        return None
    if kind == BOOLEAN:
        return None if isinstance(value, bool) else ("rule.type_bool", {})
    if kind == STRING:
        if not isinstance(value, str):
            return "rule.type_text", {}
        low, high = param.min_value, param.max_value
        if high is not None and len(value) > high:
            return "rule.text_too_long", {"high": high, "length": len(value)}
        if low is not None and len(value) < low:
            return "rule.text_too_short", {"low": low}
    elif kind in (INTEGER, NUMBER):
        whole = kind == INTEGER
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ("rule.type_whole" if whole else "rule.type_number"), {}
        if (whole and not float(value).is_integer()) or not math.isfinite(value):
            return ("rule.type_whole" if whole else "rule.type_number"), {}
        low, high = param.min_value, param.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            return "rule.range", {"low": low, "high": high}
    choices = [c.value for c in param.choices]
    if choices and value not in choices:
        # By the names the member's Discord shows (translated by the wording), listed as the
        # request models' rules list theirs.
        return "rule.choice", {"choices": [c.name for c in param.choices]}
    return None


def media(attachment: discord.Attachment | None) -> Media | None:
    """What intake needs of an attachment."""
    if attachment is None:
        return None
    return Media(attachment.url, attachment.filename, attachment.content_type)


def values_of(arguments: dict[str, Any]) -> dict[str, Any]:
    """A command's option values for intake, by option name: attachments as Media, the common
    video options flattened in. `arguments` is the command's `locals()`: its parameters are
    exactly its options, so nothing is listed twice."""
    values = {k: v for k, v in arguments.items() if k not in ("self", "interaction", "common")}
    values |= arguments.get("common") or {}
    return {k: media(v) if isinstance(v, discord.Attachment) else v for k, v in values.items()}


def member_of(interaction: discord.Interaction) -> Member:
    """Who used an interaction, where, and in which language."""
    channel = interaction.channel
    return Member(
        guild_id=interaction.guild_id,
        user_id=interaction.user.id,
        channel_id=interaction.channel_id or 0,
        parent_channel_id=channel.parent_id if isinstance(channel, discord.Thread) else None,
        role_ids=frozenset(r.id for r in getattr(interaction.user, "roles", [])),
        may_moderate=interaction.permissions.manage_messages,
        locale=interaction.locale.value,
        token=interaction.token,
    )


def lang(interaction: discord.Interaction) -> str:
    """The catalogue for the member's language."""
    return language_of(interaction.locale)


FILES_CHECKED = "files checked"  # in Interaction.extras: held privately while files were probed
HOLD_RECORDED = "hold recorded"  # in Interaction.extras: the private hold is in the database
HOLD_WRITTEN = "hold written"  # in Interaction.extras: and its write was seen to succeed
HOLD_RECORD_SECONDS = 1.0  # the record of a private hold is waited for at most this long
HOLD_RECORD_FAILED: tuple[type[BaseException], ...] = (*WRITE_ERRORS, TimeoutError)
ACKNOWLEDGED = 40060  # Discord's code for "Interaction has already been acknowledged."
# How long a first answer (or the private hold) is tried: Discord refuses one after 3 s, and
# discord.py would obey any 429's Retry-After, the job and its answering turn held meanwhile.
FIRST_ANSWER_SECONDS = 10.0
# The public follow-up after a private hold: the token lasts 15 minutes, a member waits less.
HELD_ANSWER_SECONDS = 60.0


def announcer(bot: PikaBot, interaction: discord.Interaction) -> Announce:
    """Answers the interaction in public with the job's working message; its token is kept
    with the job, to turn that message into the result.

    After a private hold (the files were probed, or the request waited for its turn in a
    burst), the private answer says the job started and the public message is a follow-up of
    the interaction (the same token edits it)."""

    async def announce(job: Job) -> Answered:
        if not await take_back_hold(bot, interaction):
            log.warning("Job %s: its private hold was taken by another process", job.id)
            raise Unanswered("hold taken over")  # its member was told there: nothing more
        text = working_text(job, await bot.estimates.standing(job))
        held = interaction.response.is_done()
        try:
            async with asyncio.timeout(HELD_ANSWER_SECONDS if held else FIRST_ANSWER_SECONDS):
                answered = await answer(interaction, text, held=held)
            return Answered(answered, interaction.token, withdrawer(interaction, answered, held))
        except ANSWER_LOST as exc:
            # The reply was lost, not necessarily the answer: when Discord shows it, the job
            # goes on as if the reply had come.
            found = await landed(interaction, followup=held)
            if found is not None:
                log.info("Job %s: the answer whose reply was lost is in the channel", job.id)
                return Answered(found, interaction.token, withdrawer(interaction, found, held))
            failure: BaseException = exc
            shown = True  # the hold, or an answer that may show after all: corrected if so
        except (discord.HTTPException, discord.InteractionResponded) as exc:
            acknowledged = getattr(exc, "code", None) == ACKNOWLEDGED
            # discord.py sends an answer again after a 5xx: Discord may have taken the first.
            if acknowledged and not held and (found := await landed(interaction, followup=False)):
                log.info("Job %s: the answer Discord failed on is in the channel", job.id)
                return Answered(found, interaction.token, withdrawer(interaction, found, held))
            # Refused. Held privately (or held, though the hold's reply was lost: Discord then
            # refuses the answer as already acknowledged): the hold is corrected.
            failure = exc
            shown = held or acknowledged

        async def tell() -> None:
            # Once the job is cancelled unpaid: not "thinking" or "working" for ever, and
            # the Retry its sentence names. Where nothing shows, Discord refuses the edit.
            with contextlib.suppress(*CALL_FAILED):
                lost = say("failure.not_acknowledged", lang(interaction))
                await interaction.edit_original_response(content=lost, view=retry_view(job))

        raise Unanswered(type(failure).__name__, tell if shown else None) from failure

    return announce


def withdrawer(
    interaction: discord.Interaction, message_id: int | None, held: bool
) -> Callable[[], Awaitable[None]]:
    """Removes the public answer: the first answer, or the follow-up after a private hold."""

    async def withdraw() -> None:
        with contextlib.suppress(*CALL_FAILED):
            async with asyncio.timeout(FIRST_ANSWER_SECONDS):
                if held and message_id is not None:
                    await interaction.followup.delete_message(message_id)
                else:
                    await interaction.delete_original_response()

    return withdraw


async def answer(interaction: discord.Interaction, text: str, *, held: bool) -> int | None:
    """Post the working message in public; its id. After a private hold (`held`), "thinking"
    is resolved first, saying the job starts below: a follow-up sent while it still says
    "thinking" would be taken by Discord as that edit, private like the hold, and the channel
    would never see the job."""
    none = discord.AllowedMentions.none()
    if not held:
        answered = await interaction.response.send_message(text, allowed_mentions=none)
        return answered.message_id
    key = "job.checked" if interaction.extras.get(FILES_CHECKED) else "job.started"
    await interaction.edit_original_response(content=say(key, lang(interaction)))
    public = await interaction.followup.send(text, allowed_mentions=none, wait=True)
    return public.id


def holder(bot: PikaBot, interaction: discord.Interaction, *, probing: bool = False) -> Hold:
    """Acknowledges the interaction privately ("thinking"): before the files are probed
    (`probing`), or while the request waits for its turn in a burst. The hold is recorded as
    it is made, until the request is answered (`forget_hold`): a process killed meanwhile
    leaves it to another, which tells the member the bot restarted (`bot/storage/holds.py`)."""

    async def hold() -> None:
        if probing:
            interaction.extras[FILES_CHECKED] = True
        if not interaction.response.is_done():
            # Side by side: the hold meets Discord's deadline, and in a burst the database's
            # queue of admissions must not hold it back. Both are done before anything else.
            await asyncio.gather(_record_hold(bot, interaction), _defer(interaction))

    return hold


async def _defer(interaction: discord.Interaction) -> None:
    async with asyncio.timeout(FIRST_ANSWER_SECONDS):
        await interaction.response.defer(ephemeral=True, thinking=True)


async def _record_hold(bot: PikaBot, interaction: discord.Interaction) -> None:
    made = HoldRecord(
        interaction.id,
        interaction.token,
        interaction.guild_id,
        interaction.user.id,
        interaction.locale.value,
        bot.storage.jobs.clock(),
    )
    # Set first: a write cut short by the time-out may still land, and is then forgotten too.
    interaction.extras[HOLD_RECORDED] = True
    try:
        # Bounded: what follows the hold (the probe, the turn) waits for its record.
        async with asyncio.timeout(HOLD_RECORD_SECONDS):
            await bot.storage.jobs.holds.record(made)
        interaction.extras[HOLD_WRITTEN] = True
    except HOLD_RECORD_FAILED as exc:  # held all the same; only a crash would show it
        log.warning("Could not record a private hold (%s)", type(exc).__name__)


async def take_back_hold(bot: PikaBot, interaction: discord.Interaction) -> bool:
    """Just before a held request is answered in public (its job admitted, the interaction's
    token written with it, which a take-over finds): its hold's record goes. False if another
    process took the hold meanwhile: this one was held up past its lease (the database away
    while it probed), and that one told the member the bot restarted and to ask again; the job
    must then stop unpaid, or a member who asked again would pay twice."""
    if interaction.extras.pop(HOLD_RECORDED, None) is not True:
        return True
    written = interaction.extras.pop(HOLD_WRITTEN, False)
    try:
        kept = await bot.storage.jobs.holds.take_back(interaction.id)
    except WRITE_ERRORS as exc:  # cannot tell: answered as before, the record left to expire
        log.info("Could not take back a private hold (%s)", type(exc).__name__)
        return True
    return kept or not written  # a record never seen written may just not have landed


async def forget_hold(bot: PikaBot, interaction: discord.Interaction) -> None:
    """The member's private hold, if one was recorded, has its answer: nothing left to resolve
    after a crash (its record taken back; left, it is resolved only if it still says
    "thinking")."""
    await take_back_hold(bot, interaction)


async def answer_repeat(bot: PikaBot, interaction: discord.Interaction, job: Job) -> None:
    """Point a member who pressed a control again to the job the first press started."""
    text = repeat_text(await linked(bot, job), lang(interaction))
    if interaction.response.is_done():  # held privately while files were probed
        await interaction.edit_original_response(content=text)
    else:
        await interaction.response.send_message(text, ephemeral=True)


async def linked(bot: PikaBot, job: Job) -> Job:
    """The job once its working message is known: a second press can come while the first
    press is still being answered (the wait stays well within Discord's three seconds)."""
    for _ in range(LINK_WAIT_STEPS):
        if job.status_message_id is not None or job.result_message_id is not None:
            break
        await asyncio.sleep(LINK_WAIT_STEP)
        job = await bot.storage.jobs.get(job.id) or job
    return job


async def ask(
    bot: PikaBot,
    interaction: discord.Interaction,
    kind: str,
    values: dict[str, Any],
    parent: Job | None = None,
    *,
    control: bool = False,
) -> None:
    """Hand a member's request (option values by name) to the use case; answer in public, or
    privately when it repeats a job (`control`: a context menu, which may be used twice)."""
    job, created = await bot.submissions.ask(
        member_of(interaction),
        kind,
        values,
        announcer(bot, interaction),
        parent=parent,
        hold=holder(bot, interaction, probing=True),
        wait=holder(bot, interaction),
        control=control,
    )
    if not created:
        await answer_repeat(bot, interaction, job)
    await forget_hold(bot, interaction)


async def info_answer(
    bot: PikaBot, job: Job, lang: str, shown: discord.Message | None, viewer: int | None
) -> discord.Embed:
    """The Info embed of a job, saying truthfully where its video is: uploaded, linked, or out
    of members' reach. `shown`: the message the member looks at, when it may be the result
    (its Info button); `viewer`: the one member who reads the answer (None: in public)."""
    link: str | None = None
    posted: Posted = "unknown"
    if job.result_message_id is not None:
        link = jump_url(job.guild_id, job.channel_id, job.result_message_id)
        result = shown if shown is not None and shown.id == job.result_message_id else None
        posted = _posted(result) if result else await _posted_in(bot, job)
    video = video_line(job, lang, result_link=link, posted=posted)
    return info_embed(job, lang, video=video, mine=viewer == job.user_id)


def _posted(message: discord.Message) -> Posted:
    uploaded = any(a.filename.endswith(".mp4") for a in message.attachments)
    return "uploaded" if uploaded else "linked"


async def _posted_in(bot: PikaBot, job: Job) -> Posted:
    """How a job's result message carries its video, read from Discord."""
    assert job.result_message_id is not None
    channel = bot.get_channel(job.channel_id)
    if not isinstance(channel, Chat):
        return "unknown"
    try:
        return _posted(await channel.fetch_message(job.result_message_id))
    except discord.NotFound:
        return "deleted"
    except discord.HTTPException:
        return "unknown"
