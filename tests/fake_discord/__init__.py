"""A fake Discord for end-to-end tests: REST, gateway and a world of two guilds, one on each
shard of two (see app.py)."""

from tests.fake_discord.app import FakeDiscord, running_fake_discord

__all__ = ["FakeDiscord", "running_fake_discord"]
