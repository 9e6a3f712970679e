"""The one place that points discord.py at a Discord REST base and gateway other than Discord's.

Both are discord.py internals (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`), which is why
discord.py is pinned to a minor version.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl


def point_discord_at(api_base_url: str, gateway_url: str) -> None:
    """Send every REST call (bot and interaction webhooks) and the gateway to these URLs."""
    discord.http.Route.BASE = api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
