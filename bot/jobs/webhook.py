"""Push of results: Pika calls WEBHOOK_PUBLIC_URL/pika/webhook/<secret> when a job ends.

The secret is made for each job and only this bot knows it. A push for an unknown secret gets
404 and changes nothing. The body is never trusted: a valid push only makes the tracker ask
Pika about that job at once (a get-job call), and deliver it if it is finished. For a job whose
paid call's outcome was unknown, the push names the Pika job, which the tracker adopts once a
get-job call confirms it (`Tracker.pushed`).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.jobs.tracker import Tracker
from bot.pika.models import JobResponse
from bot.storage import JobStore

log = logging.getLogger(__name__)


class WebhookReceiver:
    """The push route's handler."""

    def __init__(self, store: JobStore, tracker: Tracker) -> None:
        self.store = store
        self.tracker = tracker

    async def push(self, request: web.Request) -> web.Response:
        """A push for the job whose secret ends the path."""
        job = await self.store.by_webhook_secret(request.match_info["secret"])
        if job is None:
            return web.json_response({"error": "unknown webhook"}, status=404)
        log.info("Job %s: pushed by Pika; confirming with a get-job call", job.id)
        await self.tracker.pushed(job, pika_job_id(await _body(request)))
        return web.json_response({"ok": True})


async def _body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def pika_job_id(body: Any) -> str | None:
    """The Pika job a push names (in the get-job shape), if it names one."""
    try:
        found = JobResponse.model_validate(body).state().job_id
    except ValidationError:
        return None
    return found or None
