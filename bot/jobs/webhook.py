"""Push of results: Pika calls WEBHOOK_PUBLIC_URL/pika/webhook/<secret> when a job ends.

The secret is made for each job and only this bot knows it. A push for an unknown secret gets
404 and changes nothing. The body is never trusted: a valid push only makes the tracker ask
Pika about that job (a get-job call), at most once per poll interval however many pushes come,
and is logged once per interval, not once per push. For a job whose paid call's outcome was
unknown, the push names the Pika job, which the tracker adopts once a get-job call confirms it
(`Tracker.pushed`); the Pika job a push names is also kept in the job's row whenever it may be
needed later (a confirmation that failed, tried again at each renewal; a push during the paid
call, for a process that takes the job over). With several processes, a push may reach one that
does not hold the job (or that released it, stopping): it records the push in the job's row (the
job due now) and wakes the holder (`Holding.forward`).
The route is served by the bot's one HTTP server (`bot/ops/server.py`), within the bounds of
`bot/bounded_site.py`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.jobs.tracker import Tracker
from bot.pika.models import JobResponse
from bot.storage import JobStore

log = logging.getLogger(__name__)
SECRET = re.compile(r"[A-Za-z0-9_-]{16,64}")  # the shape of secrets.token_urlsafe(24)


class WebhookReceiver:
    """The push route's handler."""

    def __init__(self, store: JobStore, tracker: Tracker) -> None:
        self.store = store
        self.tracker = tracker

    async def push(self, request: web.Request) -> web.Response:
        """A push for the job whose secret ends the path."""
        secret = request.match_info["secret"]
        job = await self.store.by_webhook_secret(secret) if SECRET.fullmatch(secret) else None
        if job is None:
            return web.json_response({"error": "unknown webhook"}, status=404)
        pika_id = pika_job_id(await _body(request))
        if not self.tracker.holds(job):
            await self.tracker.forward(job, pika_id)
        elif await self.tracker.pushed(job, pika_id):
            log.info("Job %s: pushed by Pika; confirming with a get-job call", job.id)
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
