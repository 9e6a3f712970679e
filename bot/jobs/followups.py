"""Follow-ups of a delivered job: extend, upscale and re-roll, with their rules.

Only the requester or a member who may manage messages starts one. A double click or double
reaction makes one job: an extend or upscale of a result that already has one (running or done)
points to it; a re-roll is refused while another re-roll of the same result is running.
"""

from __future__ import annotations

import random
from typing import Any

from bot.guardrails import Ask, Guardrails, texts_of
from bot.jobs.service import KINDS, SEND_GRACE_SECONDS, JobService
from bot.jobs.store import Job, JobStore, Status
from bot.pika.errors import InvalidRequest
from bot.pika.media import MediaFacts
from bot.pika.models import ExtendRequest, Options, PikaRequestModel, UpscaleRequest

ACTIVE = (Status.SUBMITTING, Status.SENDING, Status.RUNNING, Status.DELIVERING)
BLOCKING: dict[str, tuple[Status, ...]] = {
    "extend": (*ACTIVE, Status.DELIVERED),
    "upscale": (*ACTIVE, Status.DELIVERED),
    "reroll": ACTIVE,
}
NO_SEED_KINDS = frozenset({"upscale", "lipsync"})


class FollowUpRefused(Exception):
    """The follow-up may not start; the message says why, for the member who asked."""


class FollowUps:
    """Turns a control on a result into a new job."""

    def __init__(self, store: JobStore, service: JobService, guardrails: Guardrails) -> None:
        self.store = store
        self.service = service
        self.guardrails = guardrails

    async def start(
        self,
        action: str,
        parent_id: str,
        user_id: int,
        *,
        may_moderate: bool,
        role_ids: frozenset[int] = frozenset(),
        channel_id: int | None = None,
    ) -> tuple[Job, bool]:
        """Create the follow-up job (not yet sent), if the server's guardrails allow it.

        Returns (job, created); raises FollowUpRefused or guardrails.Refusal.
        """
        parent = await self.store.get(parent_id)
        if parent is None:
            raise FollowUpRefused(f"There is no job `{parent_id}`.")
        if user_id != parent.user_id and not may_moderate:
            raise FollowUpRefused(
                "Only the member who made this video, or a moderator, can use its controls."
            )
        # A video that is still being posted exists already: its URL is all a follow-up needs.
        if parent.status not in (Status.DELIVERING, Status.DELIVERED) or not parent.result_url:
            raise FollowUpRefused(f"Job `{parent.id}` has no video yet.")
        kind, request = self.request_for(action, parent)
        request, secret = self.service.prepare(request)
        payload = request.payload()
        where = channel_id if channel_id is not None else parent.channel_id
        ask = Ask(parent.guild_id, where, user_id, role_ids, kind, texts_of(payload))
        async with self.guardrails.admitted(ask):
            return await self.store.create_unique_follow_up(
                kind=kind, parent_job_id=parent.id, blocking=BLOCKING[action],
                request=payload, guild_id=parent.guild_id, channel_id=parent.channel_id,
                thread_id=parent.thread_id, user_id=user_id, webhook_secret=secret,
                due_in=SEND_GRACE_SECONDS,
            )  # fmt: skip

    def request_for(self, action: str, parent: Job) -> tuple[str, PikaRequestModel]:
        """The request a follow-up sends, built from the parent's request and result."""
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
                    raise FollowUpRefused("This video is already upscaled.")
                return "upscale", UpscaleRequest(video=parent.result_url)
            if action == "reroll":
                if parent.kind in NO_SEED_KINDS:
                    raise FollowUpRefused("This kind of result has no seed to re-roll.")
                body = dict(parent.request)
                body.pop("webhookOverride", None)
                params = dict(options.get("parameters") or {})
                params["seed"] = random.randrange(2**31)
                body["options"] = {**options, "parameters": params}
                return parent.kind, KINDS[parent.kind](body, None)
        except InvalidRequest as exc:
            raise FollowUpRefused(f"Pika would refuse this: {exc}") from None
        except ValueError as exc:
            raise FollowUpRefused(f"Pika would refuse this: {exc}") from None
        raise FollowUpRefused(f"Unknown control {action!r}.")
