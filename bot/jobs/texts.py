"""What members read about a job: the "working on it" line, the result embed, failures."""

from __future__ import annotations

import discord

from bot.jobs.store import Job, Status

KIND_TITLES = {
    "generate": "Generate", "pikaffect": "Pikaffect", "ingredients": "Ingredients",
    "additions": "Additions", "swap": "Swap", "reprompt": "Reprompt", "edit": "Edit",
    "inpaint": "Inpaint", "outpaint": "Outpaint", "extend": "Extend", "upscale": "Upscale",
    "lipsync": "Lip sync",
}  # fmt: skip
STATUS_WORDS = {
    Status.SUBMITTING: "sending to Pika", Status.SENDING: "sending to Pika",
    Status.RUNNING: "in progress", Status.DELIVERING: "finished, posting",
    Status.DELIVERED: "done", Status.FAILED: "failed", Status.TIMED_OUT: "timed out",
    Status.UNDELIVERABLE: "could not be posted",
}  # fmt: skip
ACCENT = discord.Colour.from_rgb(255, 105, 180)


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
    quoted = f" “{prompt[:300]}”" if prompt else ""
    return (
        f"🎬 <@{job.user_id}> asked for **{KIND_TITLES.get(job.kind, job.kind)}**{quoted}\n"
        f"{options_line(job)}\n{progress_line(job)}"
    )


def progress_line(job: Job) -> str:
    """Status and progress, with the job id."""
    word = STATUS_WORDS.get(job.status, job.status.value)
    if job.status is Status.RUNNING:
        pika = job.pika_status or "queued"
        bar = "█" * (job.progress // 10) + "░" * (10 - job.progress // 10)
        word = f"{pika} {bar} {job.progress}%"
    return f"Status: {word} · job `{job.id}`"


def failure_text(job: Job) -> str:
    """What a requester is told when a job ends without a video."""
    reason = job.last_error or "no reason was given"
    verb = "timed out" if job.status is Status.TIMED_OUT else "failed"
    what = KIND_TITLES.get(job.kind, job.kind).lower()
    return f"❌ <@{job.user_id}> your {what} job `{job.id}` {verb}: {reason}"


def result_embed(job: Job, *, linked: bool) -> discord.Embed:
    """The embed on a result: prompt, model, seed, aspect ratio, length, job id."""
    options = job.request.get("options") or {}
    title = job.prompt.strip() or KIND_TITLES.get(job.kind, job.kind)
    embed = discord.Embed(title=title[:256], colour=ACCENT)
    if linked and job.result_url:
        embed.url = job.result_url
        embed.description = "Too large to upload here: open the video with the link above."
        if job.poster_url:
            embed.set_image(url=job.poster_url)
    embed.add_field(name="Model", value=model_of(job))
    seed = job.seed if job.seed is not None else (options.get("parameters") or {}).get("seed")
    embed.add_field(name="Seed", value=str(seed) if seed is not None else "random")
    embed.add_field(name="Aspect ratio", value=str(options.get("aspectRatio") or "source"))
    embed.add_field(name="Length", value=f"{job.duration:g} s" if job.duration else "unknown")
    embed.add_field(name="Job", value=f"`{job.id}`")
    if job.parent_job_id:
        embed.add_field(name="From", value=f"`{job.parent_job_id}`")
    embed.set_footer(text="⏩ extend · ⬆️ upscale · 🔁 re-roll")
    return embed
