"""The use case without Discord: intake -> guardrails -> job row -> announce -> the paid call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.errors import InputError, MemberError
from bot.guardrails import Refusal
from bot.pika.local.app import LocalPika
from bot.pika.models import JobState, JobStatus
from bot.storage import Job, Status
from bot.submit import Answered, Member, Unanswered
from tests.unit.conftest import Stack, calls, rendered

MEMBER = Member(guild_id=1, user_id=3, channel_id=2)
ADMIN = 40


class Announcer:
    """Records what the public answer saw of the job and of Pika when it was posted."""

    def __init__(self, stack: Stack, local: LocalPika) -> None:
        self.stack, self.local = stack, local
        self.seen: list[tuple[Job | None, list[str]]] = []

    async def __call__(self, job: Job) -> Answered:
        self.seen.append((await self.stack.store.get(job.id), calls(self.local)))
        return Answered(555, "itoken")


async def rows(stack: Stack) -> list[Job]:
    return await stack.store.recent_for_user(MEMBER.guild_id, MEMBER.user_id, 100)


async def test_the_row_exists_and_the_member_is_answered_before_pika_is_called(
    stack: Stack, local: LocalPika
) -> None:
    announce = Announcer(stack, local)
    job = await stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, announce)
    [(row, pika_calls_then)] = announce.seen
    assert row is not None and row.status is Status.SUBMITTING
    assert pika_calls_then == []  # nothing paid before the answer
    assert job.status is Status.RUNNING and job.status_message_id == 555
    assert calls(local) == ["/web/generate"]
    assert job.request["promptText"] == "a fox" and job.request["options"]["frameRate"] == 24


async def test_bad_input_writes_nothing_and_names_the_option(
    stack: Stack, local: LocalPika
) -> None:
    announce = Announcer(stack, local)
    with pytest.raises(InputError) as caught:
        await stack.submissions.ask(MEMBER, "generate", {"prompt": "x", "motion": 9}, announce)
    assert [p[0] for p in caught.value.problems] == ["motion"]
    assert await rows(stack) == [] and announce.seen == [] and calls(local) == []


async def test_a_refusal_writes_nothing_and_pays_nothing(stack: Stack, local: LocalPika) -> None:
    await stack.settings.change(1, ADMIN, blocked_patterns=["fox"])
    announce = Announcer(stack, local)
    with pytest.raises(Refusal) as caught:
        await stack.submissions.ask(MEMBER, "generate", {"prompt": "a FOX"}, announce)
    assert caught.value.key == "refusal.blocked"
    assert await rows(stack) == [] and announce.seen == [] and calls(local) == []


async def test_twenty_simultaneous_asks_with_a_cap_of_two_start_exactly_two(
    stack: Stack, local: LocalPika
) -> None:
    local.behaviour.stall_jobs = 20
    announce = Announcer(stack, local)

    async def attempt() -> bool:
        try:
            await stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, announce)
        except Refusal:
            return False
        return True

    outcomes = await asyncio.gather(*[attempt() for _ in range(20)])
    assert outcomes.count(True) == 2
    assert len(await rows(stack)) == 2
    assert calls(local) == ["/web/generate"] * 2


async def test_an_exception_in_the_paid_call_ends_the_job_with_a_message(
    stack: Stack, local: LocalPika, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(request: Any) -> Any:
        raise KeyError("anything at all")

    monkeypatch.setattr(stack.pika, "submit", broken)
    job = await stack.submissions.ask(
        MEMBER, "generate", {"prompt": "a fox"}, Announcer(stack, local)
    )
    assert job.status is Status.FAILED and job.failure == "internal"
    await stack.settle()
    assert stack.notifier.failures == ["failed: internal: "]


async def test_a_video_of_ours_lends_its_prompt_and_options(stack: Stack, local: LocalPika) -> None:
    announce = Announcer(stack, local)
    values = {"prompt": "a fox", "frame_rate": 12, "aspect_ratio": "9:16"}
    first = await stack.submissions.ask(MEMBER, "generate", values, announce)
    await stack.tracker.poll(await rendered(local, first))
    await stack.settle()
    made = await stack.store.get(first.id)
    assert made is not None and made.result_url
    again = await stack.submissions.ask(
        MEMBER, "reprompt", {"video_url": made.result_url, "motion": 3}, announce
    )
    assert again.parent_job_id == first.id
    assert again.request["promptText"] == "a fox"
    options = again.request["options"]
    assert (options["frameRate"], options["aspectRatio"], options["parameters"]["motion"]) == (
        12,
        "9:16",
        3,
    )


async def delivered(stack: Stack, local: LocalPika) -> Job:
    job = await stack.submissions.ask(
        MEMBER, "generate", {"prompt": "a fox"}, Announcer(stack, local)
    )
    await stack.tracker.poll(await rendered(local, job))
    await stack.settle()
    done = await stack.store.get(job.id)
    assert done is not None and done.status is Status.DELIVERED
    return done


async def test_a_control_pressed_five_times_at_once_starts_one_job(
    stack: Stack, local: LocalPika
) -> None:
    parent = await delivered(stack, local)
    announce = Announcer(stack, local)
    made = await asyncio.gather(
        *[stack.submissions.control(MEMBER, "extend", parent.id, announce) for _ in range(5)]
    )
    assert [created for _, created in made].count(True) == 1
    assert len({job.id for job, _ in made}) == 1 and len(announce.seen) == 1
    assert calls(local).count("/web/extend") == 1


async def test_controls_pass_the_guardrails_and_the_owners_rules(
    stack: Stack, local: LocalPika
) -> None:
    parent = await delivered(stack, local)
    stranger = Member(guild_id=1, user_id=999, channel_id=2)
    moderator = Member(guild_id=1, user_id=998, channel_id=2, may_moderate=True)
    announce = Announcer(stack, local)
    with pytest.raises(MemberError) as caught:
        await stack.submissions.control(stranger, "upscale", parent.id, announce)
    assert caught.value.key == "control.not_yours"
    await stack.settings.change(1, ADMIN, paid_features=False)
    with pytest.raises(Refusal) as refused:
        await stack.submissions.control(moderator, "upscale", parent.id, announce)
    assert refused.value.key == "refusal.paid_features"
    await stack.settings.change(1, ADMIN, paid_features=True)
    job, created = await stack.submissions.control(moderator, "upscale", parent.id, announce)
    assert created and job.user_id == 998 and job.channel_id == parent.channel_id


async def test_an_answer_that_fails_cancels_the_job_before_anything_is_paid(
    stack: Stack, local: LocalPika
) -> None:
    await stack.settings.change(1, ADMIN, daily_quota_per_user=1)

    async def too_late(job: Job) -> Answered:
        raise Unanswered("NotFound")  # Discord's three seconds had passed

    job = await stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, too_late)
    assert job.status is Status.FAILED and job.failure == "not_acknowledged"
    assert calls(local) == []
    # The member saw "the application did not respond" and asks again: not held against them.
    again = await stack.submissions.ask(
        MEMBER, "generate", {"prompt": "a fox"}, Announcer(stack, local)
    )
    assert again.status is Status.RUNNING
    assert calls(local) == ["/web/generate"]


async def failed(stack: Stack, local: LocalPika) -> Job:
    local.behaviour.fail_jobs = 1
    job = await stack.submissions.ask(
        MEMBER, "generate", {"prompt": "a fox", "seed": 7}, Announcer(stack, local)
    )
    await stack.tracker.poll(await rendered(local, job))
    await stack.settle()
    ended = await stack.store.get(job.id)
    assert ended is not None and ended.status is Status.FAILED
    return ended


async def test_retry_asks_the_same_request_again_once_through_the_guardrails(
    stack: Stack, local: LocalPika
) -> None:
    first = await failed(stack, local)
    announce = Announcer(stack, local)
    made = await asyncio.gather(
        *[stack.submissions.retry(MEMBER, first.id, announce) for _ in range(3)]
    )
    assert [created for _, created in made].count(True) == 1
    retry = made[0][0]
    assert retry.id != first.id and retry.retry_of == first.id
    assert retry.request == first.request  # the same prompt, options and seed
    assert calls(local).count("/web/generate") == 2
    await stack.settings.change(1, ADMIN, blocked_patterns=["fox"])
    second = await failed_again(stack, local, retry)
    with pytest.raises(Refusal):
        await stack.submissions.retry(MEMBER, second.id, announce)


async def failed_again(stack: Stack, local: LocalPika, job: Job) -> Job:
    """`job`, failed at Pika."""
    await stack.tracker.apply(
        job,
        JobState(job_id="x", status=JobStatus.FAILED, raw_status="failed", progress=0),
    )
    await stack.settle()
    ended = await stack.store.get(job.id)
    assert ended is not None and ended.status is Status.FAILED
    return ended


async def test_retry_is_for_the_requester_and_for_failed_jobs_only(
    stack: Stack, local: LocalPika
) -> None:
    announce = Announcer(stack, local)
    done = await delivered(stack, local)
    with pytest.raises(MemberError) as caught:
        await stack.submissions.retry(MEMBER, done.id, announce)
    assert caught.value.key == "control.nothing_to_retry"
    first = await failed(stack, local)
    stranger = Member(guild_id=1, user_id=999, channel_id=2)
    with pytest.raises(MemberError) as caught:
        await stack.submissions.retry(stranger, first.id, announce)
    assert caught.value.key == "control.not_yours"
