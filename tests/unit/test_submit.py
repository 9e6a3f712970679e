"""The use case without Discord: intake -> guardrails -> job row -> announce -> the paid call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.answering import Answering
from bot.errors import InputError, MemberError, Restarting
from bot.guardrails import Refusal
from bot.pika.local.app import LocalPika
from bot.pika.models import JobState, JobStatus
from bot.preferences import Preferences
from bot.storage import Job, Status
from bot.submit import Announce, Answered, Member, Unanswered
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
    job, _ = await stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, announce)
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


async def test_once_a_clean_stop_began_a_request_is_refused_and_nothing_written_or_paid(
    stack: Stack, local: LocalPika
) -> None:
    # A request that reaches the use case (or its admission) once the stop began: it could be
    # probed past the stop's grace, or paid after it. It is told the bot is restarting.
    await stack.submissions.inbox.stop(0)
    announce = Announcer(stack, local)
    for asking in (
        stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, announce),
        stack.submissions.retry(MEMBER, "abcdefghij", announce),
    ):
        with pytest.raises(Restarting):
            await asking
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
    job, _ = await stack.submissions.ask(
        MEMBER, "generate", {"prompt": "a fox"}, Announcer(stack, local)
    )
    assert job.status is Status.FAILED and job.failure == "internal"
    await stack.settle()
    assert stack.notifier.failures == ["failed: internal: "]


async def test_a_video_of_ours_lends_its_prompt_and_options(stack: Stack, local: LocalPika) -> None:
    announce = Announcer(stack, local)
    values = {"prompt": "a fox", "frame_rate": 12, "aspect_ratio": "9:16"}
    first, _ = await stack.submissions.ask(MEMBER, "generate", values, announce)
    await stack.tracker.poll(await rendered(local, first))
    await stack.settle()
    made = await stack.store.get(first.id)
    assert made is not None and made.result_url
    again, _ = await stack.submissions.ask(
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


async def test_an_upscale_lends_the_prompt_and_options_of_the_video_it_was_made_from(
    stack: Stack, local: LocalPika
) -> None:
    # An upscale takes no prompt: an extend of it, by its button or by its link, sent none.
    await stack.settings.change(1, ADMIN, max_running_per_user=10)
    announce = Announcer(stack, local)
    values = {"prompt": "a fox", "aspect_ratio": "9:16"}
    first, _ = await stack.submissions.ask(MEMBER, "generate", values, announce)
    await stack.tracker.poll(await rendered(local, first))
    await stack.settle()
    upscale, _ = await stack.submissions.control(MEMBER, "upscale", first.id, announce)
    upscaled = "https://cdn.example.org/a-fox-upscaled.mp4"
    await stack.store.update(upscale.id, status=Status.DELIVERED, result_url=upscaled, duration=3.0)
    pressed, _ = await stack.submissions.control(MEMBER, "extend", upscale.id, announce)
    linked, _ = await stack.submissions.ask(
        MEMBER, "extend", {"video_url": upscaled, "prompt": "a fox, running"}, announce
    )
    reprompted, _ = await stack.submissions.ask(
        MEMBER, "reprompt", {"video_url": upscaled}, announce
    )
    for job, prompt in ((pressed, "a fox"), (linked, "a fox, running"), (reprompted, "a fox")):
        assert job.parent_job_id == upscale.id
        assert job.request["video"] == upscaled
        assert job.request["promptText"] == prompt
        assert job.request["options"]["aspectRatio"] == "9:16"


async def delivered(stack: Stack, local: LocalPika) -> Job:
    job, _ = await stack.submissions.ask(
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

    job, _ = await stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, too_late)
    assert job.status is Status.FAILED and job.failure == "not_acknowledged"
    assert calls(local) == []
    # The member saw "the application did not respond" and asks again: not held against them.
    again, _ = await stack.submissions.ask(
        MEMBER, "generate", {"prompt": "a fox"}, Announcer(stack, local)
    )
    assert again.status is Status.RUNNING
    assert calls(local) == ["/web/generate"]


async def test_a_held_member_is_told_once_the_job_is_cancelled_so_retry_finds_it(
    stack: Stack, local: LocalPika
) -> None:
    """The private answer offers Retry: it is written only once the job has ended, or a press
    at once would be refused as nothing to retry."""
    seen: list[Job | None] = []

    async def lost(job: Job) -> Answered:
        async def tell() -> None:
            seen.append(await stack.store.get(job.id))

        raise Unanswered("HTTPException", tell)

    await stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, lost)
    (then,) = seen
    assert then is not None and then.status is Status.FAILED
    assert then.failure == "not_acknowledged" and calls(local) == []


async def failed(stack: Stack, local: LocalPika) -> Job:
    local.behaviour.fail_jobs = 1
    job, _ = await stack.submissions.ask(
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
    assert caught.value.key == "control.not_yours_to_retry"


async def test_a_later_press_is_another_take_and_a_second_upscale_is_the_first(
    stack: Stack, local: LocalPika
) -> None:
    await stack.settings.change(1, ADMIN, max_running_per_user=10)
    parent = await delivered(stack, local)
    announce = Announcer(stack, local)
    first, created = await stack.submissions.control(MEMBER, "extend", parent.id, announce)
    assert created
    stack.clock.now += stack.submissions.repeat_seconds + 1  # past the window
    later, created = await stack.submissions.control(MEMBER, "extend", parent.id, announce)
    assert created and later.id != first.id
    upscale, created = await stack.submissions.control(MEMBER, "upscale", parent.id, announce)
    await stack.store.update(upscale.id, status=Status.DELIVERED)
    stack.clock.now += 3600
    again, created = await stack.submissions.control(MEMBER, "upscale", parent.id, announce)
    assert not created and again.id == upscale.id
    # The same video upscaled by the slash command, even long after, is that upscale too.
    assert parent.result_url is not None
    asked, created = await stack.submissions.ask(
        MEMBER, "upscale", {"video_url": parent.result_url}, announce
    )
    assert not created and asked.id == upscale.id
    assert calls(local).count("/web/upscale") == 1


async def test_an_upscale_made_by_a_retry_is_the_videos_upscale_for_later_presses(
    stack: Stack, local: LocalPika
) -> None:
    # The retried upscale carried the Retry's own key, so once it was made, Upscale pressed
    # again on the video found no upscale and paid for another one.
    await stack.settings.change(1, ADMIN, max_running_per_user=10)
    parent = await delivered(stack, local)
    announce = Announcer(stack, local)
    upscale, _ = await stack.submissions.control(MEMBER, "upscale", parent.id, announce)
    first = await failed_again(stack, local, upscale)
    retried, created = await stack.submissions.retry(MEMBER, first.id, announce)
    assert created
    await stack.store.update(retried.id, status=Status.DELIVERED)
    stack.clock.now += 3600
    again, created = await stack.submissions.control(MEMBER, "upscale", parent.id, announce)
    assert not created and again.id == retried.id
    pressed, created = await stack.submissions.retry(MEMBER, first.id, announce)
    assert not created and pressed.id == retried.id  # Retry pressed again: the same one
    assert calls(local).count("/web/upscale") == 2


async def test_a_repeat_is_found_even_at_the_members_running_cap(
    stack: Stack, local: LocalPika
) -> None:
    parent = await delivered(stack, local)
    local.behaviour.stall_jobs = 5
    announce = Announcer(stack, local)
    first, _ = await stack.submissions.control(MEMBER, "extend", parent.id, announce)
    await stack.submissions.ask(MEMBER, "generate", {"prompt": "another"}, announce)  # cap: 2
    again, created = await stack.submissions.control(MEMBER, "extend", parent.id, announce)
    assert not created and again.id == first.id  # not "you have 2 running"


async def test_retry_sends_the_same_request_once(stack: Stack, local: LocalPika) -> None:
    local.behaviour.fail_jobs = 1
    announce = Announcer(stack, local)
    failed, _ = await stack.submissions.ask(
        MEMBER, "generate", {"prompt": "a fox", "seed": 5}, announce
    )
    await stack.tracker.poll(await rendered(local, failed))
    ended = await stack.store.get(failed.id)
    assert ended is not None and ended.status is Status.FAILED
    made = await asyncio.gather(
        *[stack.submissions.retry(MEMBER, failed.id, announce) for _ in range(3)]
    )
    assert [created for _, created in made].count(True) == 1
    retried = made[0][0]
    assert retried.id != failed.id and retried.kind == "generate"
    assert retried.request["options"]["parameters"]["seed"] == 5
    assert calls(local).count("/web/generate") == 2
    stranger = Member(guild_id=1, user_id=999, channel_id=2)
    with pytest.raises(MemberError) as caught:
        await stack.submissions.retry(stranger, failed.id, announce)
    assert caught.value.key == "control.not_yours_to_retry"


async def test_a_retry_keeps_the_requesters_own_defaults_only_for_the_requester(
    stack: Stack, local: LocalPika
) -> None:
    # A moderator's Retry of someone's failure recorded the requester's own defaults on the
    # moderator's job: its Info told the moderator "Your defaults used: Aspect ratio 9:16".
    preferences = Preferences(stack.storage.member_settings)
    stack.submissions.preferences = preferences
    await preferences.change(1, MEMBER.user_id, aspect_ratio="9:16")
    first = await failed(stack, local)
    assert first.personal == {"aspect_ratio": "9:16"}
    moderator = Member(guild_id=1, user_id=998, channel_id=2, may_moderate=True)
    retried, created = await stack.submissions.retry(moderator, first.id, Announcer(stack, local))
    assert created and retried.user_id == 998 and retried.personal is None
    assert retried.request == first.request  # the same request, made with their defaults
    await stack.settings.change(1, ADMIN, max_running_per_user=10)
    own = await failed(stack, local)
    kept, created = await stack.submissions.retry(MEMBER, own.id, Announcer(stack, local))
    assert created and kept.personal == {"aspect_ratio": "9:16"}


async def test_personal_defaults_fill_under_the_servers_and_are_recorded(
    stack: Stack, local: LocalPika
) -> None:
    preferences = Preferences(stack.storage.member_settings)
    stack.submissions.preferences = preferences
    await preferences.change(1, 3, aspect_ratio="9:16", motion=3, model="2.1", mention=False)
    await stack.settings.change(1, ADMIN, defaults={"motion": 2})
    french = Member(guild_id=1, user_id=3, channel_id=2, locale="fr")
    job, _ = await stack.submissions.ask(
        french, "generate", {"prompt": "a fox"}, Announcer(stack, local)
    )
    options = job.request["options"]
    assert options["aspectRatio"] == "9:16"  # theirs
    assert options["parameters"]["motion"] == 2  # the server's wins over theirs
    assert job.request["model"] == "2.1"
    assert job.personal == {"aspect_ratio": "9:16", "model": "2.1"}
    assert job.locale == "fr" and job.mention is False
    given, _ = await stack.submissions.ask(
        french, "generate", {"prompt": "a fox", "aspect_ratio": "1:1"}, Announcer(stack, local)
    )
    assert given.request["options"]["aspectRatio"] == "1:1"  # what they give wins
    assert given.personal == {"model": "2.1"}


async def test_no_paid_call_goes_while_another_member_waits_for_an_answer(
    stack: Stack, local: LocalPika
) -> None:
    """A burst: a paid call has no deadline, a member's first answer has Discord's three
    seconds; the answered member's call waits until the other member is answered too."""
    answered_a = asyncio.Event()
    b_may_answer = asyncio.Event()

    async def announce_a(job: Job) -> Answered:
        answered_a.set()
        return Answered(1, "token-a")

    async def announce_b(job: Job) -> Answered:
        await b_may_answer.wait()  # Discord has not taken this answer yet
        return Answered(2, "token-b")

    other = Member(guild_id=1, user_id=4, channel_id=2)
    b = asyncio.ensure_future(
        stack.submissions.ask(other, "generate", {"prompt": "a slow fox"}, announce_b)
    )
    a = asyncio.ensure_future(
        stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, announce_a)
    )
    await answered_a.wait()
    for _ in range(50):  # the paid call would be made within these turns of the loop
        await asyncio.sleep(0.01)
        assert calls(local) == []
    b_may_answer.set()
    (job_a, _), (job_b, _) = await asyncio.gather(a, b)
    assert calls(local) == ["/web/generate", "/web/generate"]
    assert job_a.status is Status.RUNNING and job_b.status is Status.RUNNING


