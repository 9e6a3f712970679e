"""Every sentence a member reads, in one catalogue, and the texts built from a job.

Other layers never write member-facing sentences: they raise `MemberError(key, **params)` or
record a job's `failure` key, and this module turns keys into words. Keys are grouped by where
they are read (`refusal.*` by the guardrails, `input.*` and `rule.*` by intake, `control.*` by
the follow-up rules, `failure.*` for a job that ended without a video).
"""

from __future__ import annotations

from typing import Any

import discord

from bot.errors import MemberError
from bot.storage import Job, Status

MESSAGES: dict[str, str] = {
    # Refusals by the guardrails: which limit, and when it resets.
    "refusal.no_server": "Videos can only be made in a server, where its owner's limits apply.",
    "refusal.channel": "Videos can only be made in {channels} on this server.",
    "refusal.role": "Making videos here needs the <@&{role}> role.",
    "refusal.paid_features": "Extend and upscale are turned off on this server.",
    "refusal.blocked": "The prompt contains something this server blocks (`{pattern}`).",
    "refusal.running": (
        "You already have {running} job(s) running; the limit here is {limit} at a time. "
        "Try again when one finishes."
    ),
    "refusal.member_quota": (
        "You have used your {quota} job(s) for today; "
        "the quota resets <t:{resets_at}:R> (midnight {timezone})."
    ),
    "refusal.server_quota": (
        "This server has used its {quota} job(s) for today; "
        "the quota resets <t:{resets_at}:R> (midnight {timezone})."
    ),
    "refusal.cooldown": (
        "Please wait between videos: {seconds} s here. You can ask again <t:{ready}:R>."
    ),
    # Bad input: one line per option, "option: rule".
    "input.line": "{option}: {rule}",
    "rule.vendor": "{text}",
    "rule.either_not_both": "give either `{option}` or `{option}_url`, not both",
    "rule.attach_or_url": "attach a file as `{option}` or give `{option}_url`",
    "rule.media_kind": "{rule} (got {filename})",
    "rule.effect_needs_media": "attach an image or a video for the effect to act on",
    "rule.no_mp4": "this message carries no MP4 video.",
    "rule.unreachable": (
        "could not be fetched; give a link to the file itself, on a public http(s) address"
    ),
    "rule.media.too_large": "is larger than {limit_mib} MiB",
    "rule.media.not_image": "is not a PNG, JPEG, WebP or GIF image",
    "rule.media.not_mp4": "is not an MP4 video that plays",
    "rule.media.not_wav": "is not a WAV file that plays",
    "rule.media.too_many_pixels": "is {width}x{height} pixels; at most {limit} pixels",
    "rule.media.frame_too_large": "is {width}x{height}; at most {side} pixels a side",
    "rule.media.too_long": "is {seconds} s long; at most {limit:g} s",
    "rule.media.too_many_frames": "has {frames} frames; at most {limit}",
    "rule.no_such_job": "there is no job `{job_id}` here.",
    "rule.required": "is required",
    "rule.attachment_missing": "the file was not found; attach it again",
    "rule.not_found": "was not found; pick it again",
    "rule.type_bool": "must be true or false",
    "rule.type_text": "must be text",
    "rule.type_whole": "must be a whole number",
    "rule.type_number": "must be a number",
    "rule.text_too_long": "must be at most {high} characters (got {length})",
    "rule.text_too_short": "must be at least {low} character(s)",
    "rule.range": "must be between {low:g} and {high:g}",
    "rule.choice": "must be one of {choices}",
    "rule.outdated_command": (
        "Your Discord app has an outdated copy of this command (an option is missing). "
        "Reload Discord (Ctrl+R) and try again."
    ),
    # Controls on a result.
    "control.unknown_job": "There is no job `{job_id}`.",
    "control.not_yours": (
        "Only the member who made this video, or a moderator, can use its controls."
    ),
    "control.no_video_yet": "Job `{job_id}` has no video yet.",
    "control.already_upscaled": "This video is already upscaled.",
    "control.no_seed": "This kind of result has no seed to re-roll.",
    "control.pika_would_refuse": "Pika would refuse this: {reason}",
    "control.unknown_action": "Unknown control {action!r}.",
    "control.already_on_it": "Already on it: job `{job_id}`.",
    "control.unknown_info": "That job is unknown.",
    # Why a job ended without a video, in the bot's own words: a vendor's text is never shown
    # (it goes to the log). {detail} is a detail of the bot's own, where a sentence has one.
    "failure.pika": "Pika could not handle this request.",
    "failure.pika_auth": "The bot's Pika key was refused; the server owner needs to check it.",
    "failure.pika_plan": (
        "Pika refused: the owner's plan has no credits left or does not include this."
    ),
    "failure.pika_rate_limited": "Pika is busy with the bot's requests; try again shortly.",
    "failure.pika_rejected": "Pika refused this request.",
    "failure.pika_server": "Pika is having trouble right now; try again later.",
    "failure.pika_outcome_unknown": (
        "Pika did not answer in time, so the bot cannot tell whether the job started; it was "
        "not sent again, so you are never charged twice."
    ),
    "failure.pika_bad_response": "Pika sent an answer the bot could not read.",
    "failure.pika_failed": "Pika could not make this video.",
    "failure.unreadable": "The bot could not read this job's record.",
    "failure.invalid": "The request is invalid: {detail}",
    "failure.interrupted": (
        "The bot restarted while this job was being sent to Pika, so it cannot tell whether "
        "Pika started it. It was not sent again, so you are never charged twice; please ask "
        "again."
    ),
    "failure.internal": "Something went wrong on the bot's side while sending this job to Pika.",
    "failure.timed_out": (
        "Pika did not finish this video within {detail} minutes, so the bot gave up."
    ),
    "failure.undeliverable": "{detail}",
    "failure.discord": "Discord kept failing: {detail}",
    "undeliverable.channel_gone": "the channel no longer exists",
    "undeliverable.hidden": "the bot may no longer see that channel",
    "undeliverable.not_messageable": "that channel cannot hold messages",
    "undeliverable.no_video": "Pika reported no video",
    "undeliverable.refused": "Discord refused the post ({status}: {text})",
    "delivery.discord_error": "Discord error {status}",
    "delivery.download": "could not download the video",
    "failure.line": "❌ <@{user}> your {what} job `{job_id}` {verb}: {reason}",
    "failure.dm": (
        "Your Pika job `{job_id}` finished, but the bot could not post it where you asked "
        "({reason}).{link}"
    ),
    "failure.dm_link": "\nHere it is: {url}",
    "failure.no_reason": "no reason was given",
    # Errors of the bot itself.
    "error.internal": (
        "💥 Something went wrong on the bot's side; it has been logged. Please try again."
    ),
    # Jobs and results.
    "job.checked": "✅ Your files check out; the job is starting (see below).",
    "job.working": "🎬 <@{user}> asked for **{title}**{quoted}\n{options}\n{progress}",
    "job.status": "Status: {word} · job `{job_id}`",
    "job.ready": "<@{user}> your video is ready.",
    "job.linked": "Too large to upload here: open the video with the link above.",
    "job.shared": "Job `{job_id}`: {url}",
    "embed.model": "Model",
    "embed.seed": "Seed",
    "embed.random": "random",
    "embed.aspect_ratio": "Aspect ratio",
    "embed.source": "source",
    "embed.length": "Length",
    "embed.seconds": "{seconds:g} s",
    "embed.unknown": "unknown",
    "embed.job": "Job",
    "embed.from": "From",
    "embed.footer": "⏩ extend · ⬆️ upscale · 🔁 re-roll",
    "button.extend": "Extend",
    "button.upscale": "Upscale",
    "button.reroll": "Re-roll",
    "button.info": "Info",
    "jobs.none": "You have no jobs here yet. Try `/pika generate`.",
    "usage.today": (
        "Today you made **{today}** of your **{quota}** jobs; **{left}** left (resets {resets})."
    ),
    "usage.running": "• `{job_id}` {title}: {word} {progress}%",
    "usage.none_running": "No jobs running.",
    "usage.server": "Server today: **{today}** jobs ({quota}), **{running}** running.",
    "usage.server_quota": "quota {quota}",
    "usage.no_server_quota": "no quota",
    # Server settings.
    "settings.unchanged": "Nothing changed.",
    "settings.changed": "✅ {lines}",
    "settings.change_line": "`{name}`: {old} → {new}",
    "settings.logged": "🛠️ <@{user}> changed Pika settings:\n{lines}",
    "settings.none": "none",
    "settings.all_channels": "all channels",
    "settings.no_limit": "no limit",
    "settings.allowed": "allowed",
    "settings.off": "off",
    "settings.show": (
        "**Channels:** {channels}\n"
        "**Required role:** {role}\n"
        "**Running jobs per member:** {running}\n"
        "**Daily jobs per member:** {daily_member}\n"
        "**Daily jobs for the server:** {daily_server}\n"
        "**Cooldown:** {cooldown} s\n"
        "**Blocked patterns:** {blocked}\n"
        "**Extend and upscale:** {paid}\n"
        "**Default video options:** {defaults}\n"
        "**Log channel:** {log_channel}\n"
        "**Quota day:** midnight to midnight, {timezone}"
    ),
    # The owner's status view and audit (`/pika-admin status`, `/pika-admin audit`).
    "status.title": "**Pika bot status**",
    "status.never": "the start",
    "status.pika.unknown": "⚪ Pika has not been asked anything yet.",
    "status.pika.ok": "🟢 Pika answers (since {since}).",
    "status.pika.unreachable": "🔴 Pika does not answer (since {since}): jobs fail until it does.",
    "status.pika.failing": "🔴 Pika answers with errors (since {since}).",
    "status.pika.key_refused": (
        "🔴 Pika refuses the bot's key (since {since}): the bot's owner needs to check "
        "PIKA_API_KEY."
    ),
    "status.pika.last_error": "Last Pika error: {text} on `{route}`, {at}.",
    "status.pika.no_error": "No Pika error since the bot started.",
    "status.jobs_now": (
        "**Now:** {running} running, {waiting} waiting here "
        "({running_all} running, {waiting_all} waiting across the bot)."
    ),
    "status.today": "**Today** (since {since}):",
    "status.kind_line": (
        "• {title}: {asked} asked, {delivered} delivered, {failed} failed{why}, "
        "{timed_out} timed out; typically {typical}"
    ),
    "status.why": " ({why})",
    "status.no_jobs_today": "• No jobs yet.",
    "status.typical_other": "Typical durations of other kinds: {typical}.",
    "status.typical_unknown": "no finished job yet",
    "status.seconds": "{seconds} s",
    "status.minutes": "{minutes} min",
    "status.changes": "**Latest settings changes:**",
    "status.change_line": "• {at} <@{user}> set `{setting}` from `{old}` to `{new}`",
    "status.no_changes": "• None yet.",
    "audit.title": "**Settings changes**, newest first (page {page}):",
    "audit.empty": "No setting has been changed yet.",
    "audit.previous": "Newer",
    "audit.next": "Older",
    "audit.not_allowed": "Only members with Manage Server can read the settings audit.",
    # Help.
    "help.simulated": (
        "Videos here are **simulated** by the bot's built-in local Pika: no credits are spent."
    ),
    "help.real": "Videos are made by Pika and use the server owner's credits.",
    "help.guide": (
        "**Pika video bot**\n{mode}\n"
        "Start with `/pika generate`, attach an image or a video to animate it, then react "
        "to a result with ⏩ to extend it, ⬆️ to upscale it or 🔁 to re-roll it. "
        "`/pika jobs` lists your jobs and `/pika usage` shows what is left of your quota."
    ),
}

