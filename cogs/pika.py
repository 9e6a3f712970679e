"""`/pika ...`: a slash command for every Pika feature.

Thin by design: each subcommand declares its options (limits and choices in the signature, so
Discord guides members) and hands their values, by option name, to the use case
(`bot.submit`). Bad input and refusals come back as `MemberError`s, which `cogs/errors.py`
answers privately; a good request is answered in public by `announce`, before Pika is paid.
"""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.results import result_embed, result_view
from bot.discord.wording import STATUS_WORDS, say, shown, title, working_text
from bot.errors import InputError
from bot.pika.kinds import KINDS
from bot.pika.models import PERCENT, SECONDS, AspectRatio, IngredientsMode, Pikaffect, Style
from bot.storage import Status
from cogs.options import (
    BadOptions,
    Prompt,
    ask,
    check_options,
    member_of,
    values_of,
    video_options,
)

Percent = app_commands.Range[float, PERCENT.low, PERCENT.high]
Seconds = app_commands.Range[float, SECONDS.low, SECONDS.high]
Attachment = discord.Attachment | None
Url = str | None


@app_commands.guild_only()  # credits are a server's: no DMs, where no guardrails apply
class Pika(commands.GroupCog, group_name="pika", group_description="Make videos with Pika"):
    """Every Pika feature as a `/pika` subcommand."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Every option checked by the bot itself before any subcommand runs."""
        try:
            check_options(interaction)
        except BadOptions as exc:
            kind = interaction.command.name if interaction.command else ""
            if kind in KINDS:  # a request for a job, refused: the journal counts it
                self.bot.submissions.refused(member_of(interaction), kind, exc.original)
            raise
        return True

    async def ask(
        self, interaction: discord.Interaction, kind: str, arguments: dict[str, Any]
    ) -> None:
        """Hand a subcommand's options (its `locals()`) to the use case."""
        await ask(self.bot, interaction, kind, values_of(arguments))

    # --- subcommands that make a video ---------------------------------------------------

    @app_commands.command(description="Text, image or video to video (model 1.0 or 2.1)")
    @app_commands.describe(
        prompt="What to make",
        image="An image to animate",
        video="A video to start from (model 1.0)",
        model="Pika model",
        style="Look (model 1.0)",
        sfx="Sound effects (model 1.0)",
    )
    @video_options()
    async def generate(
        self,
        interaction: discord.Interaction,
        prompt: Prompt | None = None,
        image: Attachment = None,
        image_url: Url = None,
        video: Attachment = None,
        video_url: Url = None,
        model: Literal["1.0", "2.1"] = "1.0",
        style: Style | None = None,
        sfx: bool | None = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """Text, image or video to video."""
        await self.ask(interaction, "generate", locals())

    @app_commands.command(description="A Pikaffect on an image or a video (model 1.5)")
    @app_commands.describe(
        effect="The effect",
        image="Image to apply it to",
        video="Video to apply it to",
        prompt="Extra prompt",
    )
    @video_options()
    async def pikaffect(
        self,
        interaction: discord.Interaction,
        effect: Pikaffect,
        image: Attachment = None,
        image_url: Url = None,
        video: Attachment = None,
        video_url: Url = None,
        prompt: Prompt | None = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """A Pikaffect on an image or a video."""
        await self.ask(interaction, "pikaffect", locals())

    @app_commands.command(description="A video from up to four images (model 2.0)")
    @app_commands.describe(
        ingredient_1="An image to use",
        prompt="What to make",
        mode="precise (default) or creative",
    )
    @video_options()
    async def ingredients(
        self,
        interaction: discord.Interaction,
        ingredient_1: Attachment = None,
        ingredient_1_url: Url = None,
        ingredient_2: Attachment = None,
        ingredient_2_url: Url = None,
        ingredient_3: Attachment = None,
        ingredient_3_url: Url = None,
        ingredient_4: Attachment = None,
        ingredient_4_url: Url = None,
        prompt: Prompt | None = None,
        mode: IngredientsMode | None = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """A video from up to four images."""
        await self.ask(interaction, "ingredients", locals())

    @app_commands.command(description="Add an image's content into a video (Turbo)")
    @app_commands.describe(prompt="How to add it", video="The video", image="What to add")
    @video_options()
    async def additions(
        self,
        interaction: discord.Interaction,
        prompt: Prompt,
        video: Attachment = None,
        video_url: Url = None,
        image: Attachment = None,
        image_url: Url = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """Add an image's content into a video."""
        await self.ask(interaction, "additions", locals())

    @app_commands.command(description="Swap an area of a video (Turbo)")
    @app_commands.describe(
        swap_prompt="What to swap out",
        prompt="What to put in its place",
        video="The video",
        image="A reference image",
    )
    @video_options()
    async def swap(
        self,
        interaction: discord.Interaction,
        swap_prompt: Prompt,
        prompt: Prompt,
        video: Attachment = None,
        video_url: Url = None,
        image: Attachment = None,
        image_url: Url = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """Swap an area of a video."""
        await self.ask(interaction, "swap", locals())

    @app_commands.command(description="A new prompt over an existing video (model 1.0)")
    @app_commands.describe(video="The video", prompt="The new prompt")
    @video_options()
    async def reprompt(
        self,
        interaction: discord.Interaction,
        video: Attachment = None,
        video_url: Url = None,
        prompt: Prompt | None = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """A new prompt over an existing video."""
        await self.ask(interaction, "reprompt", locals())

    @app_commands.command(description="New options over an existing video (model 1.0)")
    @app_commands.describe(video="The video", prompt="The prompt", style="Look")
    @video_options()
    async def edit(
        self,
        interaction: discord.Interaction,
        video: Attachment = None,
        video_url: Url = None,
        prompt: Prompt | None = None,
        style: Style | None = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """New options over an existing video."""
        await self.ask(interaction, "edit", locals())

    @app_commands.command(description="Modify a region of a video (model 1.0)")
    @app_commands.describe(
        video="The video",
        prompt="What the region becomes",
        x="Left edge, % of width",
        y="Top edge, % of height",
        width="Width, % of the video",
        height="Height, % of the video",
        style="Look",
    )
    @video_options()
    async def inpaint(
        self,
        interaction: discord.Interaction,
        video: Attachment = None,
        video_url: Url = None,
        prompt: Prompt | None = None,
        x: Percent = 0.0,
        y: Percent = 0.0,
        width: Percent = 100.0,
        height: Percent = 100.0,
        style: Style | None = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """Modify a region of a video."""
        await self.ask(interaction, "inpaint", locals())

    @app_commands.command(description="Extend the canvas to a new aspect ratio (model 1.0)")
    @app_commands.describe(
        prompt="What fills the new space",
        aspect_ratio="The new shape",
        video="The video",
        x="Where the video sits: left, %",
        y="Top, %",
        width="Width, %",
        height="Height, %",
    )
    @video_options(exclude=("aspect_ratio",))
    async def outpaint(
        self,
        interaction: discord.Interaction,
        prompt: Prompt,
        aspect_ratio: AspectRatio,
        video: Attachment = None,
        video_url: Url = None,
        x: Percent = 0.0,
        y: Percent = 0.0,
        width: Percent = 100.0,
        height: Percent = 100.0,
        *,
        common: dict[str, Any],
    ) -> None:
        """Extend the canvas of a video to a new aspect ratio."""
        await self.ask(interaction, "outpaint", locals())

    @app_commands.command(description="Add four seconds to a video (model 1.0)")
    @app_commands.describe(video="The video", prompt="The prompt for the new seconds")
    @video_options()
    async def extend(
        self,
        interaction: discord.Interaction,
        video: Attachment = None,
        video_url: Url = None,
        prompt: Prompt | None = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """Add four seconds to a video."""
        await self.ask(interaction, "extend", locals())

    @app_commands.command(description="Upscale a video made by Pika")
    @app_commands.describe(video="The video")
    async def upscale(
        self, interaction: discord.Interaction, video: Attachment = None, video_url: Url = None
    ) -> None:
        """Upscale a video made by Pika."""
        await self.ask(interaction, "upscale", locals())

    @app_commands.command(description="Lip sync a video to speech")
    @app_commands.describe(
        video="The video",
        speech="Speech, a .wav file",
        speech_start="Where in the speech to start, seconds",
        speech_end="Where in the speech to end, seconds",
    )
    async def lipsync(
        self,
        interaction: discord.Interaction,
        video: Attachment = None,
        video_url: Url = None,
        speech: Attachment = None,
        speech_url: Url = None,
        speech_start: Seconds = 0.0,
        speech_end: Seconds | None = None,
    ) -> None:
        """Lay speech over a video."""
        await self.ask(interaction, "lipsync", locals())

    # --- jobs ---------------------------------------------------------------------------

    @app_commands.command(description="Status, result and controls of a job")
    @app_commands.describe(job_id="The job id shown on its messages")
    async def job(
        self, interaction: discord.Interaction, job_id: app_commands.Range[str, 1, 40]
    ) -> None:
        """Show one job: its status while it runs, its result and controls once delivered."""
        job = await self.bot.storage.jobs.get(job_id.strip().strip("`").lower()[:40])
        if job is None or job.guild_id != interaction.guild_id:
            raise InputError.rule("job_id", "rule.no_such_job", job_id=job_id)
        none = discord.AllowedMentions.none()
        if job.result_url is None or job.status is not Status.DELIVERED:
            await interaction.response.send_message(
                working_text(job), ephemeral=True, allowed_mentions=none
            )
            return
        await interaction.response.send_message(
            say("job.shared", job_id=job.id, url=job.result_url),
            embed=result_embed(job, linked=True),
            view=result_view(job.id),
            allowed_mentions=none,
        )

    @app_commands.command(description="Your ten latest jobs")
    async def jobs(self, interaction: discord.Interaction) -> None:
        """List the member's ten latest jobs in this server."""
        recent = await self.bot.storage.jobs.recent_for_user(
            interaction.guild_id, interaction.user.id, 10
        )
        if not recent:
            await interaction.response.send_message(say("jobs.none"), ephemeral=True)
            return
        lines = [
            f"`{j.id}` {title(j.kind)} · {STATUS_WORDS[j.status]}"
            + (f" {j.progress}%" if j.status is Status.RUNNING else "")
            + (f" · “{shown(j.prompt, 60)}”" if j.prompt else "")
            for j in recent
        ]
        await interaction.response.send_message(
            "\n".join(lines), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(description="Your use today, what is left, and your running jobs")
    async def usage(self, interaction: discord.Interaction) -> None:
        """The member's use today, and the server's for those who manage it."""
        use = await self.bot.guardrails.usage(interaction.guild_id, interaction.user.id)
        resets = f"<t:{int(use.resets_at.timestamp())}:R>"
        left = max(0, use.quota - use.today)
        lines = [say("usage.today", today=use.today, quota=use.quota, left=left, resets=resets)]
        for job in use.running:
            word = STATUS_WORDS[job.status]
            name = title(job.kind)
            line = say("usage.running", job_id=job.id, title=name, word=word, progress=job.progress)
            lines.append(line)
        if not use.running:
            lines.append(say("usage.none_running"))
        if interaction.permissions.manage_guild:
            quota = (
                say("usage.no_server_quota")
                if use.server_quota is None
                else say("usage.server_quota", quota=use.server_quota)
            )
            today, running = use.server_today, use.server_running
            lines.append(say("usage.server", today=today, quota=quota, running=running))
        await interaction.response.send_message("\n".join(lines), ephemeral=True)


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Pika(bot))
