"""The paid call: written before Pika is called, sent once, and each fault of its policy."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.discord.texts import failure_reason
from bot.jobs.ledger import Accepted
from bot.jobs.service import JobService
from bot.pika.client import PikaClient
from bot.pika.local.app import LocalPika
from bot.storage import Job, Status
from tests.helpers.local_pika import wait_for_call
from tests.helpers.requests import fox
from tests.helpers.round_trips import counting_round_trips
from tests.unit.conftest import (
    ORIGIN,
    Stack,
    calls,
    make_stack,
    past_the_lease,
    rendered,
    sent,
)

PUSH = "https://bot.example.org/"


async def test_a_job_is_written_before_pika_is_called_and_sent_once(
    stack: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    assert job.status is Status.SUBMITTING
    assert calls(local) == []
    started = await stack.service.start(job.id, 555, "a-token")
    assert started.status is Status.RUNNING and started.pika_job_id
    assert started.status_message_id == 555 and started.interaction_token == "a-token"
    again = await stack.service.start(job.id, 555)  # a second start does nothing
    assert again.pika_job_id == started.pika_job_id
    assert calls(local) == ["/web/generate"]
    assert "a-token" not in repr(started)  # a credential: never in a log line


async def test_an_unknown_kind_is_refused_before_anything_is_written(stack: Stack) -> None:
    with pytest.raises(ValueError, match="unknown job kind 'teleport'"):
        await stack.service.create("teleport", fox(), ORIGIN)
    assert await stack.store.recent_for_user(ORIGIN.guild_id, ORIGIN.user_id) == []


async def test_a_job_whose_answer_failed_is_cancelled_before_any_paid_call(
    stack: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    cancelled = await stack.service.cancel_unanswered(job.id, tell=False)
    assert cancelled is not None and cancelled.status is Status.FAILED
    assert not cancelled.counted and not cancelled.active  # the member saw Discord say so
    assert (await stack.service.start(job.id, 555)).status is Status.FAILED  # too late
    assert calls(local) == []
    await stack.settle()
    assert stack.notifier.failures == []


async def test_a_job_in_flight_when_its_process_died_is_failed_by_another_and_never_resent(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    await stack.store.update(job.id, status=Status.SENDING)  # its process died mid-call
    await other.tracker.load()
    await other.settle()
    assert (await other.store.get(job.id)).status is Status.SENDING  # type: ignore[union-attr]
    past_the_lease(stack)  # no renewal came: the lease ends
    await other.tracker.load()
    await other.settle()
    settled = await other.store.get(job.id)
    assert settled is not None and settled.status is Status.FAILED and settled.counted
    assert "nothing is charged twice" in failure_reason(settled, "en")
    assert other.notifier.failures == ["failed: interrupted: "]
    assert stack.notifier.failures == []
    assert calls(local) == []  # never paid for twice
    assert not settled.active and settled.claimed_by is None


async def test_a_job_never_answered_when_its_process_died_is_cancelled_not_sent(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    past_the_lease(stack)
    await other.tracker.load()
    await other.settle()
    final = await other.store.get(job.id)
    assert final is not None and final.status is Status.FAILED and not final.counted
    assert other.notifier.failures == ["failed: not_acknowledged: "]
    assert calls(local) == []


async def test_a_live_process_keeps_its_paid_call_from_another_that_starts(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    local.behaviour.latency = 0.5
    job = await stack.service.create("generate", fox(), ORIGIN)
    call = asyncio.ensure_future(stack.service.start(job.id, 555))
    await wait_for_call(local, "/web/generate")
    await stack.tracker.hold()  # the live process renews its lease during the call
    stack.clock.now += stack.store.leases.seconds * 2 / 3
    await other.tracker.load()  # another process starts meanwhile
    await other.settle()
    running = await call
    assert running.status is Status.RUNNING and running.pika_job_id
    assert other.tracker._jobs == {} and other.notifier.failures == []
    assert calls(local) == ["/web/generate"]


async def test_a_job_left_unanswered_by_a_live_creator_is_cancelled_after_a_minute(
    stack: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    await stack.tracker.hold()  # held by this process: followed
    stack.clock.now += 59
    await stack.settle()
    assert (await stack.store.get(job.id)).status is Status.SUBMITTING  # type: ignore[union-attr]
    stack.clock.now += 2
    await stack.settle()
    final = await stack.store.get(job.id)
    assert final is not None and final.failure == "not_acknowledged" and not final.counted
    assert calls(local) == []


async def test_an_unanswered_paid_call_fails_the_job_without_retrying(
    tmp_path: Path, local: LocalPika
) -> None:
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url):
        async with PikaClient("k", local.base_url, timeout=0.3) as pika:
            local.behaviour.latency = 1.0
            service = JobService(stack.store, pika, stack.service.settings, stack.ledger)
            job = await service.create("generate", fox(), ORIGIN)
            ended = await service.start(job.id, 555)
        assert ended.status is Status.FAILED and ended.failure == "pika_outcome_unknown"
        assert ended.counted  # it may have been paid
        assert "cannot tell whether it started this video" in failure_reason(ended, "en")
        assert calls(local) == ["/web/generate"]


async def test_a_lost_answer_with_push_listens_and_adopts_the_pushed_job(
    tmp_path: Path, local: LocalPika
) -> None:
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url, webhook_public_url=PUSH):
        local.behaviour.lose_answers = 1  # Pika creates the job; its answer never arrives
        job = await sent(stack)
        assert job.status is Status.RUNNING and job.pika_job_id is None  # listening
        assert calls(local) == ["/web/generate"]
        [pika_job] = local.jobs.values()
        await pika_job.done.wait()
        # A push can be slow to come: the job waits for it, never polled (it has no id to poll
        # by) and never ended before its time-out. It once ended after the polling ceiling.
        for _ in range(5):
            stack.clock.now += stack.tracker.ceiling()
            await stack.settle()
        waiting = await stack.store.get(job.id)
        assert waiting is not None and waiting.status is Status.RUNNING
        await stack.tracker.pushed(job, pika_job.id)  # the push names Pika's job
        await stack.settle()
        final = await stack.store.get(job.id)
        assert final is not None and final.status is Status.DELIVERED
        assert final.pika_job_id == pika_job.id
        assert calls(local) == ["/web/generate", f"/web/jobs/{pika_job.id}"]  # paid once


async def in_flight(stack: Stack) -> tuple[Job, str]:
    """A job in its paid call (listening for a push), and the id of the job Pika made of it."""
    job = await stack.service.create("generate", fox(), ORIGIN)
    sending = await stack.store.transition(
        job.id, [Status.SUBMITTING], status=Status.SENDING, webhook_secret="s" * 32
    )
    assert sending is not None
    created = await stack.pika.submit(fox())  # what Pika made of the call in flight
    pika_id = getattr(created, "job_id", None)
    assert isinstance(pika_id, str)
    return sending, pika_id


async def ended(stack: Stack, job_id: str) -> Job:
    """The job once it ended, the clock moving a second at a time (an adoption runs beside
    its caller)."""
    for _ in range(50):
        await stack.settle()
        final = await stack.store.get(job_id)
        if final is not None and final.status.is_final:
            return final
        stack.clock.now += 1
    raise AssertionError(f"job {job_id} never ended")


async def test_a_push_that_comes_before_the_lost_answer_is_adopted_too(
    tmp_path: Path, local: LocalPika
) -> None:
    """Pika pushed its job while the paid call was still in flight, and then the answer was
    lost: the job once ended as "outcome unknown" at once instead of taking the pushed job."""
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url, webhook_public_url=PUSH):
        sending, pika_id = await in_flight(stack)
        await stack.tracker.pushed(sending, pika_id)  # the push comes first
        await stack.service.unknown_outcome(sending, "pika_outcome_unknown", "answer lost")
        await local.jobs[pika_id].done.wait()
        final = await ended(stack, sending.id)
        assert final.status is Status.DELIVERED, final
        assert final.pika_job_id == pika_id


@pytest.mark.parametrize("race", ["read-before-settled", "a-second-push-without-id"])
async def test_a_push_met_by_the_lost_answers_settling_is_still_adopted(
    tmp_path: Path, local: LocalPika, race: str
) -> None:
    """The receiver read the job's row while its paid call was in flight, and the call's
    answer was lost and settled (the job set listening) before the receiver handed the push
    on; or Pika pushed twice, the second body naming no job. Either way the Pika job the push
    named was kept for a paid call that had ended, or forgotten: the video Pika made (and
    charged for) was never adopted, and its member was told at the time-out that the outcome
    was unknown."""
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url, webhook_public_url=PUSH):
        sending, pika_id = await in_flight(stack)
        if race == "read-before-settled":
            await stack.service.unknown_outcome(sending, "pika_outcome_unknown", "answer lost")
            await stack.tracker.pushed(sending, pika_id)  # the row as the receiver read it
        else:
            await stack.tracker.pushed(sending, pika_id)
            await stack.tracker.pushed(sending, None)
            await stack.service.unknown_outcome(sending, "pika_outcome_unknown", "answer lost")
        await local.jobs[pika_id].done.wait()
        final = await ended(stack, sending.id)
        assert final.status is Status.DELIVERED, final
        assert final.pika_job_id == pika_id


async def test_a_listening_job_with_no_push_ends_with_a_retry_at_its_time_out(
    tmp_path: Path, local: LocalPika
) -> None:
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url, webhook_public_url=PUSH):
        local.behaviour.lose_answers = 1
        job = await sent(stack)
        stack.clock.now += 10 * 60 + 1
        await stack.settle()
        final = await stack.store.get(job.id)
        assert final is not None and final.status is Status.FAILED
        assert final.failure == "pika_outcome_unknown" and final.counted
        assert calls(local) == ["/web/generate"]  # never re-sent, never polled without an id


async def test_a_push_that_names_another_job_is_not_adopted(
    tmp_path: Path, local: LocalPika
) -> None:
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url, webhook_public_url=PUSH):
        other = await sent(stack)  # a job of its own, with its own webhook URL
        local.behaviour.lose_answers = 1
        job = await sent(stack)
        assert other.pika_job_id is not None
        await stack.tracker.pushed(job, other.pika_job_id)
        listening = await stack.store.get(job.id)
        assert listening is not None and listening.pika_job_id is None


@pytest.mark.parametrize(
    "fault", [{"server_errors": 3}, {"rate_limit_requests": 3, "retry_after": 0.01}]
)
async def test_pika_not_starting_the_job_is_retried_then_paid_once(
    stack: Stack, local: LocalPika, fault: dict[str, Any]
) -> None:
    for name, value in fault.items():
        setattr(local.behaviour, name, value)
    job = await sent(stack)
    assert job.status is Status.RUNNING and job.pika_job_id
    assert calls(local) == ["/web/generate"] * 4
    assert len(local.jobs) == 1  # Pika started one job: the refused calls started none


async def test_pika_refusing_to_the_end_tells_the_member_and_counts_nothing(
    tmp_path: Path, local: LocalPika
) -> None:
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url):
        async with PikaClient("k", local.base_url, max_attempts=3, backoff_base=0.01) as pika:
            local.behaviour.error_rate = 1.0
            service = JobService(stack.store, pika, stack.service.settings, stack.ledger)
            job = await service.create("generate", fox(), ORIGIN)
            ended = await service.start(job.id, 555)
        assert ended.status is Status.FAILED and ended.failure == "pika_server"
        assert not ended.counted  # Pika never accepted it
        assert calls(local) == ["/web/generate"] * 3 and local.jobs == {}


@pytest.mark.parametrize(
    "refused",
    [
        sqlite3.OperationalError("database is locked"),
        # What asyncpg raised, among lost connections, when PostgreSQL ended the connections
        # of a burst's statements (pg_terminate_backend): the Pika id's write gave up on it.
        asyncpg.InternalClientError(
            "cannot switch to state 15; another operation (2) is in progress"
        ),
    ],
)
async def test_the_write_after_pikas_answer_is_retried_until_it_succeeds(
    stack: Stack, local: LocalPika, monkeypatch: pytest.MonkeyPatch, refused: Exception
) -> None:
    original = stack.store.transition
    refusals = iter([refused] * 3)
    seen_in_ledger: list[list[Accepted]] = []

    async def locked(job_id: str, expected: Any, **changes: Any) -> Any:
        if changes.get("status") is Status.RUNNING:
            seen_in_ledger.append(stack.ledger.entries())
            refusal = next(refusals, None)
            if refusal is not None:
                raise refusal
        return await original(job_id, expected, **changes)

    monkeypatch.setattr(stack.store, "transition", locked)
    job = await sent(stack)
    assert job.status is Status.RUNNING and job.pika_job_id
    assert len(seen_in_ledger) == 4  # three refusals, then it went in
    assert [e.pika_job_id for e in seen_in_ledger[0]] == [job.pika_job_id]  # in the ledger first
    assert calls(local) == ["/web/generate"]


async def test_a_job_pika_accepted_that_the_database_never_got_is_resumed_by_another_process(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    await stack.store.update(job.id, status=Status.SENDING)
    # The crash: Pika answered, the dead process's ledger has its id, the database does not.
    pika_job = await local_job(stack, local)
    accepted_at = stack.clock.now
    stack.ledger.write(Accepted(job.id, pika_job, accepted_at))
    aged(stack.ledger.path, stack.store.leases.seconds + 1)  # the process died a while ago
    past_the_lease(stack)
    await other.tracker.load()
    await other.settle()
    resumed = await other.store.get(job.id)
    assert resumed is not None and resumed.status is Status.RUNNING
    assert resumed.pika_job_id == pika_job and resumed.accepted_at == accepted_at
    assert resumed.claimed_by == other.store.leases.owner
    assert not stack.ledger.path.exists()  # the dead process's ledger is needed no more
    await rendered(local, resumed)
    other.clock.now += 5
    await other.settle()
    assert other.notifier.delivered == [job.id]
    assert calls(local).count("/web/generate") == 1


async def test_a_damaged_ledger_neither_stops_start_up_nor_keeps_a_job_in_its_paid_call(
    stack: Stack, other: Stack, local: LocalPika
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    await stack.store.update(job.id, status=Status.SENDING)
    pika_job = await local_job(stack, local)
    stack.ledger.write(Accepted(job.id, pika_job, stack.clock.now))
    with stack.ledger.path.open("ab") as out:  # the disk damaged a line after it
        out.write(b"\x00\xff\xfe\x80\n")
    aged(stack.ledger.path, stack.store.leases.seconds + 1)
    past_the_lease(stack)
    await other.service.tidy_ledgers()  # what start-up does first
    await other.tracker.load()
    await other.settle()
    resumed = await other.store.get(job.id)
    assert resumed is not None and resumed.status is Status.RUNNING
    assert resumed.pika_job_id == pika_job
    assert calls(local).count("/web/generate") == 1


def aged(path: Path, seconds: float) -> None:
    """Make the file look last written `seconds` ago."""
    when = time.time() - seconds
    os.utime(path, (when, when))


async def test_a_ledger_is_kept_while_its_process_may_still_write_to_it(
    stack: Stack, other: Stack
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    stack.ledger.write(Accepted(job.id, "p1", stack.clock.now))
    await stack.store.update(job.id, status=Status.RUNNING, pika_job_id="p1")
    await other.service.tidy_ledgers()
    assert stack.ledger.path.exists()  # its process holds a lease: alive
    past_the_lease(stack)
    await other.service.tidy_ledgers()
    assert stack.ledger.path.exists()  # no lease, but written a moment ago: maybe alive
    aged(stack.ledger.path, stack.store.leases.seconds + 1)
    await other.service.tidy_ledgers()
    assert not stack.ledger.path.exists()


async def test_ledgers_are_left_for_later_while_the_database_cannot_answer(
    stack: Stack, other: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    stack.ledger.write(Accepted(job.id, "p1", stack.clock.now))
    aged(stack.ledger.path, stack.store.leases.seconds + 1)
    past_the_lease(stack)

    async def unreachable(owner: str) -> bool:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(other.store.leases, "live", unreachable)
    await other.service.tidy_ledgers()  # at start-up: the tracker must go on
    assert stack.ledger.path.exists()  # whether it is needed is not known: kept


async def test_taking_over_many_paid_calls_of_a_dead_process_reads_its_jobs_a_few_times(
    stack: Stack, other: Stack
) -> None:
    # A crash while the database refused Pika's answers: 100 ids in the ledger only.
    caught = []
    for n in range(100):
        job = await stack.service.create("generate", fox(), ORIGIN)
        caught.append(await stack.store.update(job.id, status=Status.SENDING))
        stack.ledger.write(Accepted(job.id, f"pika{n}", stack.clock.now))
    aged(stack.ledger.path, stack.store.leases.seconds + 1)
    past_the_lease(stack)
    await other.tracker.load()
    with counting_round_trips() as trips:
        for job in caught:  # as the tracker takes each one over
            await other.service.settle(job)
    assert len(await other.store.by_status(Status.RUNNING)) == 100
    # Not every job of the ledger read again after each one: 10,000 rows read for 100 jobs.
    reads = [sql for sql in trips.statements if sql.startswith("SELECT * FROM jobs WHERE id IN")]
    assert len(reads) < 5
    other.clock.now += other.tracker.hold_every()
    await other.tracker.hold()
    assert not stack.ledger.path.exists()  # removed once none of its jobs is in its paid call


async def local_job(stack: Stack, local: LocalPika) -> str:
    """A job made at the local Pika directly, as if the bot's paid call had made it."""
    answer = await stack.pika.generate(fox())
    assert answer.job_id is not None
    return answer.job_id


