"""The bot's invite link: the scopes and permissions it needs, and nothing more."""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")

# Post results and their files, reply, react, and remove reactions of members who may not use
# a control (Manage Messages); read history to reply to the request.
REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    manage_messages=True,
)


def invite_url(application_id: int) -> str:
    """The OAuth2 URL that adds the bot to a server with its commands and permissions."""
    return discord.utils.oauth_url(application_id, permissions=REQUIRED_PERMISSIONS, scopes=SCOPES)
