"""The process's own words for what only the owner can fix: sharding Discord refuses."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_bot_starts_without_pyav_which_only_media_need() -> None:
    """FFmpeg's libraries are about 24 MB of resident memory: loaded when a member's video or
    audio is first read, never by a bot that only makes videos from text and images."""
    code = "import sys, bot.process, bot.app; print('av' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert shown.stdout.strip() == "False"
