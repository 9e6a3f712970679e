"""Finding an interaction's answer whose reply was lost (bot/discord/landed.py): the public
follow-up of this interaction only, and "not found" whenever Discord cannot say."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.discord.landed import landed

ME, SOMEONE, ASKED, OTHER = 1, 2, 100, 101


def message(mid: int, author: int, interaction: int | None, *, ephemeral: bool = False) -> Any:
    found = MagicMock(id=mid)
    found.author.id = author
    found.flags.ephemeral = ephemeral
    found.interaction_metadata = None if interaction is None else MagicMock(id=interaction)
    return found


def interaction_in(channel: Any) -> Any:
    used = MagicMock(id=ASKED)
    used.client.user.id = ME
    used.channel = channel
    return used


def channel_with(*messages: Any, failure: BaseException | None = None) -> Any:
    channel = MagicMock(spec=discord.TextChannel)
    seen: dict[str, Any] = {}

    async def history(**kwargs: Any) -> AsyncIterator[Any]:
        seen.update(kwargs)
        if failure is not None:
            raise failure
        for each in messages:
            yield each

    channel.history = history
    channel.seen = seen
    return channel


async def test_the_follow_up_found_is_the_bots_public_one_for_this_interaction() -> None:
    channel = channel_with(
        message(10, SOMEONE, ASKED),  # a member's message cannot be it
        message(11, ME, OTHER),  # the bot's answer to another member
        message(12, ME, ASKED, ephemeral=True),  # private: never the public working message
        message(13, ME, ASKED),
        message(14, ME, ASKED),
    )
    assert await landed(interaction_in(channel), followup=True) == 13
    assert channel.seen["after"].id == ASKED and channel.seen["oldest_first"]


async def test_no_follow_up_there_is_none() -> None:
    channel = channel_with(message(11, ME, OTHER), message(12, ME, None))
    assert await landed(interaction_in(channel), followup=True) is None


@pytest.mark.parametrize(
    "failure",
    [
        discord.Forbidden(MagicMock(status=403, reason="Forbidden"), {"code": 50001}),
        TimeoutError(),
        ConnectionResetError(),
    ],
)
async def test_a_look_that_fails_finds_nothing(failure: BaseException) -> None:
    assert await landed(interaction_in(channel_with(failure=failure)), followup=True) is None
    used = interaction_in(None)
    used.original_response = AsyncMock(side_effect=failure)
    assert await landed(used, followup=False) is None


async def test_the_first_answer_is_read_back_through_the_token() -> None:
    used = interaction_in(None)
    used.original_response = AsyncMock(return_value=message(77, ME, ASKED))
    assert await landed(used, followup=False) == 77
    # A private hold is no public answer, even if it is all Discord has.
    used.original_response = AsyncMock(return_value=message(78, ME, ASKED, ephemeral=True))
    assert await landed(used, followup=False) is None
    # discord.py's own refusal (a channel it does not know) is not an error either.
    used.original_response = AsyncMock(side_effect=discord.ClientException("Channel not found"))
    assert await landed(used, followup=False) is None
    used.original_response = AsyncMock(
        side_effect=discord.NotFound(MagicMock(status=404, reason="Not Found"), {"code": 10015})
    )
    assert await landed(used, followup=False) is None
