"""Push of results: Pika calls WEBHOOK_PUBLIC_URL/pika/webhook/<secret> when a job ends.

The secret is made for each job and only this bot knows it. A push for an unknown secret gets
404 and changes nothing. The body is never trusted: a valid push only makes the tracker ask
Pika about that job at once (a get-job call), and deliver it if it is finished. The route is
served by the bot's one HTTP server (`bot/ops/server.py`), which holds the bounds of every route.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.jobs.tracker import Tracker
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
        await self.tracker.pushed(job)
        return web.json_response({"ok": True})