async def test_a_burst_is_answered_in_arrival_order_as_each_answer_is_ready(
    stack: Stack, local: LocalPika
) -> None:
    """The first member is answered before the requests behind them are even written: their
    answer does not wait for the whole burst's work (which, past three seconds on a busy
    machine, loses every answer at once)."""
    stack.submissions.answering = Answering(at_once=1)
    seen: list[tuple[int, int]] = []  # (who was answered, how many jobs were written then)

    def announcer(who: int) -> Announce:
        async def announce(job: Job) -> Answered:
            written = sum(t.count for t in await stack.storage.reports.not_ended(1))
            seen.append((who, written))
            return Answered(who, f"token-{who}")

        return announce

    members = [Member(guild_id=1, user_id=10 + n, channel_id=2) for n in range(3)]
    await asyncio.gather(
        *(
            stack.submissions.ask(m, "generate", {"prompt": f"fox {n}"}, announcer(n))
            for n, m in enumerate(members)
        )
    )
    assert seen == [(0, 1), (1, 2), (2, 3)]


async def test_a_button_or_retry_pressed_while_every_turn_is_taken_is_held_at_once(
    stack: Stack, local: LocalPika
) -> None:
    """A burst of presses races Discord's three seconds like a burst of commands: a press whose
    turn is behind another's is acknowledged privately at once, then started in its turn."""
    parent, first_failure = await delivered(stack, local), await failed(stack, local)
    stack.submissions.answering = Answering(at_once=1)
    other_may_answer = asyncio.Event()

    async def slow_answer(job: Job) -> Answered:
        await other_may_answer.wait()
        return Answered(1, "token-1")

    other = Member(guild_id=1, user_id=4, channel_id=2)
    busy = asyncio.ensure_future(
        stack.submissions.ask(other, "generate", {"prompt": "a slow fox"}, slow_answer)
    )
    await asyncio.sleep(0.05)  # the other member's request holds the only turn
    held: list[str] = []

    def waiter(name: str) -> Any:
        async def wait() -> None:
            held.append(name)

        return wait

    announce = Announcer(stack, local)
    pressed = asyncio.ensure_future(
        stack.submissions.control(MEMBER, "extend", parent.id, announce, wait=waiter("extend"))
    )
    retried = asyncio.ensure_future(
        stack.submissions.retry(MEMBER, first_failure.id, announce, wait=waiter("retry"))
    )
    await asyncio.sleep(0.05)
    assert sorted(held) == ["extend", "retry"] and announce.seen == []  # held, not yet answered
    other_may_answer.set()
    (extend, made), (retry, remade) = await asyncio.gather(pressed, retried)
    await busy
    assert made and remade and len(announce.seen) == 2
    assert extend.status is Status.RUNNING and retry.status is Status.RUNNING
