"""The rules of follow-ups, without a database: who may, and which request each control sends."""

from __future__ import annotations

import pytest

from bot.discord.wording import explain
from bot.followups import (
    STICKY,
    FollowUpRefused,
    Repeat,
    check_allowed,
    check_retry,
    offered,
    repeat_of,
    request_for,
    retry_of,
    retry_request,
)
from bot.pika.models import ExtendRequest, Generate10Request, JobResponse, UpscaleRequest
from bot.storage import Job, Status

VIDEO = "https://cdn.example.org/a_seed7.mp4"


def result(**changes: object) -> Job:
    values: dict[str, object] = {
        "id": "parent0000",
        "kind": "generate",
        "request": {
            "promptText": "a fox",
            "options": {
                "aspectRatio": "9:16",
                "frameRate": 12,
                "parameters": {"guidanceScale": 12, "motion": 2, "seed": 7},
            },
        },
        "channel_id": 2,
        "user_id": 3,
        "status": Status.DELIVERED,
        "next_poll_at": 0.0,
        "created_at": 0.0,
        "updated_at": 0.0,
        "guild_id": 1,
        "result_url": VIDEO,
        "duration": 3.0,
    }
    return Job(**(values | changes))  # type: ignore[arg-type]


def refusal(action: str, parent: Job) -> str:
    with pytest.raises(FollowUpRefused) as caught:
        request_for(action, parent)
    return caught.value.key


def test_only_the_requester_or_a_moderator_may_use_the_controls() -> None:
    parent = result()
    with pytest.raises(FollowUpRefused) as caught:
        check_allowed(parent, parent.id, 999, may_moderate=False)
    assert caught.value.key == "control.not_yours"
    assert check_allowed(parent, parent.id, 999, may_moderate=True) is parent
    assert check_allowed(parent, parent.id, 3, may_moderate=False) is parent


@pytest.mark.parametrize(
    ("parent", "key"),
    [
        (None, "control.unknown_job"),
        (result(status=Status.RUNNING, result_url=None), "control.no_video_yet"),
    ],
)
def test_a_result_that_is_not_there_yet_has_no_controls(parent: Job | None, key: str) -> None:
    with pytest.raises(FollowUpRefused) as caught:
        check_allowed(parent, "parent0000", 3, may_moderate=False)
    assert caught.value.key == key


def test_a_video_still_being_posted_can_already_be_followed_up() -> None:
    parent = result(status=Status.DELIVERING)
    assert check_allowed(parent, parent.id, 3, may_moderate=False) is parent


def test_extend_keeps_the_prompt_and_options_of_the_result() -> None:
    kind, request = request_for("extend", result())
    assert kind == "extend" and isinstance(request, ExtendRequest)
    assert request.video == VIDEO and request.prompt_text == "a fox"
    assert request.options.frame_rate == 12 and request.options.aspect_ratio == "9:16"


def test_extend_stops_where_pika_stops_at_15_seconds() -> None:
    assert refusal("extend", result(duration=12.0)) == "control.pika_would_refuse"
    kind, _ = request_for("extend", result(duration=11.0))
    assert kind == "extend"


def test_an_extend_past_15_seconds_is_refused_in_words_naming_the_rule() -> None:
    # Pressed on a 12 s video, Extend told the member pydantic's own report ("1 validation
    # error for ExtendRequest ... [type=value_error, input_value=...] For further
    # information visit https://errors.pydantic.dev/...") instead of the rule.
    with pytest.raises(FollowUpRefused) as caught:
        request_for("extend", result(duration=12.0))
    assert explain(caught.value) == (
        "⛔ Pika would refuse this: video: is 12 s long; an extend adds 4 s and Pika stops at 15 s"
    )


def test_an_extend_past_15_seconds_is_refused_in_the_members_language() -> None:
    # The rule came in English to every member, whatever their Discord's language.
    with pytest.raises(FollowUpRefused) as caught:
        request_for("extend", result(duration=12.0))
    assert explain(caught.value, "fr") == (
        "⛔ Pika refuserait : vidéo : dure 12 s ; une prolongation ajoute 4 s et Pika s'arrête "
        "à 15 s"
    )
    assert explain(caught.value, "ja") == (
        "⛔ Pika に拒否されます: 動画: の長さは 12 秒です。延長で 4 秒増えますが、Pika は "
        "15 秒までです"
    )