# The icon that opens the answer to each family of member errors.
ICONS = {"input": "⚠️", "rule": "⚠️", "refusal": "⛔", "control": "⛔"}

KIND_TITLES = {
    "generate": "Generate",
    "pikaffect": "Pikaffect",
    "ingredients": "Ingredients",
    "additions": "Additions",
    "swap": "Swap",
    "reprompt": "Reprompt",
    "edit": "Edit",
    "inpaint": "Inpaint",
    "outpaint": "Outpaint",
    "extend": "Extend",
    "upscale": "Upscale",
    "lipsync": "Lip sync",
}
STATUS_WORDS = {
    Status.SUBMITTING: "sending to Pika",
    Status.SENDING: "sending to Pika",
    Status.RUNNING: "in progress",
    Status.DELIVERING: "finished, posting",
    Status.DELIVERED: "done",
    Status.FAILED: "failed",
    Status.TIMED_OUT: "timed out",
    Status.UNDELIVERABLE: "could not be posted",
}


# Parameters that carry what a member typed (or an admin set): shown, never interpreted.
MEMBER_PARAMS = frozenset({"filename", "job_id", "value"})
CODE_PARAMS = frozenset({"pattern"})  # shown inside `code`


def say(key: str, /, **params: Any) -> str:
    """The sentence `key` names, filled with `params`."""
    return MESSAGES[key].format(**params)


