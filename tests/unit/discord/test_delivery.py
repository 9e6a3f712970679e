"""Delivery's last look before it posts: a process whose leases may have ended while the video
downloaded (its event loop held up past the lease) posts nothing, since another process may
have taken the job over and be posting it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from bot.discord.delivery import DiscordDelivery
from bot.discord.lanes import ChannelLanes
from bot.jobs.outbox import DeliveryFailed
from bot.storage import Status
from tests.unit.discord.test_results import job


class Channel:
    """A channel that records what is posted in it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> SimpleNamespace:
        self.posts.append(message)
        return SimpleNamespace(id=4242)


def delivery(held: bool) -> DiscordDelivery:
    none = cast(Any, None)  # the client, fetcher, store and estimates: not reached here
    found = DiscordDelivery(none, none, ChannelLanes(), none, none)
    found.may_post = lambda: held
    return found


@pytest.mark.parametrize("held", [True, False], ids=["leases-renewed", "leases-lapsing"])
async def test_a_result_is_posted_only_while_the_process_still_holds_its_leases(
    held: bool,
) -> None:
    channel = Channel()
    ready = job(
        status=Status.DELIVERING, result_message_id=None, interaction_token=None, mention=True
    )
    messageable = cast(discord.abc.Messageable, channel)
    if held:
        assert await delivery(held)._post(ready, messageable, None) == 4242
        assert len(channel.posts) == 1 and channel.posts[0]["nonce"] == ready.id
    else:
        with pytest.raises(DeliveryFailed, match=r"delivery\.paused"):
            await delivery(held)._post(ready, messageable, None)
        assert channel.posts == []  # the attempt is counted; the next holder looks first
