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
from bot.pika.kinds import KINDS
from bot.pika.models import PERCENT, SECONDS, AspectRatio, IngredientsMode, Pikaffect, Style
from cogs.options import (
    BadOptions,
    Prompt,
    ask,
    check_options,
    member_of,
    values_of,
    video_options,
)
from cogs.pika_jobs import JobCommands
from cogs.pika_settings import SettingsCommands

Percent = app_commands.Range[float, PERCENT.low, PERCENT.high]
Seconds = app_commands.Range[float, SECONDS.low, SECONDS.high]
Attachment = discord.Attachment | None
Url = str | None


@app_commands.guild_only()  # credits are a server's: no DMs, where no guardrails apply
class Pika(
    JobCommands,
    SettingsCommands,
    commands.GroupCog,
    group_name="pika",
    group_description="Make videos with Pika",
):
    """Every Pika feature as a `/pika` subcommand; the member's jobs and defaults come from the
    mixins (cogs/pika_jobs.py, cogs/pika_settings.py)."""

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

    @app_commands.command(description="A video from a prompt, an image or a video")
    @app_commands.describe(
        prompt="What the video shows",
        image="An image to bring to life",
        image_url="Or a link to the image",
        video="A video to start from (model 1.0)",
        video_url="Or a link to the video",
        model="The Pika model: 1.0, or 2.1 for sharper detail",
        style="A look for the video (model 1.0)",
        sfx="Add sound effects (model 1.0)",
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
        model: Literal["1.0", "2.1"] | None = None,
        style: Style | None = None,
        sfx: bool | None = None,
        *,
        common: dict[str, Any],
    ) -> None:
        """Text, image or video to video."""
        await self.ask(interaction, "generate", locals())

    @app_commands.command(description="Apply a Pikaffect, such as Melt, to an image or a video")
    @app_commands.describe(
        effect="The effect to apply",
        image="The image it acts on",
        image_url="Or a link to the image",
        video="The video it acts on",
        video_url="Or a link to the video",
        prompt="Words to guide the effect",
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

    @app_commands.command(description="A video that brings together up to four images")
    @app_commands.describe(
        ingredient_1="The first image to use",
        ingredient_1_url="Or a link to the first image",
        ingredient_2="A second image",
        ingredient_2_url="Or a link to the second image",
        ingredient_3="A third image",
        ingredient_3_url="Or a link to the third image",
        ingredient_4="A fourth image",
        ingredient_4_url="Or a link to the fourth image",
        prompt="What the video shows",
        mode="Precise keeps to the images, creative takes liberties",
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

    @app_commands.command(description="Add what an image shows into a video")
    @app_commands.describe(
        prompt="How to add it",
        video="The video to work on",
        video_url="Or a link to the video",
        image="What to add",
        image_url="Or a link to the image",
    )
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

    @app_commands.command(description="Swap one thing in a video for another")
    @app_commands.describe(
        swap_prompt="What to swap out",
        prompt="What to put in its place",
        video="The video to work on",
        video_url="Or a link to the video",
        image="An image of what to put in",
        image_url="Or a link to the image",
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

    @app_commands.command(description="Remake a video with a new prompt")
    @app_commands.describe(
        video="The video to work on",
        video_url="Or a link to the video",
        prompt="The new prompt",
    )
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

    @app_commands.command(description="Remake a video with new options")
    @app_commands.describe(
        video="The video to work on",
        video_url="Or a link to the video",
        prompt="What the video shows",
        style="A look for the video (model 1.0)",
    )
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

    @app_commands.command(description="Change one area of a video")
    @app_commands.describe(
        video="The video to work on",
        video_url="Or a link to the video",
        prompt="What the area becomes",
        x="Where the area starts from the left, in % of the width",
        y="Where the area starts from the top, in % of the height",
        width="The area's width, in % of the video's",
        height="The area's height, in % of the video's",
        style="A look for the video (model 1.0)",
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

    @app_commands.command(description="Widen a video's frame to a new shape")
    @app_commands.describe(
        prompt="What fills the new space",
        aspect_ratio="The new shape",
        video="The video to work on",
        video_url="Or a link to the video",
        x="Where the video sits from the left, in % of the new width",
        y="Where the video sits from the top, in % of the new height",
        width="The video's width, in % of the new width",
        height="The video's height, in % of the new height",
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

    @app_commands.command(description="Add four seconds to a video")
    @app_commands.describe(
        video="The video to work on",
        video_url="Or a link to the video",
        prompt="What happens in the new seconds",
    )
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

    @app_commands.command(description="Make a Pika video sharper, at twice the size")
    @app_commands.describe(
        video="A video Pika made",
        video_url="Or a link to the video",
    )
    async def upscale(
        self, interaction: discord.Interaction, video: Attachment = None, video_url: Url = None
    ) -> None:
        """Upscale a video made by Pika."""
        await self.ask(interaction, "upscale", locals())

    @app_commands.command(description="Make a face in a video speak a recording")
    @app_commands.describe(
        video="The video to work on",
        video_url="Or a link to the video",
        speech="The speech, as a .wav file",
        speech_url="Or a link to the speech",
        speech_start="Where in the speech to start, in seconds",
        speech_end="Where in the speech to stop, in seconds",
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


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Pika(bot))