def shown(text: str, limit: int = 300) -> str:
    """Member text as plain words in a message: on one line (no fake "Status:" line), cut to
    `limit`, markdown (headings, masked links, emphasis) and mentions escaped."""
    line = " ".join(str(text).split())
    if len(line) > limit:
        line = line[:limit] + "…"
    return discord.utils.escape_mentions(discord.utils.escape_markdown(line))


def code(text: str, limit: int = 200) -> str:
    """Text to show inside a `code` span: one line, cut, no backtick to close the span early."""
    line = " ".join(str(text).split())[:limit]
    return line.replace("`", "\u02cb") or " "


def _safe(params: dict[str, Any]) -> dict[str, Any]:
    """Params with member text made harmless."""
    return {
        name: shown(value, 100)
        if name in MEMBER_PARAMS
        else code(value)
        if name in CODE_PARAMS
        else value
        for name, value in params.items()
    }


def explain(error: MemberError) -> str:
    """The whole answer to a member error, with its icon."""
    family = error.key.split(".", 1)[0]
    if error.key == "input":
        text = "\n".join(
            say("input.line", option=option, rule=say(rule, **_safe(params)))
            for option, rule, params in error.params["problems"]
        )
    else:
        text = say(error.key, **_safe(error.params))
    return f"{ICONS.get(family, '⚠️')} {text}"


