"""`/pika settings`: a member's own defaults on this server, privately.

A mixin of the `/pika` group cog (cogs/pika.py). Options left out keep their value; `reset`
forgets them all first. The answer shows every default, and where the server's wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.wording import code, say
from bot.pika.models import AspectRatio, Pan, Rotate, Tilt, Zoom
from bot.preferences import VIDEO_DEFAULTS, PersonalDefaults
from cogs.options import GuidanceScale, Motion, Prompt, lang

if TYPE_CHECKING:
    from bot.app import PikaBot

SHOWN = (*VIDEO_DEFAULTS[:1], "model", *VIDEO_DEFAULTS[1:], "mention")
# Characters of one value shown (a negative prompt may hold 1,000): the member's and the
# server's side by side must leave the whole answer within Discord's 2,000.
SHOWN_VALUE = 300


class SettingsCommands(commands.Cog):
    """The member's own defaults, as a `/pika` subcommand."""

    bot: PikaBot

    @app_commands.command(description="Your own default options for videos on this server")
    @app_commands.describe(
        aspect_ratio="Your usual shape: 16:9 is wide, 9:16 is tall",
        model="Your usual Pika model for /pika generate",
        motion="How much moves, from 1 (calm) to 4 (lively)",
        guidance_scale="How closely to follow the prompt, from 5 to 25",
        negative_prompt="What your videos should avoid",
        zoom="Move the camera in or out",
        pan="Turn the camera left or right",
        tilt="Tilt the camera up or down",
        rotate="Roll the camera clockwise (cw) or counter-clockwise (ccw)",
        mention="Mention me when my videos are ready",
        reset="Forget all your defaults first",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        aspect_ratio: AspectRatio | None = None,
        model: Literal["1.0", "2.1"] | None = None,
        motion: Motion | None = None,
        guidance_scale: GuidanceScale | None = None,
        negative_prompt: Prompt | None = None,
        zoom: Zoom | None = None,
        pan: Pan | None = None,
        tilt: Tilt | None = None,
        rotate: Rotate | None = None,
        mention: bool | None = None,
        reset: bool = False,
    ) -> None:
        """Show the member's defaults; change those given (all of them forgotten on reset)."""
        assert interaction.guild_id is not None
        changes = {k: v for k, v in locals().items() if k not in ("self", "interaction", "reset")}
        preferences = self.bot.preferences
        server = await self.bot.server_settings.get(interaction.guild_id)
        if reset or any(v is not None for v in changes.values()):
            mine = await preferences.change(
                interaction.guild_id,
                interaction.user.id,
                reset=reset,
                blocked=server.blocked,
                **changes,
            )
            saved = True
        else:
            mine, saved = await preferences.get(interaction.guild_id, interaction.user.id), False
        text = shown(mine, server.defaults.model_dump(exclude_none=True), lang(interaction))
        if saved:
            text = f"{say('mine.saved', lang(interaction))}\n{text}"
        await interaction.response.send_message(text, ephemeral=True)


def shown(mine: PersonalDefaults, server: dict[str, Any], lang: str) -> str:
    """A member's defaults, one a line, saying where the server's default wins."""
    values = mine.model_dump()
    lines = [say("mine.title", lang)]
    for name in SHOWN:
        value = values.get(name)
        if isinstance(value, bool):
            text = say("mine.yes" if value else "mine.no", lang)
        elif value is None:
            text = say("mine.unset", lang)
        else:
            text = _code(value)
        if name in server and value is not None and server[name] != value:
            text = say("mine.server_wins", lang, value=text, server=_code(server[name]))
        lines.append(say("mine.line", lang, name=say(f"mine.{name}", lang), value=text))
    lines.append(say("mine.note", lang))
    return "\n".join(lines)


def _code(value: Any) -> str:
    """A value in a code span, on one line and cut to SHOWN_VALUE (marked with "…")."""
    text = code(str(value), SHOWN_VALUE + 1)
    return f"`{text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + '…'}`"
