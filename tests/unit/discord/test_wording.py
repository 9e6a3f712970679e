"""The wording catalogue: every key the code uses exists and fills, and job texts read right."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.discord.wording import (
    MESSAGES,
    explain,
    failure_text,
    say,
    undeliverable_text,
    working_text,
)
from bot.errors import InputError
from bot.guardrails import Refusal
from bot.storage import Job, Status

ROOT = Path(__file__).resolve().parents[3]
# A key in code: the first argument of say(), a MemberError subclass, InputError.rule, or fail().
USED = re.compile(
    r"""(?:say|Refusal|FollowUpRefused|MemberError|InputError\.rule\([^,]+,)\(\s*f?"([a-z_]+\.[a-z_.{}]+)"|"""
    r"""fail\(\s*\w+,\s*"([a-z_]+)"|self\.end\(\s*\w+,\s*"([a-z_]+)\""""
)


def job(**changes: object) -> Job:
    values: dict[str, object] = {
        "id": "abcdefghij",
        "kind": "generate",
        "request": {"promptText": "a fox", "options": {"aspectRatio": "16:9", "frameRate": 24}},
        "channel_id": 2,
        "user_id": 3,
        "status": Status.RUNNING,
        "next_poll_at": 0.0,
        "created_at": 0.0,
        "updated_at": 0.0,
        "progress": 40,
        "pika_status": "pending",
    }
    return Job(**(values | changes))  # type: ignore[arg-type]


def test_every_key_the_code_uses_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/*.py")]:
        for match in USED.finditer(path.read_text()):
            key = next(g for g in match.groups() if g)
            used.add(key if "." in key else f"failure.{key}")
    assert len(used) > 40
    dynamic = {k for k in used if "{" in k}
    missing = {k for k in used - dynamic if k not in MESSAGES}
    assert not missing
    assert all(any(k.startswith(d.split("{")[0]) for k in MESSAGES) for d in dynamic)


def test_every_sentence_is_a_valid_template() -> None:
    for key, text in MESSAGES.items():
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        assert all(re.fullmatch(r"\w+(![rs])?", f) or f == "" for f in fields), key


def test_the_working_message_shows_the_request_and_its_progress() -> None:
    text = working_text(job())
    assert text.startswith("🎬 <@3> asked for **Generate** “a fox”")
    assert "model 1.0 · 16:9 · 24 fps" in text
    assert "pending ████░░░░░░ 40%" in text and "`abcdefghij`" in text


def test_failures_say_why_in_words() -> None:
    timed_out = job(status=Status.TIMED_OUT, failure="timed_out", last_error="30")
    assert failure_text(timed_out) == (
        "❌ <@3> your generate job `abcdefghij` timed out: Pika did not finish this video "
        "within 30 minutes, so the bot gave up."
    )
    failed = job(status=Status.FAILED, failure="pika_failed", last_error="GPU on fire at node 7")
    assert failure_text(failed).endswith("failed: Pika could not make this video.")
    refused = job(status=Status.FAILED, failure="pika_rejected", last_error="<@&1> raw vendor")
    assert failure_text(refused).endswith("failed: Pika refused this request.")
    legacy = job(status=Status.FAILED, failure=None, last_error="raw vendor text")
    assert "raw vendor text" not in failure_text(legacy)
    lost = job(
        status=Status.UNDELIVERABLE,
        failure="undeliverable",
        last_error="gone",
        result_url="https://x/v.mp4",
    )
    assert undeliverable_text(lost) == (
        "Your Pika job `abcdefghij` finished, but the bot could not post it where you asked "
        "(gone).\nHere it is: https://x/v.mp4"
    )


def test_member_errors_are_explained_with_their_icon() -> None:
    refusal = Refusal("refusal.running", running=2, limit=2)
    assert explain(refusal).startswith("⛔ You already have 2 job(s) running")
    bad = InputError(
        [
            ("frame_rate", "rule.vendor", {"text": "must be between 1 and 24"}),
            ("image", "rule.either_not_both", {"option": "image"}),
        ]
    )
    assert explain(bad) == (
        "⚠️ frame_rate: must be between 1 and 24\n"
        "image: give either `image` or `image_url`, not both"
    )


@pytest.mark.parametrize("key", [k for k in MESSAGES if k.startswith("refusal.")])
def test_every_refusal_fills_from_its_parameters(key: str) -> None:
    fields = {f for _, f, _, _ in string.Formatter().parse(MESSAGES[key]) if f}
    assert say(key, **dict.fromkeys(fields, 1))
