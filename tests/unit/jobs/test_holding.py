"""Two bot processes on one SQLite file (two stacks, one clock): each job is polled and
delivered by exactly one; a process that stops renewing loses its jobs to the other within a
lease; a lease lost during a delivery never makes a second post; a push received by the process
that does not hold the job gets it polled promptly."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.jobs.ledger import Accepted
from bot.jobs.tracker import FLUSH_SECONDS
from bot.jobs.wakeups import JobDue, RelayedWakeups
from bot.pika.local.app import LocalPika
from bot.pika.local.jobs import LocalJob
from bot.storage import Hold, Job
from bot.storage import Status as S
from bot.storage.leases import Held
from tests.helpers.clock import Clock
from tests.helpers.relay import Bus
from tests.helpers.requests import fox
from tests.helpers.round_trips import counting_round_trips
from tests.unit.conftest import (
    ORIGIN,
    Recorder,
    Stack,
    make_stack,
    past_the_lease,
    push_to,
    rendered,
    sent,
)

PUSH = "https://bot.example.org/"


async def current(stack: Stack, job: Job) -> Job:
    found = await stack.store.get(job.id)
    assert found is not None
    return found


def polls_of(local: LocalPika, job: Job) -> int:
    """How many get-job calls the local Pika had for the job."""
    return sum(1 for r in local.requests if r["path"] == f"/web/jobs/{job.pika_job_id}")


async def turns(*stacks: Stack, rounds: int = 3) -> None:
    """Let every process renew, claim and work, in turns, as time passes."""
    for _ in range(rounds):
        await asyncio.gather(*(s.tracker.hold() for s in stacks))
        for stack in stacks:
            await stack.settle()
        stacks[0].clock.now += 2


async def test_each_process_polls_and_delivers_the_jobs_it_holds_and_no_other(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    mine = [await sent(stack) for _ in range(3)]  # admitted by the first process: its own
    theirs = [await sent(other) for _ in range(3)]
    for job in mine + theirs:
        await rendered(local, job)
    await turns(stack, other)
    assert sorted(stack.notifier.delivered) == sorted(j.id for j in mine)
    assert sorted(other.notifier.delivered) == sorted(j.id for j in theirs)
    assert [polls_of(local, j) for j in mine + theirs] == [1] * 6
    assert calls_to_generate(local) == 6


async def test_free_jobs_are_shared_out_and_each_delivered_once(
    stack: Stack, other: Stack, local: LocalPika, tmp_path: Path
) -> None:
    async for third in make_stack(stack.path, local.base_url, stack.clock, stack.database_url):
        jobs = [await sent(third) for _ in range(8)]
        await third.tracker.stop()  # a clean stop: its leases are released
    for job in jobs:
        await rendered(local, job)
    await asyncio.gather(stack.tracker.hold(), other.tracker.hold())
    first, second = set(stack.tracker._jobs), set(other.tracker._jobs)
    assert not first & second and first | second == {j.id for j in jobs}
    await turns(stack, other)
    delivered = stack.notifier.delivered + other.notifier.delivered
    assert sorted(delivered) == sorted(j.id for j in jobs)  # each once
    assert [polls_of(local, j) for j in jobs] == [1] * 8


def calls_to_generate(local: LocalPika) -> int:
    return sum(1 for r in local.requests if r["path"] == "/web/generate")


async def test_a_process_that_stops_renewing_loses_its_jobs_to_the_other_after_the_lease(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    lease = stack.store.leases.seconds
    job = await rendered(local, await sent(stack))
    await other.tracker.load()
    stack.clock.now += lease * 2 / 3
    await stack.tracker.hold()  # renewed in time: still the first process's
    stack.clock.now += lease * 2 / 3
    await other.tracker.hold()
    assert other.tracker._jobs == {}
    past_the_lease(stack)  # the first process hangs: no renewal
    await other.tracker.hold()
    assert list(other.tracker._jobs) == [job.id]
    assert (await current(other, job)).claimed_by == other.store.leases.owner
    await other.settle()
    assert other.notifier.delivered == [job.id]
    await stack.tracker.hold()  # back: the job is not its own any more, and is dropped
    assert stack.tracker._jobs == {}
    await stack.settle()
    assert stack.notifier.delivered == [] and polls_of(local, job) == 1


class Channel:
    """One Discord channel that both processes post in."""

    def __init__(self) -> None:
        self.posts: list[str] = []


class ChannelRecorder(Recorder):
    """A process's Discord side, posting in the shared channel: a post waits for `hold` before
    it is made, and for `stall` after (its answer slow to come)."""

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self.channel = channel
        self.stall: asyncio.Event | None = None

    async def deliver(self, job: Job) -> int:
        if self.hold is not None:
            await self.hold.wait()
        self.channel.posts.append(job.id)
        if self.stall is not None:
            await self.stall.wait()
        self.delivered.append(job.id)
        return 4242

    async def find_posted(self, job: Job) -> int | None:
        self.looked.append(job.id)
        return 4242 if job.id in self.channel.posts else None


def on_channel(stack: Stack, channel: Channel) -> ChannelRecorder:
    recorder = ChannelRecorder(channel)
    stack.tracker.notifier = stack.tracker.outbox.notifier = recorder
    return recorder


async def delivery_hung(stack: Stack, local: LocalPika) -> Job:
    """A finished job whose delivery by `stack`'s process has started and hangs (its channel
    held by the test)."""
    job = await rendered(local, await sent(stack))
    await stack.tracker.hold()
    await stack.tracker.poll(job)  # finished: recorded as delivering, by the first process
    assert stack.tracker.tick() == 1  # its delivery starts, and hangs
    await asyncio.sleep(0.05)
    return job


@pytest.mark.parametrize("posted", [False, True], ids=["before-the-post", "after-the-post"])
async def test_a_lease_lost_during_a_slow_delivery_does_not_post_twice(
    stack: Stack,
    other: Stack,
    local: LocalPika,
    monkeypatch: pytest.MonkeyPatch,
    posted: bool,
) -> None:
    channel, gate = Channel(), asyncio.Event()
    first, second = on_channel(stack, channel), on_channel(other, channel)
    if posted:
        first.stall = gate  # the post is made; its answer never comes back
    else:
        first.hold = gate  # the upload is slow: the post is not made yet
    job = await delivery_hung(stack, local)

    async def locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(stack.store.leases, "renew", locked)
    lease = stack.store.leases.seconds
    stack.clock.now += lease * 5 / 6  # renewals fail for most of a lease
    await stack.tracker.keep_leases()
    assert stack.tracker.paused  # it stopped its delivery before the lease could end
    await stack.tracker.idle()
    stack.clock.now += lease / 6 + 1
    await other.tracker.hold()  # the second process takes the job over
    await other.settle()
    gate.set()
    await asyncio.sleep(0.05)
    await stack.settle()
    assert channel.posts == [job.id]  # one post, whoever made it
    assert second.looked == [job.id]  # the second looked for the first's post before posting
    final = await current(other, job)
    assert final.status is S.DELIVERED and final.result_message_id == 4242
    assert first.delivered == []


@pytest.fixture
async def pushing(local: LocalPika, tmp_path: Path) -> AsyncIterator[tuple[Stack, Stack]]:
    """Two processes with push configured, on one database file and clock."""
    clock = Clock()
    path = tmp_path / "push.sqlite3"
    async for first in make_stack(path, local.base_url, clock, webhook_public_url=PUSH):
        async for second in make_stack(path, local.base_url, clock, webhook_public_url=PUSH):
            yield first, second


async def test_a_push_received_by_the_other_process_gets_the_job_polled_at_the_next_renewal(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    holder, receiver = pushing
    job = await rendered(local, await sent(holder))
    planned = holder.tracker._polls.when(job.id)
    assert planned is not None and planned > holder.clock.now  # push is on: polled seldom
    assert await push_to(receiver, job, {"job": {"id": job.pika_job_id}}) == 200
    assert (await current(receiver, job)).next_poll_at == holder.clock.now  # due in the database
    assert receiver.tracker._jobs == {}  # not the receiver's to poll
    await holder.tracker.hold()  # no relay between them: the holder reads it as it renews
    await holder.tracker.idle()
    assert holder.tracker._polls.when(job.id) == holder.clock.now
    await holder.settle()
    assert holder.notifier.delivered == [job.id] and receiver.notifier.delivered == []
    assert polls_of(local, job) == 1 and receiver.tracker.polls == 0
    await holder.tracker.hold()
    await holder.tracker.idle()
    assert polls_of(local, job) == 1  # a push is honoured once


async def test_with_a_relay_the_holder_is_woken_at_once(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    holder, receiver = pushing
    bus = Bus()
    for stack in pushing:
        stack.tracker.wakeups = RelayedWakeups(bus, stack.store.leases.owner)
        stack.tracker.wakeups.subscribe(stack.tracker.on_wakeup)
    job = await rendered(local, await sent(holder))
    assert holder.tracker._polls.when(job.id) != holder.clock.now
    assert await push_to(receiver, job, {"job": {"id": job.pika_job_id}}) == 200
    await holder.tracker.idle()
    assert holder.tracker._polls.when(job.id) == holder.clock.now  # no renewal needed
    await holder.settle()
    assert holder.notifier.delivered == [job.id] and polls_of(local, job) == 1


async def made_but_unanswered(holder: Stack, local: LocalPika) -> tuple[Job, LocalJob]:
    """A job Pika made and finished whose paid call's answer was lost: the job, and Pika's."""
    local.behaviour.lose_answers = 1
    job = await sent(holder)
    [pika_job] = local.jobs.values()
    await pika_job.done.wait()
    return job, pika_job


async def test_a_push_naming_the_pika_job_reaches_a_holder_listening_for_it(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    holder, receiver = pushing
    job, pika_job = await made_but_unanswered(holder, local)
    assert job.status is S.RUNNING and job.pika_job_id is None  # listening for its push
    assert await push_to(receiver, job, {"job": {"id": pika_job.id}}) == 200
    await holder.tracker.hold()
    await holder.tracker.idle()
    adopted = await current(holder, job)
    assert adopted.pika_job_id == pika_job.id
    await holder.settle()
    assert holder.notifier.delivered == [job.id]
    assert calls_to_generate(local) == 1


async def test_a_job_never_answered_is_cancelled_and_told_once_when_both_processes_try(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    await stack.service.create("generate", fox(), ORIGIN)
    await stack.tracker.hold()  # its creator follows it: cancelled a minute on if not answered
    stack.clock.now += 61  # the creator hung past its lease and that minute
    await other.tracker.hold()  # the other takes it over: cancelled at once
    await asyncio.gather(stack.settle(), other.settle())  # the creator comes back meanwhile
    told = stack.notifier.failures + other.notifier.failures
    assert told == ["failed: not_acknowledged: "]  # one process won, and told once
    assert calls_to_generate(local) == 0


async def test_a_push_to_its_holder_while_paused_is_kept_for_when_it_follows_the_job_again(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    holder, _ = pushing
    job, pika_job = await made_but_unanswered(holder, local)
    holder.tracker.lapse()  # its leases were not renewed in time: it follows nothing for now
    assert await push_to(holder, job, {"job": {"id": pika_job.id}}) == 200
    await holder.tracker.hold()  # renewed: it follows the job again, and the push with it
    await holder.tracker.idle()
    assert (await current(holder, job)).pika_job_id == pika_job.id
    await holder.settle()
    assert holder.notifier.delivered == [job.id]  # the video Pika made (and charged) delivered
    assert calls_to_generate(local) == 1


async def test_leases_are_renewed_while_the_jobs_steps_cannot_be_written(
    stack: Stack, local: LocalPika, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await rendered(local, await sent(stack))
    await stack.tracker.hold()

    async def refused(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(stack.store, "update_many", refused)  # every batched write refused
    for _ in range(4):  # more than a lease: renewed all along, work never stops
        stack.clock.now += stack.tracker.hold_every()
        await stack.tracker.keep_leases()
        assert not stack.tracker.paused
    held = await current(stack, job)
    assert held.claimed_by == stack.store.leases.owner
    assert held.claimed_until > stack.clock.now


async def test_a_renewal_leaves_a_job_being_answered_to_its_submission_and_follows_it_after(
    stack: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    stack.service.answering.add(job.id)  # its member's answer is on its way in this process
    with counting_round_trips() as trips:
        await stack.tracker.hold()
    assert job.id not in stack.tracker._jobs
    assert not [sql for sql in trips.statements if sql.startswith("SELECT * FROM jobs")]
    stack.service.answering.discard(job.id)  # its submission ended without moving it on
    await stack.tracker.hold()
    assert job.id in stack.tracker._jobs  # the safety net follows it: cancelled if unanswered


async def test_a_burst_of_wake_ups_for_jobs_held_elsewhere_claims_at_most_once_a_second(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    jobs = [await sent(other) for _ in range(3)]  # held by the other process
    await stack.tracker.hold()
    held_at = stack.clock.now
    renewals = 0
    renew = stack.store.leases.renew

    async def counted() -> list[Held]:
        nonlocal renewals
        renewals += 1
        return await renew()

    stack.store.leases.renew = counted  # type: ignore[method-assign]
    for n in range(20):  # twenty pushes forwarded over two seconds, each heard here
        stack.clock.now = held_at + 0.1 * (n + 1)
        stack.tracker.on_wakeup(JobDue(jobs[n % 3].id, None))
        await stack.tracker.keep_leases()
    assert renewals == 2  # at the first and a second later, not twenty
    assert all(j.id not in stack.tracker._jobs for j in jobs)  # still the other's


async def test_a_failure_is_told_once_when_its_job_was_taken_over(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    """The first process learnt of the failure, then hung past its lease; the other took the
    job over and told it. The first, back, must not tell it a second time."""
    local.behaviour.fail_jobs = 1
    job = await rendered(local, await sent(stack))
    await stack.tracker.poll(stack.tracker._jobs[job.id])  # failed: to be told, not yet
    assert (await current(stack, job)).status is S.FAILED
    past_the_lease(stack)
    await other.tracker.hold()
    await other.settle()
    assert len(other.notifier.failures) == 1
    await stack.settle()  # back, with what it had in memory
    assert stack.notifier.failures == []


async def test_the_ledger_of_a_process_restarted_at_once_is_removed_a_lease_later(
    stack: Stack, other: Stack
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    stack.ledger.write(Accepted(job.id, "p1", stack.clock.now))
    await stack.store.update(job.id, status=S.RUNNING, pika_job_id="p1")  # in the database too
    await stack.tracker.release()  # it stopped; `other` is its restart, seconds later
    past_the_lease(stack)
    await other.tracker.load()
    await other.service.tidy_ledgers()  # at start-up: written a moment ago, maybe still alive
    assert stack.ledger.path.exists()
    a_lease_ago = time.time() - stack.store.leases.seconds - 1
    os.utime(stack.ledger.path, (a_lease_ago, a_lease_ago))
    other.clock.now += other.tracker.hold_every()
    await other.tracker.hold()
    assert not stack.ledger.path.exists()  # not left in DATA_DIR for good, read at each settle


async def test_a_process_resumed_after_hanging_past_its_lease_stops_before_it_posts(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    """SIGSTOP, then SIGCONT: the first process hung in a delivery (its upload slow) for longer
    than its lease, and the other took the job over and posted it. Back, its event loop runs
    the delivery and the tracker side by side: the delivery must not go on to post while the
    tracker is still renewing (and learning the job is not its own)."""
    channel, gate = Channel(), asyncio.Event()
    first, _ = on_channel(stack, channel), on_channel(other, channel)
    first.hold = gate  # the upload is slow: the post is not made yet
    job = await delivery_hung(stack, local)
    past_the_lease(stack)  # stopped: no renewal, nothing runs
    await other.tracker.hold()  # the second process takes the job over and posts it
    await other.settle()
    assert channel.posts == [job.id]
    gate.set()  # continued: the upload goes on as the tracker wakes up
    await stack.tracker.keep_leases()
    await stack.tracker.idle()
    await stack.settle()
    assert channel.posts == [job.id]  # posted once, by the process that holds the job
    assert first.delivered == []


async def test_a_process_whose_leases_lapsed_neither_posts_nor_sends_a_paid_call_again(
    stack: Stack,
) -> None:
    """Its event loop held up past the lease (a long download, a stalled machine), a process
    may wake with its delivery about to post before its tracker has noticed: the delivery asks
    the tracker just before it posts, as the paid call's re-sends do. A tracker wires that
    question into the delivery and the job service it is given, so that no process can be
    built without it (the chaos soak's seed 8 found one result posted by two processes)."""
    await sent(stack)
    await stack.tracker.hold()  # the tracker holds the job, its leases renewed
    assert stack.notifier.may_post() and stack.service.may_act()
    past_the_lease(stack)  # held up: no renewal since
    assert not stack.notifier.may_post()
    assert not stack.service.may_act()


async def test_a_push_whose_pika_job_cannot_be_confirmed_at_once_is_confirmed_later(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    """The paid call's answer was lost; Pika's push names the job it made, but the get-job
    call that confirms it fails (Pika briefly down). The push is answered and not sent again:
    the video Pika made and charged for must still reach its member, not a failure at the
    time-out."""
    holder, _ = pushing
    job, pika_job = await made_but_unanswered(holder, local)
    local.behaviour.server_errors = 3  # every attempt of the confirming get-job fails
    assert await push_to(holder, job, {"job": {"id": pika_job.id}}) == 200
    await holder.tracker.idle()
    assert (await current(holder, job)).pika_job_id is None  # not confirmed yet
    for _ in range(3):  # Pika is back; a few renewals later, well before the time-out
        holder.clock.now += holder.tracker.hold_every()
        await holder.tracker.keep_leases()
        await holder.settle()
    assert (await current(holder, job)).pika_job_id == pika_job.id
    assert holder.notifier.delivered == [job.id] and holder.notifier.failures == []
    assert calls_to_generate(local) == 1


async def test_a_push_the_database_refused_to_record_is_recorded_when_pika_sends_it_again(
    pushing: tuple[Stack, Stack], local: LocalPika, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process that does not hold the job could not record a push (the database busy):
    Pika was answered 500 and sends it again a moment later. That push must be recorded, not
    taken for a repeat of one forwarded already."""
    holder, receiver = pushing
    job, pika_job = await made_but_unanswered(holder, local)
    mark_due = receiver.store.leases.mark_due

    async def locked(*args: object) -> tuple[bool, str | None]:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(receiver.store.leases, "mark_due", locked)
    assert await push_to(receiver, job, {"job": {"id": pika_job.id}}) == 500
    monkeypatch.setattr(receiver.store.leases, "mark_due", mark_due)
    receiver.clock.now += 0.5  # sent again within a poll interval
    await delivered_on_a_push_again(holder, receiver, job, pika_job.id)


async def delivered_on_a_push_again(holder: Stack, receiver: Stack, job: Job, pika_id: str) -> None:
    """Pika's push naming its job, received by the process that does not hold the job:
    recorded in the row for the holder, whose next renewal adopts and delivers it."""
    assert await push_to(receiver, job, {"job": {"id": pika_id}}) == 200
    assert (await current(holder, job)).pushed_pika_job_id == pika_id
    await holder.tracker.hold()
    await holder.tracker.idle()
    await holder.settle()
    assert holder.notifier.delivered == [job.id]


async def test_a_paid_call_is_not_sent_again_once_its_lease_may_have_been_taken(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    """Pika refused the paid call (not started: sent again after a backoff), and meanwhile the
    process could not renew its leases (its database out of reach) for longer than a lease:
    the other process took the job over and settled it (its member told, with a Retry). A
    retry sent then is a video Pika makes and charges for that nobody will ever see."""
    local.behaviour.server_errors = 1
    job = await stack.service.create("generate", fox(), ORIGIN)
    await stack.tracker.hold()

    async def backoff(seconds: float) -> None:  # the lease ends during the wait
        past_the_lease(stack)
        await other.tracker.hold()
        await other.settle()

    stack.pika._sleep = backoff
    ended = await stack.service.start(job.id, status_message_id=555)
    assert calls_to_generate(local) == 1  # not sent again
    assert local.jobs == {}  # nothing made, nothing charged
    assert ended.status is S.FAILED
    assert len(other.notifier.failures) == 1 and stack.notifier.failures == []


async def test_a_push_that_came_before_a_dead_processs_paid_call_was_taken_over_is_adopted(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    """The first process died during its paid call (Pika made the job; its answer died with
    the process) and Pika's push came before the other process took the job over: recorded in
    the row, it must be what the job, settled as listening, adopts; no other push will come."""
    dead, taker = pushing
    job = await dead.service.create("generate", fox(), ORIGIN)
    sending = await dead.store.transition(
        job.id, [S.SUBMITTING], status=S.SENDING, **dead.store.leases.taken()
    )
    assert sending is not None
    created = await dead.pika.submit(fox())  # the call in flight when the process died
    pika_id = getattr(created, "job_id", None)
    assert isinstance(pika_id, str)
    await local.jobs[pika_id].done.wait()
    assert await push_to(taker, sending, {"job": {"id": pika_id}}) == 200
    past_the_lease(dead)
    await taker.tracker.hold()  # taken over: settled without re-sending, listening
    for _ in range(5):
        await taker.settle()
        taker.clock.now += taker.tracker.interval
    final = await current(taker, job)
    assert final.status is S.DELIVERED and final.pika_job_id == pika_id
    assert taker.notifier.delivered == [job.id] and taker.notifier.failures == []
    assert calls_to_generate(local) == 1


async def test_a_push_naming_the_pika_job_is_forwarded_after_one_that_named_none(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    """Pika pushed twice within a poll interval, the first body naming no job: the second,
    which names the job a listening paid call made, is no repeat to be skipped."""
    holder, receiver = pushing
    job, pika_job = await made_but_unanswered(holder, local)
    assert await push_to(receiver, job, {"status": "started"}) == 200
    receiver.clock.now += 0.5
    await delivered_on_a_push_again(holder, receiver, job, pika_job.id)


async def test_a_poll_answered_after_the_lease_ended_changes_no_working_message(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    """The first process hung with a poll in flight for longer than its lease, and the other
    took the job over (and may have made the working message its result, for a member who
    wants no ping). The late answer, "still running", must not be shown on that message."""
    local.behaviour.stall_jobs = 1
    job = await sent(stack)
    await stack.tracker.hold()
    in_flight = stack.tracker._jobs[job.id]
    past_the_lease(stack)  # stopped, its poll in flight
    await other.tracker.hold()
    assert job.id in other.tracker._jobs  # taken over
    shown = len(stack.notifier.shown)
    await stack.tracker.poll(in_flight)  # continued: the poll's answer comes in
    assert stack.notifier.shown[shown:] == []


async def test_a_push_to_the_holder_during_its_paid_call_reaches_the_process_that_takes_over(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    """Pika's answer to the paid call was slow to come and its push came first, to the process
    making the call, which kept it for the answer; then that process died. The process that
    takes the job over settles it as listening: the push must reach it, none will come again."""
    dead, taker = pushing
    job = await dead.service.create("generate", fox(), ORIGIN)
    sending = await dead.store.transition(
        job.id, [S.SUBMITTING], status=S.SENDING, **dead.store.leases.taken()
    )
    assert sending is not None
    created = await dead.pika.submit(fox())  # the call in flight, its answer not yet read
    pika_id = getattr(created, "job_id", None)
    assert isinstance(pika_id, str)
    await local.jobs[pika_id].done.wait()
    assert await push_to(dead, sending, {"job": {"id": pika_id}}) == 200
    past_the_lease(dead)  # the process died before the call's answer came
    await taker.tracker.hold()
    for _ in range(5):
        await taker.settle()
        taker.clock.now += taker.tracker.interval
    final = await current(taker, job)
    assert final.status is S.DELIVERED and final.pika_job_id == pika_id
    assert calls_to_generate(local) == 1


async def test_a_push_during_a_clean_stop_goes_to_the_process_that_takes_the_job(
    pushing: tuple[Stack, Stack], local: LocalPika
) -> None:
    """SIGTERM: the process released its leases for the others to take its jobs at once, and
    its HTTP server, the last thing to stop, still answers. A push for one of its jobs then is
    the next holder's: taken by the stopping process, the job sat under a new lease of a
    process that does nothing more, its result held back until that lease ended."""
    stopping, other = pushing
    job, pika_job = await made_but_unanswered(stopping, local)  # listening for its push
    await stopping.tracker.stop()
    assert await push_to(stopping, job, {"job": {"id": pika_job.id}}) == 200
    await other.tracker.hold()  # at once, not a lease later
    await other.tracker.idle()
    await other.settle()
    assert other.notifier.delivered == [job.id]


async def test_a_database_away_is_one_warning_a_turn_not_an_unexpected_error(
    stack: Stack,
    local: LocalPika,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL stopped under running jobs: the tracker's batched write failed in its loop and
    was logged as "Tracker: unexpected error; going on" with a 30-line traceback, beside the
    warning the lease step already gave for the same write. Now it is the same one warning."""
    await sent(stack)
    await stack.tracker.hold()

    async def refused(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(stack.store, "update_many", refused)
    stack.tracker._dirty()  # a poll's result waits to be written

    turns = 0

    async def two_turns(when: float) -> None:
        # The loop's wait. The first turn renews (its write refused, kept); the second comes
        # when that write is due again, before the next renewal; then the test ends the loop.
        nonlocal turns
        turns += 1
        if turns == 2:
            raise asyncio.CancelledError
        stack.clock.now += FLUSH_SECONDS
        assert stack.clock.now < stack.tracker._hold_at

    monkeypatch.setattr(stack.tracker, "sleep_until", two_turns)
    caplog.clear()
    with pytest.raises(asyncio.CancelledError):
        await stack.tracker.run()
    tracker = [
        r for r in caplog.records if r.name == "bot.jobs.tracker" or r.name == "bot.jobs.holding"
    ]
    assert [r.levelname for r in tracker if r.levelno >= logging.ERROR] == []
    assert all(r.exc_info is None for r in tracker)
    assert any("could not write the jobs' steps" in r.getMessage() for r in tracker)


async def test_a_private_hold_left_by_a_process_is_resolved_once_by_the_other_after_the_lease(
    stack: Stack, other: Stack
) -> None:
    # A member held privately ("thinking") by a process that then stopped: the other resolves
    # it once that process's lease ended, not before (it may still be answering), and once.
    clock = stack.clock
    await stack.store.holds.record(Hold(77, "token-77", 1, 3, "de", clock.now))
    await other.tracker.hold()
    await stack.tracker.hold()  # renewed with the first process's jobs
    clock.now += stack.store.leases.seconds * 2 / 3
    await other.tracker.hold()
    await other.settle()
    assert other.notifier.holds_resolved == []
    past_the_lease(stack)  # the first process stopped renewing
    await asyncio.gather(stack.tracker._claim(), other.tracker.hold())
    await asyncio.gather(stack.settle(), other.settle())
    assert stack.notifier.holds_resolved + other.notifier.holds_resolved == [77]
