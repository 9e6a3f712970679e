"""A posted result: its embed, its persistent buttons, the reactions that mirror them; the Retry
button of a failure; and the Info embed.

Buttons are `DynamicItem`s whose custom_id carries the action and the job id, so they work after
a restart. A press is handed to the `on_pika_control` event, which a cog handles.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Self

import discord

from bot.discord.downloads import Spool
from bot.discord.links import jump_url, linkable, reachable, shown_url
from bot.discord.texts import lang_of, model_of, options_line, quoted, status_word
from bot.discord.wording import say, shown, title
from bot.followups import offered
from bot.pika.kinds import kind as kind_of
from bot.storage import Job

ACCENT = discord.Colour.from_rgb(255, 105, 180)
CUSTOM_ID = "pika:{action}:{job}"
FIELD_MAX = 1024  # Discord's longest embed field value
TITLE_MAX = 256  # Discord's longest embed title


@dataclass(frozen=True)
class Control:
    """One control on a result: its action, emoji and button style."""

    action: str
    emoji: str
    style: discord.ButtonStyle
    react: bool  # also offered as a reaction


CONTROLS = (
    Control("extend", "⏩", discord.ButtonStyle.primary, react=True),
    Control("upscale", "⬆️", discord.ButtonStyle.primary, react=True),
    Control("reroll", "🔁", discord.ButtonStyle.secondary, react=True),
    Control("info", "ℹ️", discord.ButtonStyle.secondary, react=False),
)
RETRY = Control("retry", "🔄", discord.ButtonStyle.primary, react=False)
# Reaction -> action. The bot adds these to every result.
REACTIONS: dict[str, str] = {c.emoji: c.action for c in CONTROLS if c.react}


def control_id(action: str, job_id: str) -> str:
    """The custom_id of a result's (or a failure's) button."""
    return CUSTOM_ID.format(action=action, job=job_id)


class ControlButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=CUSTOM_ID.format(
        action="(?P<action>" + "|".join(c.action for c in (*CONTROLS, RETRY)) + ")",
        job="(?P<job>[a-z0-9]{10})",
    ),
):
    """A button that starts a follow-up of a job, retries a failed one, or shows its info."""

    def __init__(self, action: str, job_id: str, lang: str = "en") -> None:
        control = next(c for c in (*CONTROLS, RETRY) if c.action == action)
        super().__init__(
            discord.ui.Button(
                label=say(f"button.{action}", lang),
                emoji=control.emoji,
                style=control.style,
                custom_id=control_id(action, job_id),
            )
        )
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        """Rebuild the button from its custom_id (after a restart too)."""
        return cls(match["action"], match["job"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to whoever listens for `pika_control`."""
        interaction.client.dispatch("pika_control", interaction, self.action, self.job_id)


def controls_of(job: Job) -> tuple[Control, ...]:
    """The controls a result shows: Info, and those that can start something on its video
    (`bot.followups.offered`)."""
    actions = offered(job)
    return tuple(c for c in CONTROLS if c.action in actions or c.action == "info")


def reactions_of(job: Job) -> tuple[str, ...]:
    """The reactions the bot puts on a result: its controls that are also reactions."""
    return tuple(c.emoji for c in controls_of(job) if c.react)


def result_view(job: Job) -> discord.ui.View:
    """The buttons of a result, labelled in its member's language."""
    view = discord.ui.View(timeout=None)
    for control in controls_of(job):
        view.add_item(ControlButton(control.action, job.id, lang_of(job)))
    return view


def retry_view(job: Job) -> discord.ui.View:
    """The Retry button of a failure."""
    view = discord.ui.View(timeout=None)
    view.add_item(ControlButton(RETRY.action, job.id, lang_of(job)))
    return view


def _seed(job: Job) -> int | None:
    options = job.request.get("options") or {}
    return job.seed if job.seed is not None else (options.get("parameters") or {}).get("seed")


def prompt_of(job: Job, parent: Job | None) -> str:
    """The prompt a result is shown and named under: its own, else that of the video it was
    made from (an upscale and a lip sync take none: an upscaled "a fox" was headed "Upscale"
    and named pika-video.mp4)."""
    return job.shown_prompt or (parent.prompt if parent is not None else "")


