"""A job's answer through its interaction's webhook: whether the interaction's token still
works, and the three calls made with it (edit a message, send a follow-up, delete a message).

These calls count against no channel's rate limits and not against the global limit, which is
why delivery prefers them while the token is valid (15 minutes, less `TOKEN_MARGIN`). discord.py
gives them no time limit of their own, so each is bounded here. It also sends a webhook call
again at once when Discord answers a server error: harmless for an edit or a delete, but a
follow-up carries no nonce, and one Discord made before its 500 would be posted (and ping)
twice; `follow_ups_sent_once` stops that retry (see `FollowUpUnknown`).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
from discord.webhook.async_ import async_context

from bot.storage import Job

TOKEN_SECONDS = 15 * 60  # how long an interaction's token edits its answer
TOKEN_MARGIN = 2 * 60  # an upload started near the end must still finish in time
WEBHOOK_SECONDS = 60.0  # one call, uploads included
# A follow-up: a new message through an interaction's webhook (`/webhooks/{app}/{token}`).
FOLLOW_UP = re.compile(r"/webhooks/\d+/[^/]+/?$")
EPHEMERAL = 64  # a message flag: seen only by the member who used the interaction
LOADING = 128  # a message flag: a deferred answer still "thinking"


class FollowUpUnknown(aiohttp.ClientError):
    """Discord answered a follow-up with a server error: it may have posted it, or not. Like a
    lost reply (an `aiohttp.ClientError`), the caller looks before posting again."""


async def follow_ups_sent_once(
    request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """A middleware of discord.py's session: a follow-up answered 5xx is raised as
    `FollowUpUnknown` instead of being sent again by discord.py."""
    response = await send(request)
    if response.status >= 500 and request.method == "POST" and FOLLOW_UP.search(request.url.path):
        response.release()
        raise FollowUpUnknown(f"Discord answered a follow-up with HTTP {response.status}")
    return response


def token_usable(job: Job, now: float | None = None) -> bool:
    """Whether the job's interaction token can still edit its answer, with a margin."""
    now = time.time() if now is None else now
    return bool(job.interaction_token) and now < job.created_at + TOKEN_SECONDS - TOKEN_MARGIN


class InteractionAnswer:
    """The webhook of the interaction that asked for a job, or of a member's private hold
    (`token`; a credential either way)."""

    def __init__(self, client: discord.Client, job: Job | None = None, *, token: str = "") -> None:
        token = job.interaction_token or "" if job is not None else token
        assert token and client.application_id is not None
        self._webhook = discord.Webhook.partial(client.application_id, token, client=client)

    async def edit(self, message_id: int, **content: Any) -> None:
        """Edit one of the interaction's messages (its answer or a follow-up)."""
        async with asyncio.timeout(WEBHOOK_SECONDS):
            await self._webhook.edit_message(message_id, **content)

    async def send(self, **content: Any) -> int:
        """A follow-up: a new message in the channel (which notifies whom it mentions); its id.
        `content` is what an edit takes (`attachments` are the files to upload)."""
        files = content.pop("attachments", [])
        async with asyncio.timeout(WEBHOOK_SECONDS):
            message = await self._webhook.send(files=files, wait=True, **content)
        return int(message.id)

    async def delete(self, message_id: int) -> None:
        """Delete one of the interaction's messages."""
        async with asyncio.timeout(WEBHOOK_SECONDS):
            await self._webhook.delete_message(message_id)

    async def original(self) -> Original:
        """The interaction's first answer as Discord shows it. Raises what a failed call raises
        (discord.NotFound: there is none)."""
        webhook = self._webhook
        assert webhook.token is not None
        async with asyncio.timeout(WEBHOOK_SECONDS):
            # discord.py reads an `@original` back only through the Interaction it answered,
            # which a process that took the job over does not have: its adapter's route does.
            data = await async_context.get().get_original_interaction_response(
                webhook.id,
                webhook.token,
                session=webhook.session,
                proxy=webhook.proxy,
                proxy_auth=webhook.proxy_auth,
            )
        asked: dict[str, Any] = dict(data.get("interaction_metadata") or {})
        flags = int(data.get("flags") or 0)
        return Original(
            int(data["id"]),
            bool(flags & EPHEMERAL),
            int(asked["id"]) if "id" in asked else None,
            bool(flags & LOADING),
        )


@dataclass(frozen=True)
class Original:
    """An interaction's first answer: its message, whether only its member sees it (a private
    hold, or a refusal), and the interaction it names."""

    message_id: int
    private: bool
    interaction_id: int | None
    thinking: bool = False  # a deferred answer not edited yet: "<bot> is thinking..."
