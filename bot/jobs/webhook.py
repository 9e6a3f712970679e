"""Push of results: Pika calls WEBHOOK_PUBLIC_URL/pika/webhook/<secret> when a job ends.

The secret is made for each job and only this bot knows it. A push for an unknown secret gets
404 and changes nothing. The body is never trusted: a valid push only makes the tracker ask
Pika about that job at once (a get-job call), and deliver it if it is finished.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.jobs.service import WEBHOOK_PATH
from bot.jobs.tracker import Tracker
from bot.storage import JobStore

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


class WebhookReceiver:
    """An aiohttp server with one route."""

    def __init__(self, store: JobStore, tracker: Tracker, host: str, port: int) -> None:
        self.store = store
        self.tracker = tracker
        self.host, self.port = host, port
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_post(WEBHOOK_PATH + "{secret}", self._push)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on WEBHOOK_LISTEN."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("Listening for Pika webhooks on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _push(self, request: web.Request) -> web.Response:
        job = await self.store.by_webhook_secret(request.match_info["secret"])
        if job is None:
            return web.json_response({"error": "unknown webhook"}, status=404)
        log.info("Job %s: pushed by Pika; confirming with a get-job call", job.id)
        await self.tracker.pushed(job)
        return web.json_response({"ok": True})
