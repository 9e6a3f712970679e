"""The chaos soak's invariant checker (benchmarks/chaos.py): it passes a job told once (also
as a follow-up of a press no process answered), and names a working message left behind, a
press's public answer no job recorded, a result posted twice and a request Pika made twice."""

from __future__ import annotations

from typing import Any

from benchmarks.chaos import Ask, check
from bot.discord.texts import failure_text
from bot.storage import Job, Status
from tests.fake_discord import FakeDiscord
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import APP_ID, GENERAL, REQUESTER

PROMPT = "chaos s1 n1 fox"
BODY = {"promptText": PROMPT}


def delivered(fake: FakeDiscord, working: int, **changes: Any) -> tuple[Job, int]:
    """A job delivered as a result posted in GENERAL, and that result's id."""
    result = fake.store_message(
        GENERAL,
        APP_ID,
        {
            "content": f"<@{REQUESTER}> your video is ready",
            "components": [{"type": 1, "components": [{"type": 2, "custom_id": "pika:info:job1"}]}],
        },
        [],
    )
    fields: dict[str, Any] = {
        "id": "job1",
        "kind": "generate",
        "request": BODY,
        "channel_id": GENERAL,
        "user_id": REQUESTER,
        "status": Status.DELIVERED,
        "next_poll_at": 0.0,
        "created_at": 0.0,
        "updated_at": 0.0,
        "active": False,
        "status_message_id": working,
        "result_message_id": result.id,
        "pika_job_id": "p1",
    }
    return Job(**(fields | changes)), result.id


def asked(fake: FakeDiscord) -> tuple[Ask, int]:
    """A generate answered publicly: the ask, and its working message's id."""
    interaction = Interaction(1, "token", 2, REQUESTER, GENERAL, 0.0, {})
    working = fake.store_message(GENERAL, APP_ID, {"content": PROMPT}, [])
    interaction.callbacks.append({"type": 4, "data": {"content": PROMPT}})
    interaction.original_id = working.id
    return Ask(interaction, REQUESTER, GENERAL, "generate", PROMPT), working.id


def created(*statuses: Any) -> list[dict[str, Any]]:
    """Create calls the local Pika received for the job's body."""
    return [{"path": "/web/generate", "body": BODY, "status": s} for s in statuses]


def test_a_job_delivered_once_in_place_of_its_working_message_keeps_the_promise() -> None:
    fake = FakeDiscord(check_contract=False)
    ask, working = asked(fake)
    job, _ = delivered(fake, working)
    fake.messages[working].deleted = True
    assert check(fake, [ask], [job], created(500, 200)) == []


def test_each_broken_promise_is_named() -> None:
    fake = FakeDiscord(check_contract=False)
    ask, working = asked(fake)
    job, result = delivered(fake, working)
    fake.store_message(GENERAL, APP_ID, fake.message_json(fake.messages[result]), [])
    problems = check(fake, [ask], [job], created(200, "lost"))
    assert any("2 results posted" in p for p in problems)
    assert any(f"working message {working} is left behind" in p for p in problems)
    assert any("Pika made 2 jobs" in p for p in problems)


def pressed() -> Ask:
    """An upscale pressed on a result, which no process answered: its process died first."""
    interaction = Interaction(2, "token2", 3, REQUESTER, GENERAL, 0.0, {})
    return Ask(interaction, REQUESTER, GENERAL, "upscale")


def cancelled(**changes: Any) -> Job:
    """The press's job, taken over unanswered and cancelled before any paid call."""
    fields: dict[str, Any] = {
        "id": "job2",
        "kind": "upscale",
        "request": {"video": "https://example.com/fox.mp4"},
        "channel_id": GENERAL,
        "user_id": REQUESTER,
        "status": Status.FAILED,
        "next_poll_at": 0.0,
        "created_at": 0.0,
        "updated_at": 0.0,
        "active": False,
        "failure": "not_acknowledged",
        "counted": False,
        "lent_prompt": PROMPT,
    }
    return Job(**(fields | changes))


def test_a_failure_told_as_a_follow_up_of_an_unanswered_press_is_not_its_working_message() -> None:
    """The press's process died before answering; the process that took its job over told the
    failure through the interaction's token, a follow-up with a Retry button. The chaos soak's
    seed 22 named that failure 'answered publicly, but no job recorded it'."""
    fake = FakeDiscord(check_contract=False)
    ask, job = pressed(), cancelled()
    text = failure_text(job)
    retry = {"type": 1, "components": [{"type": 2, "custom_id": "pika:retry:job2"}]}
    failure = fake.store_message(
        GENERAL, APP_ID, {"content": text, "components": [retry]}, [], interaction_id=2
    )
    ask.interaction.followups.append(failure.id)
    assert ask.working_message(fake) is None
    assert check(fake, [ask], [job], []) == []


def test_a_press_whose_public_answer_no_job_recorded_is_named() -> None:
    """The same press answered publicly with its working message, which its job never
    recorded (and which was turned into the failure, so nothing says "working" still)."""
    fake = FakeDiscord(check_contract=False)
    ask, job = pressed(), cancelled()
    retry = {"type": 1, "components": [{"type": 2, "custom_id": "pika:retry:job2"}]}
    working = fake.store_message(GENERAL, APP_ID, {"content": "⏳ upscale"}, [], interaction_id=2)
    ask.interaction.callbacks.append({"type": 4, "data": {"content": "⏳ upscale"}})
    ask.interaction.original_id = working.id
    fake.apply_edit(working, {"content": failure_text(job), "components": [retry]}, [])
    problems = check(fake, [ask], [job], [])
    assert problems == [
        f"upscale  by {REQUESTER} (interaction 2): answered publicly ({working.id}), "
        "but no job recorded it"
    ]


def test_two_jobs_failing_in_the_same_words_are_each_told_once() -> None:
    """Two extends of one member's results of one prompt, both ended 'cannot tell whether
    it started': the same words, each with its own Retry. The chaos soak's seed 24 named each
    'told 2 times of its failure' (it counted the other's message by its words)."""
    fake = FakeDiscord(check_contract=False)
    jobs = [
        cancelled(id=job_id, kind="extend", failure="pika_outcome_unknown", request=BODY)
        for job_id in ("job3", "job4")
    ]
    for job in jobs:
        retry = {"type": 1, "components": [{"type": 2, "custom_id": f"pika:retry:{job.id}"}]}
        fake.store_message(
            GENERAL, APP_ID, {"content": failure_text(job), "components": [retry]}, []
        )
    assert failure_text(jobs[0]) == failure_text(jobs[1])
    assert check(fake, [], jobs, []) == []
