"""The public answer of a request (cogs/options.py), where Discord's replies are the edge."""

from __future__ import annotations

from typing import Any
from unittest.mock import AsyncMock, MagicMock, create_autospec

import aiohttp
import discord
import pytest

from bot.discord.results import control_id
from bot.discord.wording import say
from bot.storage import Job, Status
from bot.submit import Unanswered
from cogs import options


def refused(code: int) -> discord.HTTPException:
    """An error answer of Discord's with its JSON code."""
    return discord.HTTPException(MagicMock(status=400, reason="Bad Request"), {"code": code})


def submitting(job_id: str) -> Job:
    """A job whose answer is being posted."""
    return Job(
        id=job_id,
        kind="generate",
        request={"promptText": "a fox"},
        channel_id=2,
        user_id=3,
        guild_id=1,
        status=Status.SUBMITTING,
        next_poll_at=0.0,
        created_at=0.0,
        updated_at=0.0,
    )


def command_interaction() -> Any:
    fake = create_autospec(discord.Interaction, instance=True)
    fake.locale = discord.Locale.american_english
    fake.extras = {}
    fake.response = MagicMock()
    fake.response.is_done.return_value = False
    fake.edit_original_response = AsyncMock()
    return fake


def quiet_bot(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A bot whose working message is a fixed text."""
    monkeypatch.setattr(options, "working_text", lambda job, standing: "🎬 a fox")
    bot = MagicMock()
    bot.estimates.standing = AsyncMock(return_value=None)
    return bot


def offers_retry(told: Any, job_id: str) -> None:
    """The edit says the job was cancelled, with the Retry its sentence names, for this job."""
    assert told.kwargs["content"] == say("failure.not_acknowledged", "en")
    (button,) = told.kwargs["view"].children
    assert button.custom_id == control_id("retry", job_id)


async def test_a_hold_whose_reply_was_lost_is_not_left_thinking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The private hold reached Discord but its reply was lost (a time-out): discord.py thinks
    nothing was answered, Discord refuses the public answer as already acknowledged. The job is
    cancelled unpaid (Unanswered), and the member's "thinking" says why instead of spinning."""
    bot = quiet_bot(monkeypatch)
    used = command_interaction()
    used.response.send_message = AsyncMock(side_effect=refused(options.ACKNOWLEDGED))
    with pytest.raises(Unanswered) as unanswered:
        await options.announcer(bot, used)(submitting("abcdefghij"))
    used.edit_original_response.assert_not_awaited()  # not before the job is cancelled
    assert unanswered.value.tell is not None
    await unanswered.value.tell()  # what the use case does once it is
    (told,) = used.edit_original_response.await_args_list
    offers_retry(told, "abcdefghij")


async def test_an_answer_refused_for_another_reason_edits_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not held (the interaction expired): there is no private answer to correct."""
    bot = quiet_bot(monkeypatch)
    used = command_interaction()
    used.response.send_message = AsyncMock(side_effect=refused(10062))  # Unknown interaction
    with pytest.raises(Unanswered) as unanswered:
        await options.announcer(bot, used)(MagicMock())
    assert unanswered.value.tell is None
    used.edit_original_response.assert_not_awaited()


def not_found() -> discord.NotFound:
    return discord.NotFound(MagicMock(status=404, reason="Not Found"), {"code": 10008})


@pytest.mark.parametrize(
    "lost", [TimeoutError(), ConnectionResetError(), aiohttp.ClientPayloadError()]
)
async def test_an_answer_whose_reply_never_came_and_is_not_there_cancels_then_corrects(
    monkeypatch: pytest.MonkeyPatch, lost: BaseException
) -> None:
    """The reply was lost and Discord does not show the answer (or cannot say): the job is
    cancelled unpaid (Unanswered, not an internal error), and then whatever may show says so,
    with Retry."""
    bot = quiet_bot(monkeypatch)
    used = command_interaction()
    used.response.send_message = AsyncMock(side_effect=lost)
    used.original_response = AsyncMock(side_effect=not_found())
    with pytest.raises(Unanswered) as unanswered:
        await options.announcer(bot, used)(submitting("abcdefghij"))
    used.original_response.assert_awaited_once()  # Discord was asked before giving up
    used.edit_original_response.assert_not_awaited()
    assert unanswered.value.tell is not None
    # Where nothing landed, Discord refuses the edit: nothing to correct, and no error.
    used.edit_original_response.side_effect = not_found()
    await unanswered.value.tell()
    # An edit whose own reply is lost is no error either: the job is already cancelled.
    used.edit_original_response.side_effect = TimeoutError()
    await unanswered.value.tell()
    # Where the answer landed, it is corrected.
    used.edit_original_response.side_effect = None
    await unanswered.value.tell()
    told = used.edit_original_response.await_args_list[-1]
    offers_retry(told, "abcdefghij")


async def test_an_answer_whose_reply_never_came_but_is_there_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Discord shows the answer although its reply was lost: the job goes on with it."""
    bot = quiet_bot(monkeypatch)
    used = command_interaction()
    used.token = "token"
    used.response.send_message = AsyncMock(side_effect=TimeoutError())
    public = MagicMock(id=4242)
    public.flags.ephemeral = False
    used.original_response = AsyncMock(return_value=public)
    answered = await options.announcer(bot, used)(submitting("abcdefghij"))
    assert (answered.message_id, answered.token) == (4242, "token")
