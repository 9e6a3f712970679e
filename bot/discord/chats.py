"""The channels of a server whose messages the bot posts, edits, deletes, reads and reacts to.

Text channels and threads, and the text chats of voice and stage channels: commands work in
those too, so a job asked for there has its result posted there, which must get its
reactions, replace its working message and answer reactions as anywhere else. Each check of
"a channel with messages" names `Chat`, so that none forgets a kind of channel.
"""

from __future__ import annotations

from typing import TypeAlias

import discord

Chat: TypeAlias = discord.TextChannel | discord.Thread | discord.VoiceChannel | discord.StageChannel
