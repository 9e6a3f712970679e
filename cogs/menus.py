"""The message context menus: Extend video and Upscale video, on any message with an MP4.

On a result of ours they are its Extend and Upscale buttons: the same rules, the same job when
used twice (`Submissions.control`). Any other MP4 is taken as a video to work on, through the
same use case as `/pika extend` and `/pika upscale`; used twice on it, they find the first job.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot
from bot.errors import InputError
from bot.intake import Media
from cogs.options import announcer, answer_repeat, ask, forget_hold, holder, member_of

# The menus' names, as members see them (translated at sync, and in answers that name them).
EXTEND_MENU, UPSCALE_MENU = "Extend video", "Upscale video"


class Menus(commands.Cog):
    """Registers the two context menus (a cog cannot declare them as methods)."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot
        self.menus = [
            app_commands.guild_only()(app_commands.ContextMenu(name=name, callback=callback))
            for name, callback in ((EXTEND_MENU, self.extend), (UPSCALE_MENU, self.upscale))
        ]

    async def cog_load(self) -> None:
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    async def extend(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Extend video: four more seconds of the message's MP4."""
        await self.work_on(interaction, message, "extend", EXTEND_MENU)

    async def upscale(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Upscale video: the message's MP4 at twice the size."""
        await self.work_on(interaction, message, "upscale", UPSCALE_MENU)

    async def work_on(
        self, interaction: discord.Interaction, message: discord.Message, kind: str, menu: str
    ) -> None:
        """A job on the MP4 a message carries; its problems are named as the `menu` used."""
        known = await self.bot.storage.jobs.by_result_message(message.id)
        if known is not None:
            job, created = await self.bot.submissions.control(
                member_of(interaction),
                kind,
                known.id,
                announcer(self.bot, interaction),
                wait=holder(self.bot, interaction),
            )
            if not created:
                await answer_repeat(self.bot, interaction, job)
            await forget_hold(self.bot, interaction)
            return
        url = mp4_of(message)
        if url is None:
            raise InputError.rule(menu, "rule.no_mp4")
        video = Media(url, "video.mp4", "video/mp4")
        try:
            await ask(self.bot, interaction, kind, {"video": video}, control=True)
        except InputError as exc:
            # A menu has no options: "video: is not an MP4 video that plays" named one the
            # member never saw. The message's video is named as the menu they used.
            named = [(menu if o == "video" else o, rule, p) for o, rule, p in exc.problems]
            raise InputError(named) from None


def mp4_of(message: discord.Message) -> str | None:
    """The URL of the first MP4 attached to a message."""
    for attachment in message.attachments:
        content_type = attachment.content_type or ""
        if attachment.filename.lower().endswith(".mp4") or content_type.startswith("video/mp4"):
            return attachment.url
    return None


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Menus(bot))
