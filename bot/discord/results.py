"""A posted result: its embed, its persistent buttons, and the reactions that mirror them.

Buttons are `DynamicItem`s whose custom_id carries the action and the job id, so they work after
a restart. A press is handed to the `on_pika_control` event, which a cog handles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Self

import discord

from bot.discord.wording import model_of, say, shown, title
from bot.storage import Job


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
# Reaction -> action. The bot adds these to every result.
REACTIONS: dict[str, str] = {c.emoji: c.action for c in CONTROLS if c.react}
ACCENT = discord.Colour.from_rgb(255, 105, 180)
CUSTOM_ID = "pika:{action}:{job}"


def control_id(action: str, job_id: str) -> str:
    """The custom_id of a result's button."""
    return CUSTOM_ID.format(action=action, job=job_id)


class ControlButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=CUSTOM_ID.format(
        action="(?P<action>" + "|".join(c.action for c in CONTROLS) + ")",
        job="(?P<job>[a-z0-9]{10})",
    ),
):
    """A button that starts a follow-up of a job (or shows its info)."""

    def __init__(self, action: str, job_id: str) -> None:
        control = next(c for c in CONTROLS if c.action == action)
        super().__init__(
            discord.ui.Button(
                label=say(f"button.{action}"),
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


def result_view(job_id: str) -> discord.ui.View:
    """The buttons of a result."""
    view = discord.ui.View(timeout=None)
    for control in CONTROLS:
        view.add_item(ControlButton(control.action, job_id))
    return view


def result_embed(job: Job, *, linked: bool) -> discord.Embed:
    """The embed on a result: prompt, model, seed, aspect ratio, length, job id."""
    options = job.request.get("options") or {}
    heading = shown(job.prompt, 250) if job.prompt.strip() else title(job.kind)
    embed = discord.Embed(title=heading[:256], colour=ACCENT)
    if linked and job.result_url:
        embed.url = job.result_url
        embed.description = say("job.linked")
        if job.poster_url:
            embed.set_image(url=job.poster_url)
    seed = job.seed if job.seed is not None else (options.get("parameters") or {}).get("seed")
    length = say("embed.seconds", seconds=job.duration) if job.duration else say("embed.unknown")
    fields = [
        ("embed.model", model_of(job)),
        ("embed.seed", str(seed) if seed is not None else say("embed.random")),
        ("embed.aspect_ratio", str(options.get("aspectRatio") or say("embed.source"))),
        ("embed.length", length),
        ("embed.job", f"`{job.id}`"),
    ]
    if job.parent_job_id:
        fields.append(("embed.from", f"`{job.parent_job_id}`"))
    for key, value in fields:
        embed.add_field(name=say(key), value=value)
    embed.set_footer(text=say("embed.footer"))
    return embed
