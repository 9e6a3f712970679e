"""The rules of follow-ups on a delivered result: extend, upscale and re-roll.

Pure rules, no database and no admission: who may use a result's controls, and which request
each control sends. Only the requester or a member who may manage messages starts one. A double
click or double reaction makes one job: an extend or upscale of a result that already has one
(running or done) points to it; a re-roll waits until the last re-roll of the result has ended.
"""

from __future__ import annotations

import random
from typing import Any

from bot.errors import MemberError
from bot.jobs.service import retryable
from bot.pika.errors import InvalidRequest
from bot.pika.kinds import kind as kind_of
from bot.pika.media import MediaFacts
from bot.pika.models import ExtendRequest, Options, PikaRequestModel, UpscaleRequest
from bot.storage import ACTIVE, Job, Status

ACTIONS = ("extend", "upscale", "reroll")
# A follow-up of a result is refused as a duplicate while one of these exists: a result is
# extended or upscaled once, and re-rolled once at a time.
BLOCKING: dict[str, tuple[Status, ...]] = {
    "extend": (*ACTIVE, Status.DELIVERED),
    "upscale": (*ACTIVE, Status.DELIVERED),
    "reroll": ACTIVE,
}


# A failed job is retried once at a time; a retry that made the video settles it.
RETRY_BLOCKING: tuple[Status, ...] = (*ACTIVE, Status.DELIVERED)


class FollowUpRefused(MemberError):
    """The follow-up may not start; its sentence says why, for the member who asked."""


def check_allowed(parent: Job | None, parent_id: str, user_id: int, *, may_moderate: bool) -> Job:
    """The parent, if this member may use its controls now; else FollowUpRefused."""
    if parent is None:
        raise FollowUpRefused("control.unknown_job", job_id=parent_id)
    if user_id != parent.user_id and not may_moderate:
        raise FollowUpRefused("control.not_yours")
    # A video that is still being posted exists already: its URL is all a follow-up needs.
    if parent.status not in (Status.DELIVERING, Status.DELIVERED) or not parent.result_url:
        raise FollowUpRefused("control.no_video_yet", job_id=parent.id)
    return parent


def check_retry(failed: Job | None, job_id: str, user_id: int, *, may_moderate: bool) -> Job:
    """The failed job, if this member may ask it again now; else FollowUpRefused."""
    if failed is None:
        raise FollowUpRefused("control.unknown_job", job_id=job_id)
    if user_id != failed.user_id and not may_moderate:
        raise FollowUpRefused("control.not_yours")
    if failed.status not in (Status.FAILED, Status.TIMED_OUT) or not retryable(failed.failure):
        raise FollowUpRefused("control.nothing_to_retry", job_id=failed.id)
    return failed


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
            return "extend", ExtendRequest.model_validate(body, context={"media": facts})
        if action == "upscale":
            if parent.kind == "upscale":
                raise FollowUpRefused("control.already_upscaled")
            return "upscale", UpscaleRequest(video=parent.result_url)
        if action == "reroll":
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
        raise FollowUpRefused("control.pika_would_refuse", reason=str(exc)) from None
    raise FollowUpRefused("control.unknown_action", action=action)
