"""The invite link asks for the bot's scopes and exactly the permissions it uses."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import discord

from bot.discord.invite import REQUIRED_PERMISSIONS, invite_url


def test_the_invite_link_carries_the_scopes_and_permissions() -> None:
    query = parse_qs(urlsplit(invite_url(1234)).query)
    assert query["client_id"] == ["1234"]
    assert set(query["scope"][0].split()) == {"bot", "applications.commands"}
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == REQUIRED_PERMISSIONS
    assert granted.add_reactions and granted.manage_messages and granted.attach_files
    assert not granted.administrator and not granted.mention_everyone