def test_a_length_no_clip_has_does_not_refuse_the_extend_of_its_result() -> None:
    # Pika's own word for its result's length, read as the tracker reads it: one no clip can
    # have (a billion seconds) is no length at all, and Pika judges the extend itself.
    finished = {"status": "finished", "resultUrl": VIDEO, "duration": 1e9}
    length = JobResponse.model_validate({"job": {"id": "j"}, "videos": [finished]}).state().duration
    kind, _ = request_for("extend", result(duration=length))
    assert kind == "extend"


def test_upscale_upscales_the_result_once() -> None:
    kind, request = request_for("upscale", result())
    assert kind == "upscale" and request == UpscaleRequest(video=VIDEO)
    assert refusal("upscale", result(kind="upscale")) == "control.already_upscaled"


def test_reroll_is_the_same_request_with_a_new_seed() -> None:
    kind, request = request_for("reroll", result())
    assert kind == "generate" and isinstance(request, Generate10Request)
    assert request.prompt_text == "a fox" and request.options.frame_rate == 12
    assert request.options.parameters.seed not in (None, 7)


@pytest.mark.parametrize("kind", ["upscale", "lipsync"])
def test_results_without_a_seed_cannot_be_rerolled(kind: str) -> None:
    assert refusal("reroll", result(kind=kind, request={"video": VIDEO})) == "control.no_seed"


def test_an_unknown_control_is_refused() -> None:
    assert refusal("explode", result()) == "control.unknown_action"


def test_a_press_again_is_recognised_per_video_and_action() -> None:
    parent = result()
    assert repeat_of("extend", VIDEO, parent) == Repeat(f"extend:{VIDEO}")
    assert repeat_of("upscale", VIDEO, parent) == Repeat(f"upscale:{VIDEO}", STICKY)
    assert repeat_of("reroll", VIDEO, parent) == Repeat("reroll:parent0000")
    # The same video, asked for from a context menu or `/pika upscale`, is the same upscale.
    assert repeat_of("upscale", VIDEO) == repeat_of("upscale", VIDEO, parent)
    assert repeat_of("reroll", VIDEO) is None


def test_retry_is_for_the_member_or_a_moderator_on_a_failure() -> None:
    sent = {**result().request, "webhookOverride": "https://bot.example.org/pika/webhook/s"}
    failed = result(status=Status.FAILED, request=sent)
    assert check_retry(failed, failed.id, 3, may_moderate=False) is failed
    assert check_retry(failed, failed.id, 9, may_moderate=True) is failed
    for parent, user, key in [
        (None, 3, "control.unknown_job"),
        (failed, 9, "control.not_yours_to_retry"),
        (result(), 3, "control.nothing_to_retry"),
    ]:
        with pytest.raises(FollowUpRefused) as caught:
            check_retry(parent, "parent0000", user, may_moderate=False)
        assert caught.value.key == key
    request = retry_request(failed)
    assert isinstance(request, Generate10Request) and request.webhook_override is None
    assert request.prompt_text == "a fox" and request.options.parameters.seed == 7
    assert retry_of(failed) == Repeat("retry:parent0000", STICKY)


def test_a_result_offers_only_the_controls_that_can_start_something() -> None:
    assert offered(result()) == ("extend", "upscale", "reroll")
    assert offered(result(duration=11.0)) == ("extend", "upscale", "reroll")
    assert offered(result(duration=12.0)) == ("upscale", "reroll")  # past 15 s with four more
    assert offered(result(kind="upscale", request={"video": VIDEO})) == ("extend",)
    assert offered(result(kind="lipsync")) == ("extend", "upscale")
    for action in ("upscale", "reroll"):  # what is not offered is what request_for refuses
        assert action not in offered(result(kind="upscale", request={"video": VIDEO}))
        with pytest.raises(FollowUpRefused):
            request_for(action, result(kind="upscale", request={"video": VIDEO}))
