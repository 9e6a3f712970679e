"""The rules of controls: extend, upscale and re-roll on a result, Retry on a failure.

Pure rules, no database and no admission: who may use a control, which request it sends, and
when a press is the same request made again. Only the requester or a member who may manage
messages uses one. Buttons, reactions and the context menus follow the same rules:
- a second press of a control on the same video within the repeat window (REPEAT_PRESS_SECONDS)
  is the same job: the member is pointed to it, nothing is paid twice;
- an upscale of a video that has one (running or done) is that upscale, at any time;
- later, an extend or a re-roll is a new job (another take);
- Retry on a failure starts the same request again, once: pressed again, it points to the job
  the first press started.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bot.errors import MemberError
from bot.jobs.service import retryable
from bot.pika.errors import InvalidRequest
from bot.pika.kinds import kind as kind_of
from bot.pika.media import MediaFacts
from bot.pika.models import (
    EXTEND_SECONDS,
    MAX_VIDEO_SECONDS,
    ExtendRequest,
    Options,
    PikaRequestModel,
    UpscaleRequest,
    validate_request,
)
from bot.storage import ACTIVE, Job, Status

# The controls on a result. Extend and upscale are named for the kind of job they start; a
# re-roll starts a job of its parent's kind with a new seed.
REROLL = "reroll"
ACTIONS = ("extend", "upscale", REROLL)
# Jobs with these statuses make a press the same request whenever it comes (not only within
# the window): a video has one upscale, and a failure is retried once.
STICKY: tuple[Status, ...] = (*ACTIVE, Status.DELIVERED)
RETRYABLE = (Status.FAILED, Status.TIMED_OUT)


@dataclass(frozen=True)
class Repeat:
    """How a press is recognised as the same request again: jobs sharing `key` are the same
    request within the window, and at any time while one of them has a status in `sticky`."""

    key: str
    sticky: tuple[Status, ...] = ()


def repeat_of(action: str, video: str | None, parent: Job | None = None) -> Repeat | None:
    """The repeat rule of a control on a video: a job of the control's kind on that video
    (whichever way it was asked for; sticky for a kind a video gets once), a re-roll of a
    result. None when the action has no such rule."""
    if action == REROLL:
        return Repeat(f"{REROLL}:{parent.id}") if parent is not None else None
    if action in ACTIONS and video:
        sticky = STICKY if kind_of(action).once_per_video else ()
        return Repeat(f"{action}:{video}", sticky)
    return None


def retry_of(failed: Job) -> Repeat:
    """The repeat rule of Retry on a failed job: once, whenever pressed. A retry of a kind a
    video gets once (an upscale) is that video's job of the kind: later presses, of Retry or
    of the control, find it instead of paying again."""
    video = failed.request.get("video")
    if kind_of(failed.kind).once_per_video and isinstance(video, str):
        return Repeat(f"{failed.kind}:{video}", STICKY)
    return Repeat(f"retry:{failed.id}", STICKY)


def check_retry(failed: Job | None, job_id: str, user_id: int, *, may_moderate: bool) -> Job:
    """The failed job, if this member may retry it; else FollowUpRefused."""
    if failed is None:
        raise FollowUpRefused("control.unknown_job")
    if user_id != failed.user_id and not may_moderate:
        # A failure has no video, no reactions and one button: not control.not_yours's words.
        raise FollowUpRefused("control.not_yours_to_retry")
    # A job whose request Pika would refuse again, or whose video was made, has nothing to retry.
    if failed.status not in RETRYABLE or not retryable(failed.failure):
        raise FollowUpRefused("control.nothing_to_retry")
    return failed


def retry_request(failed: Job) -> PikaRequestModel:
    """The request a failed job sent, to send again (without its old push URL)."""
    body = {k: v for k, v in failed.request.items() if k != "webhookOverride"}
    try:
        return kind_of(failed.kind).parse(body)
    except (InvalidRequest, ValueError) as exc:
        raise would_refuse(exc) from None


class FollowUpRefused(MemberError):
    """The follow-up may not start; its sentence says why, for the member who asked."""


def would_refuse(error: ValueError) -> FollowUpRefused:
    """The refusal of a follow-up whose request breaks Pika's rules: `rules` names each one
    (field, catalogue key, what fills it), so that the member reads them in their language;
    `reason` is the English, for a rule the catalogue does not know."""
    if not isinstance(error, InvalidRequest):
        return FollowUpRefused("control.pika_would_refuse", reason=str(error))
    rules = [
        (p.field, p.key, p.params) if p.key else (p.field, "rule.vendor", {"text": p.rule})
        for p in error.problems
    ]
    return FollowUpRefused("control.pika_would_refuse", reason=str(error), rules=rules)


def check_allowed(parent: Job | None, parent_id: str, user_id: int, *, may_moderate: bool) -> Job:
    """The parent, if this member may use its controls now; else FollowUpRefused."""
    if parent is None:
        raise FollowUpRefused("control.unknown_job")
    if user_id != parent.user_id and not may_moderate:
        raise FollowUpRefused("control.not_yours")
    # A video that is still being posted exists already: its URL is all a follow-up needs.
    if parent.status not in (Status.DELIVERING, Status.DELIVERED) or not parent.result_url:
        raise FollowUpRefused("control.no_video_yet")
    return parent


def offered(job: Job) -> tuple[str, ...]:
    """The controls a result offers, in the order of ACTIONS: those `request_for` would not
    refuse for its kind and length. A button or reaction that can only ever answer "no" (a
    re-roll of an upscale, an upscale of an upscale, an extend past Pika's last second) is
    not shown at all."""
    kind = kind_of(job.kind)
    shown: list[str] = []
    for action in ACTIONS:
        if action == REROLL and not kind.has_seed:
            continue
        if action == job.kind and kind.once_per_video:
            continue
        if action == "extend" and (job.duration or 0) + EXTEND_SECONDS > MAX_VIDEO_SECONDS:
            continue
        shown.append(action)
    return tuple(shown)


def request_for(action: str, parent: Job) -> tuple[str, PikaRequestModel]:
    """The kind and request a follow-up sends, built from the parent's request and result."""
    assert parent.result_url is not None
    options = parent.request.get("options") or Options.default().payload()
    try:
        if action == "extend":
            facts = MediaFacts(
                durations={parent.result_url: parent.duration} if parent.duration else {}
            )
            body: dict[str, Any] = {"video": parent.result_url, "options": options}
            if parent.prompt:
                body["promptText"] = parent.prompt
            # InvalidRequest names the field and its rule; pydantic's own text is for developers.
            return "extend", validate_request(ExtendRequest, body, facts)
        if action == "upscale":
            if parent.kind == action and kind_of(action).once_per_video:
                raise FollowUpRefused("control.already_upscaled")
            return action, validate_request(UpscaleRequest, {"video": parent.result_url})
        if action == REROLL:
            parent_kind = kind_of(parent.kind)
            if not parent_kind.has_seed:
                raise FollowUpRefused("control.no_seed")
            body = dict(parent.request)
            body.pop("webhookOverride", None)
            params = dict(options.get("parameters") or {})
            params["seed"] = random.randrange(2**31)
            body["options"] = {**options, "parameters": params}
            return parent.kind, parent_kind.parse(body)
    except (InvalidRequest, ValueError) as exc:  # InvalidRequest for our rules, else pydantic's
        raise would_refuse(exc) from None
    raise FollowUpRefused("control.unknown_action", action=action)
