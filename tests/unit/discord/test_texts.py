"""What a member reads about a job: the working message, failures and the DM, in plain words
(no job id, no status or route of Pika's, none of Pika's own error text) and in their language."""

from __future__ import annotations

import re

from bot.discord.texts import (
    bar,
    failure_text,
    options_line,
    repeat_text,
    status_word,
    undeliverable_text,
    working_text,
)
from bot.jobs.estimates import Standing
from bot.storage import Job, Status

VENDOR_WORDS = re.compile(r"\b(pending|queued|submitting|sending|running|delivering|upscale)\b")


def job(**changes: object) -> Job:
    values: dict[str, object] = {
        "id": "abcdefghij",
        "kind": "generate",
        "request": {
            "promptText": "a fox",
            "options": {
                "aspectRatio": "16:9",
                "frameRate": 24,
                "camera": {"zoom": "in"},
                "parameters": {"motion": 2},
            },
        },
        "channel_id": 2,
        "user_id": 3,
        "guild_id": 1,
        "status": Status.RUNNING,
        "next_poll_at": 0.0,
        "created_at": 0.0,
        "updated_at": 0.0,
        "progress": 40,
        "pika_status": "pending",
    }
    return Job(**(values | changes))  # type: ignore[arg-type]


def test_the_working_message_shows_the_request_its_progress_and_when_it_ends() -> None:
    text = working_text(job(), Standing(place=None, eta=1_700_000_123.7))
    assert text.splitlines() == [
        "🎬 **Video** for <@3> “a fox”",
        "Pika 1.0 · 16:9 · 24 fps · motion 2 · zooming in",
        "▰▰▰▰▱▱▱▱▱▱ 40% · ready <t:1700000123:R>",
    ]
    assert "abcdefghij" not in text and not VENDOR_WORDS.search(text)


def test_a_waiting_job_shows_its_place_in_line() -> None:
    waiting = job(status=Status.RUNNING, pika_status="queued", progress=0)
    text = working_text(waiting, Standing(place=3, eta=1_700_000_000))
    assert "⏳ Waiting in line: place **3** · ready <t:1700000000:R>" in text
    assert status_word(waiting, "en") == "waiting in line"


def test_the_working_message_speaks_the_members_language() -> None:
    text = working_text(job(locale="fr"), Standing(place=2, eta=1_700_000_000))
    assert text.startswith("🎬 **Vidéo** pour <@3> “a fox”")
    assert "En file d'attente : position **2**" in text
    assert "zoom avant" in text


def test_markdown_in_a_prompt_is_shown_as_typed() -> None:
    text = working_text(job(request={"promptText": "**bold** [x](y)"}), Standing(None, 0))
    assert "“\\*\\*bold\\*\\* \\[x\\](y)”" in text


def test_an_upscale_and_a_lip_sync_show_no_model() -> None:
    upscaled = job(kind="upscale", request={"video": "https://x/v.mp4"})
    assert options_line(upscaled, "en") == ""
    assert "model" not in working_text(upscaled, Standing(None, 0)).lower()
    synced = job(kind="lipsync", request={"video": "https://x/v.mp4", "speechEnd": 2})
    assert options_line(synced, "en") == ""


def test_a_kind_without_a_model_in_its_body_shows_the_one_it_runs_on() -> None:
    assert options_line(job(kind="reprompt", request={"video": "https://x/v.mp4"}), "en") == (
        "Pika 1.0"
    )


def test_the_bar_fills_by_tenths() -> None:
    assert bar(0) == "▱" * 10 and bar(99) == "▰" * 9 + "▱" and bar(100) == "▰" * 10


def test_a_failure_says_what_to_do_next_without_pikas_words() -> None:
    busy = job(status=Status.FAILED, failure="pika_rate_limited", last_error="Too many (429)")
    text = failure_text(busy)
    assert text == (
        "❌ <@3> **Video** “a fox” could not be made. Pika is busy right now. Wait a minute, "
        "then press **Retry**."
    )
    assert "429" not in text and "Too many" not in text and "abcdefghij" not in text
    refused = job(status=Status.FAILED, failure="pika_rejected", last_error="<@&1> raw vendor")
    assert "Pika refused this request." in failure_text(refused)
    assert "raw vendor" not in failure_text(refused)
    timed_out = job(status=Status.TIMED_OUT, failure="timed_out", last_error="30")
    assert "took longer than 30 minutes" in failure_text(timed_out)
    unknown = job(status=Status.FAILED, failure=None, last_error="raw vendor text")
    assert failure_text(unknown).endswith("The bot does not know why.")


def test_a_refused_upscale_says_why_not_to_change_a_prompt_it_has_not() -> None:
    # An upscale has no prompt: "Change the prompt or the files" left the member guessing.
    refused = job(kind="upscale", request={"video": "https://x/v.mp4"}, failure="pika_rejected")
    text = failure_text(refused)
    assert "it upscales only videos Pika made" in text and "prompt" not in text
    assert "n'agrandit que les vidéos faites par Pika" in failure_text(refused, "fr")


def test_a_failure_in_japanese() -> None:
    failed = job(status=Status.FAILED, failure="pika_failed", locale="ja")
    assert failure_text(failed).startswith("❌ <@3> 作成できませんでした: **動画** “a fox”。")


def test_the_dm_links_a_video_only_where_the_member_can_open_it() -> None:
    lost = job(
        status=Status.UNDELIVERABLE,
        failure="undeliverable",
        last_error="undeliverable.channel_gone",
        result_url="https://cdn.example.org/v.mp4",
    )
    assert undeliverable_text(lost) == (
        "Your **Video** “a fox” is ready, but the bot could not post it where you asked: that "
        "channel no longer exists.\nHere it is: https://cdn.example.org/v.mp4"
    )
    local = job(
        status=Status.UNDELIVERABLE,
        failure="undeliverable",
        last_error="undeliverable.channel_gone",
        result_url="http://127.0.0.1:8765/files/x/v.mp4",
    )
    text = undeliverable_text(local)
    assert "127.0.0.1" not in text and "simulated and stay on its own machine" in text


def test_a_dm_whose_link_would_pass_discords_length_says_so_instead() -> None:
    # Pika's result URLs carry the prompt: 1,000 characters of Japanese are 9,000 encoded.
    long = "https://cdn.pika.art/v1/abc/" + "%E7%8C%AB" * 250 + "_seed1.mp4"
    lost = job(
        status=Status.UNDELIVERABLE,
        failure="undeliverable",
        last_error="undeliverable.channel_gone",
        result_url=long,
        locale="ja",
    )
    text = undeliverable_text(lost)
    assert len(text) <= 2000 and long not in text
    assert "リンクが長すぎて" in text and "そのチャンネルはもう存在しません" in text


def test_a_control_pressed_again_points_to_the_first_job() -> None:
    running = job(status_message_id=77)
    assert repeat_text(running, "en") == "🔁 Already on it: https://discord.com/channels/1/2/77"
    upscaled = job(kind="upscale", status=Status.DELIVERED, result_message_id=88)
    assert repeat_text(upscaled, "en") == (
        "🔁 This video already has an upscale, at no extra cost: "
        "https://discord.com/channels/1/2/88"
    )