@pytest.mark.parametrize("fault", [TypeError("no route"), RuntimeError("a bug of ours")])
async def test_an_exception_anywhere_in_the_paid_call_ends_the_job_with_a_message(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, fault: Exception
) -> None:
    async def broken(request: Any) -> Any:
        raise fault

    monkeypatch.setattr(stack.pika, "submit", broken)
    ended = await sent(stack)
    assert ended.status is Status.FAILED and ended.active  # active until the member is told
    assert "went wrong on the bot's side" in failure_reason(ended, "en")
    await stack.settle()
    assert stack.notifier.failures == ["failed: internal: "]
    told = await stack.store.get(ended.id)
    assert told is not None and not told.active  # never stuck in SENDING


async def test_a_failure_the_database_refused_to_record_is_still_told_while_the_bot_runs(
    stack: Stack, local: LocalPika, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The paid call failed, and the write that ends the job was refused (database locked):
    # the job stays in `sending`, held by this live process, whose renewals keep it its own.
    async def broken(request: Any) -> Any:
        raise RuntimeError("a bug of ours")

    original = stack.store.transition
    refusals = iter([sqlite3.OperationalError("database is locked")])

    async def locked(job_id: str, expected: Any, **changes: Any) -> Any:
        if changes.get("status") is Status.FAILED and (refusal := next(refusals, None)):
            raise refusal
        return await original(job_id, expected, **changes)

    monkeypatch.setattr(stack.pika, "submit", broken)
    monkeypatch.setattr(stack.store, "transition", locked)
    job = await stack.service.create("generate", fox(), ORIGIN)
    with pytest.raises(sqlite3.OperationalError):
        await stack.service.start(job.id, 555)
    for _ in range(8):  # renewals every third of a lease, for two minutes
        await stack.tracker.hold()
        await stack.settle()
        stack.clock.now += stack.tracker.hold_every()
    told = await stack.store.get(job.id)
    assert told is not None and told.status is Status.FAILED and not told.active
    assert stack.notifier.failures == ["failed: interrupted: "]  # told once, with a Retry


async def test_requests_carry_a_per_job_webhook_when_push_is_on(
    tmp_path: Path, local: LocalPika
) -> None:
    async for stack in make_stack(tmp_path / "db.sqlite3", local.base_url, webhook_public_url=PUSH):
        one = await stack.service.create("generate", fox(), ORIGIN)
        two = await stack.service.create("generate", fox(), ORIGIN)
        urls = [one.request["webhookOverride"], two.request["webhookOverride"]]
        assert urls[0].startswith("https://bot.example.org/pika/webhook/")
        assert urls[0] != urls[1] and one.webhook_secret and urls[0].endswith(one.webhook_secret)
        assert await stack.store.by_webhook_secret(one.webhook_secret) == one


async def test_a_paid_call_that_fails_unexpectedly_is_never_paid_twice(
    tmp_path: Path, local: LocalPika, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug of ours after Pika took (and charged) the job: with push, the job listens for it
    and is delivered; without, the member is told it may have started, as for any unknown
    outcome. Once, the job failed at once and its member was told to press Retry, which sent
    the same request again."""
    for push in (PUSH, None):
        async for stack in make_stack(
            tmp_path / f"{bool(push)}.sqlite3", local.base_url, webhook_public_url=push
        ):

            async def accepted_then_broken(
                request: Any, *given: Any, submit: Any = stack.pika.submit
            ) -> Any:
                await submit(request, *given)  # as the service calls it (with its may_retry)
                raise KeyError("anything at all")

            monkeypatch.setattr(stack.pika, "submit", accepted_then_broken)
            job = await sent(stack)
            if push is None:
                assert job.status is Status.FAILED and job.failure == "internal"
                reason = failure_reason(job, "en")
                assert "nothing is charged twice" in reason and "if no video arrives" in reason
                continue
            assert job.status is Status.RUNNING and job.pika_job_id is None  # listening
            [pika_job] = local.jobs.values()  # the first round: Pika's only job
            await pika_job.done.wait()
            await stack.tracker.pushed(job, pika_job.id)
            await stack.settle()
            final = await stack.store.get(job.id)
            assert final is not None and final.status is Status.DELIVERED