def title(kind: str) -> str:
    """What a kind of job is called."""
    return KIND_TITLES.get(kind, kind)


def model_of(job: Job) -> str:
    """The Pika model a job uses."""
    if job.kind == "upscale":
        return "upscale"
    return str(job.request.get("model") or "1.0")


def options_line(job: Job) -> str:
    """The options of a request, briefly."""
    options = job.request.get("options") or {}
    parts = [f"model {model_of(job)}"]
    if options.get("aspectRatio"):
        parts.append(str(options["aspectRatio"]))
    if options.get("frameRate"):
        parts.append(f"{options['frameRate']} fps")
    for key in ("pikaffect", "style"):
        if job.request.get(key):
            parts.append(str(job.request[key]))
    camera = {k: v for k, v in (options.get("camera") or {}).items() if v}
    if camera:
        parts.append("camera " + ", ".join(f"{k} {v}" for k, v in camera.items()))
    seed = (options.get("parameters") or {}).get("seed")
    if seed is not None:
        parts.append(f"seed {seed}")
    return " · ".join(parts)


def working_text(job: Job) -> str:
    """The public message that says a job was started."""
    prompt = job.prompt.strip()
    quoted = f" “{shown(prompt)}”" if prompt else ""
    return say(
        "job.working",
        user=job.user_id,
        title=title(job.kind),
        quoted=quoted,
        options=options_line(job),
        progress=progress_line(job),
    )


def progress_line(job: Job) -> str:
    """Status and progress, with the job id."""
    word = STATUS_WORDS.get(job.status, job.status.value)
    if job.status is Status.RUNNING:
        pika = job.pika_status or "queued"
        bar = "█" * (job.progress // 10) + "░" * (10 - job.progress // 10)
        word = f"{pika} {bar} {job.progress}%"
    return say("job.status", word=word, job_id=job.id)


def failure_reason(job: Job) -> str:
    """Why a job ended without a video, in the bot's words (never the vendor's)."""
    key = f"failure.{job.failure}"
    if key not in MESSAGES:  # ended before failures had keys, or by a key since retired
        return say("failure.no_reason")
    return say(key, detail=job.last_error or say("failure.no_reason"))


def failure_text(job: Job) -> str:
    """What a requester is told when a job ends without a video."""
    return say(
        "failure.line",
        user=job.user_id,
        what=title(job.kind).lower(),
        job_id=job.id,
        verb="timed out" if job.status is Status.TIMED_OUT else "failed",
        reason=failure_reason(job),
    )


def undeliverable_text(job: Job) -> str:
    """The DM to a requester whose result could not be posted where they asked."""
    link = say("failure.dm_link", url=job.result_url) if job.result_url else ""
    return say("failure.dm", job_id=job.id, reason=failure_reason(job), link=link)
