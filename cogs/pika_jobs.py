"""`/pika job`, `/pika jobs` and `/pika usage`: a member's own videos, privately.

A mixin of the `/pika` group cog (cogs/pika.py). `/pika job` finds a job by its id, or by its
prompt through autocomplete, and answers privately unless the member chooses to share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.texts import job_link, quoted, status_word
from bot.discord.wording import one_line, say, title
from bot.errors import InputError
from bot.storage import Job
from cogs.options import info_answer, lang

if TYPE_CHECKING:
    from bot.app import PikaBot

JOB_ID = app_commands.Range[str, 1, 40]
RECENT = 10  # jobs listed by `/pika jobs`
CHOICES = 25  # Discord shows at most 25 suggestions
LABEL_CHARS = 100  # Discord's limit on a suggestion's name
MESSAGE_CHARS = 2000  # Discord's limit on a message's text


class JobCommands(commands.Cog):
    """The member's own jobs, as `/pika` subcommands."""

    bot: PikaBot

    @app_commands.command(description="Everything about one of your videos, privately")
    @app_commands.describe(
        job_id="The video: start typing its prompt",
        share="Show the answer to everyone in the channel",
    )
    async def job(
        self, interaction: discord.Interaction, job_id: JOB_ID, share: bool = False
    ) -> None:
        """One job: its status, where its video is, its options and id."""
        job = await self.bot.storage.jobs.get(job_id.strip().strip("`").lower())
        if job is None or job.guild_id != interaction.guild_id:
            raise InputError.rule("job_id", "rule.no_such_job", job_id=job_id[:40])
        viewer = None if share else interaction.user.id
        embed = await info_answer(self.bot, job, lang(interaction), None, viewer)
        await interaction.response.send_message(
            embed=embed, ephemeral=not share, allowed_mentions=discord.AllowedMentions.none()
        )

    @job.autocomplete("job_id")
    async def _job_ids(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The member's recent jobs whose prompt (or id) holds what they typed."""
        language = lang(interaction)
        recent = await self.bot.storage.jobs.recent_for_user(
            interaction.guild_id, interaction.user.id, 100
        )
        typed = current.strip().lower()
        found = [j for j in recent if typed in j.shown_prompt.lower() or j.id.startswith(typed)]
        return [app_commands.Choice(name=_label(j, language), value=j.id) for j in found[:CHOICES]]

    @app_commands.command(description="Your ten latest videos on this server")
    async def jobs(self, interaction: discord.Interaction) -> None:
        """List the member's ten latest jobs in this server, with links to them."""
        language = lang(interaction)
        recent = await self.bot.storage.jobs.recent_for_user(
            interaction.guild_id, interaction.user.id, RECENT
        )
        if not recent:
            await interaction.response.send_message(say("jobs.none", language), ephemeral=True)
            return
        lines = [_line(job, language) for job in recent]
        await interaction.response.send_message(fitting(lines, language), ephemeral=True)

    @app_commands.command(description="What you made today, what is left, what is in the making")
    async def usage(self, interaction: discord.Interaction) -> None:
        """The member's use today, and the server's for those who manage it."""
        language = lang(interaction)
        use = await self.bot.guardrails.usage(interaction.guild_id, interaction.user.id)
        resets = f"<t:{int(use.resets_at.timestamp())}:R>"
        left = max(0, use.quota - use.today)
        head = say(
            "usage.today", language, today=use.today, quota=use.quota, left=left, resets=resets
        )
        running: list[str] = []
        for job in use.running:
            name, prompt = title(job.kind, language), quoted(job.shown_prompt, 60)
            state = status_word(job, language)
            running.append(say("usage.running", language, title=name, quoted=prompt, status=state))
        tail = ""
        if interaction.permissions.manage_guild:
            quota = (
                say("usage.no_server_quota", language)
                if use.server_quota is None
                else say("usage.server_quota", language, quota=use.server_quota)
            )
            today, count = use.server_today, use.server_running
            tail = say("usage.server", language, today=today, quota=quota, running=count)
        # The running jobs (as many as a server lets a member run) share what is left.
        room = MESSAGE_CHARS - len(head) - len(tail) - 2
        middle = fitting(running, language, room) or say("usage.none_running", language)
        text = "\n".join(part for part in (head, middle, tail) if part)
        await interaction.response.send_message(text, ephemeral=True)


def fitting(lines: list[str], lang: str, limit: int = MESSAGE_CHARS) -> str:
    """The lines, one under the other, as many as fit in `limit` characters, then how many
    more there are: member text (prompts, escaped) makes lines of any length."""
    if len("\n".join(lines)) <= limit:
        return "\n".join(lines)
    shown: list[str] = []
    for line in lines:
        more = say("settings.more", lang, count=len(lines) - len(shown) - 1)
        if len("\n".join([*shown, line, more])) > limit:
            break
        shown.append(line)
    return "\n".join([*shown, say("settings.more", lang, count=len(lines) - len(shown))])


def _label(job: Job, lang: str) -> str:
    """A job as a suggestion: its title, prompt and status (Discord shows 100 characters).
    Plain text, where no markdown shows; but a right-to-left override in the prompt would still
    turn the status after it around."""
    prompt = one_line(job.shown_prompt) or "—"
    status = status_word(job, lang)
    text = say("complete.job", lang, title=title(job.kind, lang), prompt=prompt, status=status)
    if len(text) <= LABEL_CHARS:
        return text
    room = LABEL_CHARS - (len(text) - len(prompt)) - 1
    short = prompt[: max(0, room)] + "…"
    return say("complete.job", lang, title=title(job.kind, lang), prompt=short, status=status)[
        :LABEL_CHARS
    ]


def _line(job: Job, lang: str) -> str:
    """A job in `/pika jobs`: linked to where it shows, without its id."""
    link = job_link(job)
    values = {
        "title": title(job.kind, lang),
        "quoted": quoted(job.shown_prompt, 60),
        "status": status_word(job, lang),
        "asked": int(job.created_at),
    }
    if link is None:
        return say("jobs.line_unposted", lang, **values)
    return say("jobs.line", lang, link=link, **values)
