"""The process's own words for what only the owner can fix: sharding Discord refuses."""

from __future__ import annotations

from bot.discord.shards import INVALID_SHARD, SHARDING_REQUIRED, ShardRefused
from bot.process import sharding_refused


def test_too_few_shards_says_to_raise_the_count_or_leave_it_to_discord() -> None:
    said = sharding_refused(ShardRefused(SHARDING_REQUIRED, 0, 1))
    assert said.startswith("Discord requires more gateway shards than 1 for this bot's servers")
    assert "raise DISCORD_SHARD_COUNT, or leave it unset" in said


def test_an_invalid_shard_names_it_and_both_settings() -> None:
    said = sharding_refused(ShardRefused(INVALID_SHARD, 1, 2))
    assert said.startswith("Discord refused gateway shard 1 of 2 (code 4010, invalid shard)")
    assert "DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS" in said