def heading(prompt: str, kind: str, lang: str) -> str:
    """An embed's title: the prompt as typed, within Discord's 256 characters once escaped;
    the kind's title for a prompt with nothing to show (only controls of writing direction)."""
    return shown(prompt, TITLE_MAX, most=TITLE_MAX) or title(kind, lang)


def result_embed(
    job: Job, *, parent_link: str | None = None, simulated: bool = False, prompt: str = ""
) -> discord.Embed:
    """The public embed of a result: the prompt, and what made it (no ids, no Pika words);
    `simulated` when the bot's built-in local Pika made it, which its footer says."""
    lang = lang_of(job)
    embed = discord.Embed(title=heading(prompt or job.prompt, job.kind, lang), colour=ACCENT)
    options = job.request.get("options") or {}
    seed = _seed(job)
    fields: list[tuple[str, str]] = []
    model = model_of(job)
    if model:
        fields.append(("embed.model", say("option.model", lang, model=model)))
    if kind_of(job.kind).has_seed:
        fields.append(("embed.seed", str(seed) if seed is not None else say("embed.random", lang)))
    if options.get("aspectRatio"):
        fields.append(("embed.aspect_ratio", str(options["aspectRatio"])))
    if job.duration:
        fields.append(("embed.length", say("embed.seconds", lang, seconds=job.duration)))
    if parent_link:
        fields.append(("embed.from", say("embed.from_link", lang, link=parent_link)))
    for key, value in fields:
        embed.add_field(name=say(key, lang), value=value)
    # The reactions members may add, each in their words: only those the result offers.
    lines = [" · ".join(say(f"embed.react.{c.action}", lang) for c in controls_of(job) if c.react)]
    if simulated:
        # Fields read "Pika 1.0": without this line a member takes a demo for Pika's work.
        lines.append(say("embed.simulated", lang))
    footer = "\n".join(line for line in lines if line)
    if footer:
        embed.set_footer(text=footer)
    return embed


POSTER_NAME = "poster.jpg"


def result_message(
    job: Job,
    parent: Job | None,
    video: Spool | None,
    poster: bytes | None,
    *,
    simulated: bool = False,
) -> dict[str, Any]:
    """What a result message sends (an edit's or a post's arguments): the video uploaded from
    `video`, or linked where members can open the link, or described (with its first frame,
    `poster`, when there is one), saying so when the video is `simulated`; `parent`: the
    result it was made from, if any. Made afresh for each attempt: a File is spent by one."""
    lang = lang_of(job)
    prompt = prompt_of(job, parent)
    link = result_link(parent)
    embed = result_embed(job, parent_link=link, simulated=simulated, prompt=prompt)
    files: list[discord.File] = []
    if video is not None:
        files.append(video.file(video_filename(job, prompt)))
    elif linkable(job.result_url):
        embed.description = say("job.too_large", lang, url=shown_url(job.result_url or ""))
        embed.url = job.result_url
        if linkable(job.poster_url):
            embed.set_image(url=job.poster_url)
    else:
        local = not reachable(job.result_url)
        embed.description = say("job.too_large_local" if local else "job.too_large_long", lang)
        if poster is not None:
            embed.set_image(url=f"attachment://{POSTER_NAME}")
            files.append(discord.File(io.BytesIO(poster), POSTER_NAME))
    return {
        "content": say("job.ready", lang, user=job.user_id),
        "embed": embed,
        "view": result_view(job),
        "attachments": files,
        "allowed_mentions": mentions(job),
    }


# How a result message carries its video, as read from Discord.
Posted = Literal["uploaded", "linked", "deleted", "unknown"]


def video_line(job: Job, lang: str, *, result_link: str | None, posted: Posted) -> str:
    """Where a job's video is, truthfully: uploaded in its result, linked (only where members
    can open the link), or gone."""
    if result_link is None or not job.result_url:
        return say("video.none", lang)
    if posted == "deleted":
        return say("video.gone", lang)
    if posted == "uploaded":
        return say("video.uploaded", lang, link=result_link)
    if posted == "unknown":
        return say("video.posted", lang, link=result_link)
    if not reachable(job.result_url):
        return say("video.linked_local", lang)
    line = say("video.linked", lang, url=shown_url(job.result_url or ""))
    # An embed field holds 1,024 characters: a longer link is found in the result itself.
    return line if len(line) <= FIELD_MAX else say("video.posted", lang, link=result_link)


