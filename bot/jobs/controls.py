"""The controls on a result: persistent buttons and the reactions that mirror them.

Buttons are `DynamicItem`s whose custom_id carries the action and the job id, so they work after
a restart. A press is handed to the `on_pika_control` event, which a cog handles.
"""

from __future__ import annotations

import re
from typing import Any, Self

import discord

# Reaction -> action. The bot adds these to every result.
REACTIONS: dict[str, str] = {"⏩": "extend", "⬆️": "upscale", "🔁": "reroll"}
BUTTONS: tuple[tuple[str, str, str, discord.ButtonStyle], ...] = (
    ("extend", "Extend", "⏩", discord.ButtonStyle.primary),
    ("upscale", "Upscale", "⬆️", discord.ButtonStyle.primary),
    ("reroll", "Re-roll", "🔁", discord.ButtonStyle.secondary),
    ("info", "Info", "ℹ️", discord.ButtonStyle.secondary),
)


def control_id(action: str, job_id: str) -> str:
    """The custom_id of a result's button."""
    return f"pika:{action}:{job_id}"


class ControlButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"pika:(?P<action>extend|upscale|reroll|info):(?P<job>[a-z0-9]{10})",
):
    """A button that starts a follow-up of a job (or shows its info)."""

    def __init__(self, action: str, job_id: str) -> None:
        label, emoji, style = next((b[1], b[2], b[3]) for b in BUTTONS if b[0] == action)
        super().__init__(
            discord.ui.Button(
                label=label, emoji=emoji, style=style, custom_id=control_id(action, job_id)
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
    """The four buttons of a result."""
    view = discord.ui.View(timeout=None)
    for action, *_ in BUTTONS:
        view.add_item(ControlButton(action, job_id))
    return view
