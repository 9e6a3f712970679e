"""The texts built from a job, in its member's language: the working message, status words,
failures and the DM when a result cannot be posted. Sentences come from the wording catalogue;
this module only chooses and fills them."""

from __future__ import annotations

from bot.discord.links import jump_url, reachable, shown_url
from bot.discord.wording import MESSAGES, language_of, say, shown, title
from bot.jobs.estimates import Standing
from bot.pika.kinds import kind as kind_of
from bot.storage import Job, Status

BAR_CELLS = 10
PROMPT_SHOWN = 200  # characters of a prompt quoted in messages
MESSAGE_MAX = 2000  # Discord's longest message content
CAMERA_AXES = ("zoom", "pan", "tilt", "rotate")


def lang_of(job: Job) -> str:
    """The language of the member who asked for the job."""
    return language_of(job.locale)


def quoted(prompt: str, limit: int = PROMPT_SHOWN) -> str:
    """A prompt as quoted after a title (shown as typed, never interpreted), or nothing."""
    words = shown(prompt, limit)
    return f" “{words}”" if words else ""


def model_of(job: Job) -> str | None:
    """The Pika model a job ran on; None for a kind that has no model choice (an upscale)."""
    default = kind_of(job.kind).model
    return str(job.request.get("model") or default) if default else None


def options_line(job: Job, lang: str) -> str:
    """The request's main options, in words: model, shape, frame rate, motion, camera, look."""
    options = job.request.get("options") or {}
    parameters = options.get("parameters") or {}
    parts: list[str] = []
    model = model_of(job)
    if model:
        parts.append(say("option.model", lang, model=model))
    if options.get("aspectRatio"):
        parts.append(str(options["aspectRatio"]))
    if options.get("frameRate"):
        parts.append(say("option.fps", lang, fps=options["frameRate"]))
    if parameters.get("motion"):
        parts.append(say("option.motion", lang, motion=parameters["motion"]))
    camera = options.get("camera") or {}
    for axis in CAMERA_AXES:
        key = f"camera.{axis}.{camera.get(axis)}"
        if key in MESSAGES:
            parts.append(say(key, lang))
    for field in ("pikaffect", "style"):
        if job.request.get(field):
            parts.append(str(job.request[field]))
    if parameters.get("seed") is not None:
        parts.append(say("option.seed", lang, seed=parameters["seed"]))
    return " · ".join(parts)


def bar(progress: int) -> str:
    """A progress bar of ten cells."""
    filled = min(BAR_CELLS, max(0, progress) * BAR_CELLS // 100)
    return "▰" * filled + "▱" * (BAR_CELLS - filled)


def working_text(job: Job, standing: Standing, lang: str | None = None) -> str:
    """The public message of a job in the making: what was asked, its place in line while it
    waits, then its progress, and when it should be ready."""
    lang = lang or lang_of(job)
    heading = working_heading(job, lang)
    eta = int(standing.eta)
    if job.status is Status.DELIVERING or job.status is Status.DELIVERED:
        state = say("job.posting", lang, bar=bar(100))
    elif standing.place is not None:
        state = say("job.waiting", lang, place=standing.place, eta=eta)
    else:
        state = say("job.progress", lang, bar=bar(job.progress), progress=job.progress, eta=eta)
    lines = [heading, options_line(job, lang), state]
    return "\n".join(line for line in lines if line)


def working_heading(job: Job, lang: str | None = None) -> str:
    """The first line of a job's working message (what was asked, for whom), which no
    progress changes: how a working message that was never recorded is known again."""
    lang = lang or lang_of(job)
    return say(
        "job.heading",
        lang,
        title=title(job.kind, lang),
        user=job.user_id,
        quoted=quoted(job.shown_prompt),
    )


def status_word(job: Job, lang: str) -> str:
    """Where a job is, in words (never Pika's own status names)."""
    if job.waiting:
        return say("state.waiting", lang)
    if job.status is Status.RUNNING:
        return say("state.making", lang, progress=job.progress)
    if job.status is Status.DELIVERING:
        return say("state.posting", lang)
    return say(f"state.{job.status.value}", lang)


def failure_reason(job: Job, lang: str) -> str:
    """Why a job ended without a video, and what to do next; Pika's own words stay in the log."""
    key = f"failure.{job.failure}"
    if job.failure is None or key not in MESSAGES:
        return say("failure.no_reason", lang)
    detail = job.last_error or ""
    if f"{key}_{job.kind}" in MESSAGES:  # an upscale has no prompt to change, for one
        key = f"{key}_{job.kind}"
    if job.failure in ("undeliverable", "discord"):  # the detail is a key of the catalogue
        posted = say(detail, lang) if detail in MESSAGES else say("failure.no_reason", lang)
        return say(key, lang, detail=posted)
    return say(key, lang, minutes=detail)


def failure_text(job: Job, lang: str | None = None) -> str:
    """What a requester is told when a job ends without a video."""
    lang = lang or lang_of(job)
    return say(
        "failure.line",
        lang,
        user=job.user_id,
        title=title(job.kind, lang),
        quoted=quoted(job.shown_prompt),
        reason=failure_reason(job, lang),
    )


def undeliverable_text(job: Job, lang: str | None = None) -> str:
    """The DM to a requester whose result could not be posted where they asked."""
    lang = lang or lang_of(job)
    if reachable(job.result_url):
        link = say("failure.dm_link", lang, url=shown_url(job.result_url or ""))
    else:
        link = say("failure.dm_local", lang) if job.result_url else ""
    parts = {
        "title": title(job.kind, lang),
        "quoted": quoted(job.shown_prompt),
        "reason": failure_reason(job, lang),
    }
    text = say("failure.dm", lang, link=link, **parts)
    if len(text) <= MESSAGE_MAX:
        return text
    # Pika's result URLs carry the prompt: one in Japanese makes a link past a message's length.
    return say("failure.dm", lang, link=say("failure.dm_long", lang), **parts)


def job_link(job: Job) -> str | None:
    """A jump link to where a job shows: its result once posted, its working message while in
    the making; None for a job that ended without a video (its working message is gone)."""
    if job.result_message_id is not None:
        message: int | None = job.result_message_id
    else:
        message = job.status_message_id if not job.status.is_final else None
    return jump_url(job.guild_id, job.channel_id, message) if message else None


def repeat_text(job: Job, lang: str) -> str:
    """The answer to a control pressed again: the job the first press started, with a link."""
    link = job_link(job) or title(job.kind, lang)
    if job.status is Status.DELIVERED:
        # A kind may say it in its own words (`repeat.done.<kind>`), as `kind.<name>` titles it.
        key = f"repeat.done.{job.kind}"
        key = key if key in MESSAGES else "repeat.done"
        return f"🔁 {say(key, lang, link=link)}"
    return f"🔁 {say('repeat.working', lang, link=link)}"