def info_embed(job: Job, lang: str, *, video: str, mine: bool = True) -> discord.Embed:
    """Everything about one job, for Info and `/pika job`: its id, status, options, where the
    video is, and the member's own defaults that filled it, when `mine` (the answer is for the
    requester alone: to anyone else they are not "your defaults", and not theirs to read)."""
    prompt = job.shown_prompt  # an upscale's is its original's, as its result shows
    embed = discord.Embed(title=heading(prompt, job.kind, lang), colour=ACCENT)
    fields = [
        ("info.job", f"`{job.id}`"),
        ("info.kind", title(job.kind, lang)),
        ("info.status", status_word(job, lang)),
        ("info.asked", f"<t:{int(job.created_at)}:f>"),
        ("info.video", video),
    ]
    options = options_line(job, lang)
    if options:
        fields.append(("info.options", options))
    if job.personal and mine:
        # Member text too (a negative prompt): shown, never interpreted.
        used = ", ".join(
            f"{say(f'mine.{k}', lang)} {shown(str(v))}" for k, v in job.personal.items()
        )
        fields.append(("info.defaults", used))
    for key, value in fields:
        embed.add_field(name=say(key, lang), value=value[:FIELD_MAX], inline=key != "info.options")
    if len(prompt) > 256:
        embed.description = quoted(prompt, 1000).strip()
    return embed


# --- how a result message is made and found ---------------------------------------------

FILENAME_CHARS = 60


def mentions(job: Job) -> discord.AllowedMentions:
    """Results and failures may ping their requester (unless they turned it off in
    `/pika settings`), and nobody else, whatever the text says."""
    users: list[discord.Object] | bool = [discord.Object(job.user_id)] if job.mention else False
    return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


def result_link(parent: Job | None) -> str | None:
    """The jump link to the result a follow-up was made from, when it was posted."""
    if parent is None or parent.result_message_id is None:
        return None
    return jump_url(parent.guild_id, parent.channel_id, parent.result_message_id)


def reply_to(parent: Job | None) -> Any:
    """A reply to the result a follow-up was made from, or None (discord.py accepts None,
    though its overloads do not say so)."""
    if parent is None or parent.result_message_id is None:
        return None
    return discord.MessageReference(
        message_id=parent.result_message_id,
        channel_id=parent.channel_id,
        fail_if_not_exists=False,
    )


def custom_ids(message: discord.Message) -> Iterator[str]:
    """The custom_ids of the message's buttons (and other components), row by row."""
    for row in message.components:
        for item in getattr(row, "children", [row]):
            custom_id = getattr(item, "custom_id", None)
            if isinstance(custom_id, str):
                yield custom_id


def carries(message: discord.Message, custom_id: str) -> bool:
    """Whether one of the message's buttons has this custom_id."""
    return custom_id in custom_ids(message)


def retried_job(message: discord.Message) -> str | None:
    """The job a failure message's Retry button retries, if it has one (read with the
    buttons' own template, as discord.py reads a press)."""
    template = ControlButton.__discord_ui_compiled_template__
    for custom_id in custom_ids(message):
        match = template.fullmatch(custom_id)
        if match is not None and match["action"] == RETRY.action:
            return match["job"]
    return None


def video_filename(job: Job, prompt: str = "") -> str:
    """The video's file name as members see it: words of its prompt (or `prompt`, the one it
    is shown under), never its job id."""
    # Accents dropped first (Straße -> strasse): cut at each accented letter, a German
    # member's "läuft über die Straße" was named l-uft-ber-die-stra-e.mp4.
    plain = unicodedata.normalize("NFKD", (prompt or job.prompt).lower().replace("ß", "ss"))
    letters = "".join(c for c in plain if not unicodedata.combining(c))
    words = re.findall(r"[a-z0-9]+", letters)
    slug = "-".join(words)[:FILENAME_CHARS].strip("-")
    return f"{slug or 'pika-video'}.mp4"
