"""Each member's own defaults in a server: what `/pika settings` keeps, and how it is changed.

They fill what a member leaves out of a request, under the server's defaults (an owner's default
negative prompt, say, is not undone by a member's) and over Pika's own; an option the member
gives always wins. `mention` says whether the member's results and failures ping them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import InputError
from bot.pika.models import (
    GUIDANCE_SCALE,
    MAX_PROMPT_CHARS,
    MOTION,
    AspectRatio,
    Pan,
    Rotate,
    Tilt,
    Zoom,
)
from bot.pika.rules import settings_problems
from bot.read_cache import ReadCache
from bot.storage import MemberSettingsStore

Model = Literal["1.0", "2.1"]
# The defaults that are common video options of intake (option name -> value); `model` is the
# model of `/pika generate`.
VIDEO_DEFAULTS = (
    "aspect_ratio",
    "motion",
    "guidance_scale",
    "negative_prompt",
    "zoom",
    "pan",
    "tilt",
    "rotate",
)


class PersonalDefaults(BaseModel):
    """One member's defaults in one server; unset values leave the choice to the layers below."""

    model_config = ConfigDict(extra="forbid")

    aspect_ratio: AspectRatio | None = None
    model: Model | None = None
    motion: int | None = Field(default=None, ge=MOTION.low, le=MOTION.high)
    guidance_scale: int | None = Field(default=None, ge=GUIDANCE_SCALE.low, le=GUIDANCE_SCALE.high)
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    zoom: Zoom | None = None
    pan: Pan | None = None
    tilt: Tilt | None = None
    rotate: Rotate | None = None
    mention: bool = True

    def options(self) -> dict[str, Any]:
        """The defaults that fill a request (option name -> value), the model included."""
        values = self.model_dump(include={*VIDEO_DEFAULTS, "model"}, exclude_none=True)
        return dict(values)


class Preferences:
    """Members' defaults, validated on the way in and out.

    Read defaults are kept in memory (a member's next request reads nothing from the database);
    `change` forgets the entry as it writes (the next read takes it as stored), then calls
    `changed` (which tells the other
    processes sharing the database to `forget` theirs); an entry is also read again after
    `CACHE_SECONDS`, so that a change another process could not tell is seen within that time.
    """

    CACHE_SECONDS = 60.0
    MAX_CACHED = 10_000  # members remembered; the oldest reads are forgotten first

    def __init__(
        self,
        store: MemberSettingsStore,
        changed: Callable[[int, int], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.changed = changed
        self._cache: ReadCache[tuple[int, int], PersonalDefaults] = ReadCache(
            self.CACHE_SECONDS, self.MAX_CACHED, time.monotonic
        )

    def forget(self, guild_id: int, user_id: int) -> None:
        """Read the member's defaults again next time (another process changed them)."""
        self._cache.forget((guild_id, user_id))

    async def get(self, guild_id: int | None, user_id: int) -> PersonalDefaults:
        """A member's defaults in a server (none set until they use `/pika settings`)."""
        if guild_id is None:
            return PersonalDefaults()

        async def read() -> PersonalDefaults:
            return _stored(await self.store.load(guild_id, user_id))

        return await self._cache.get((guild_id, user_id), read)

    async def change(
        self,
        guild_id: int,
        user_id: int,
        *,
        reset: bool = False,
        blocked: Callable[[Iterable[str]], str | None] | None = None,
        **changes: Any,
    ) -> PersonalDefaults:
        """Set the given defaults (None leaves one as it is); `reset` forgets every one first.
        `blocked` is the server's blocked-words check (`GuildSettings.blocked`): a negative
        prompt it finds a pattern in would have every request of the member refused.

        Raises InputError naming the option and its rule when a value is refused; then nothing
        is stored. The change is made on the document as stored, never on a cached copy: two
        changes at once both hold."""
        given = {k: v for k, v in changes.items() if v is not None}
        avoid = given.get("negative_prompt")
        clash = blocked([avoid]) if blocked is not None and avoid else None
        if clash is not None:
            raise InputError.rule("negative_prompt", "rule.blocked_in_mine", pattern=clash)
        made: list[PersonalDefaults] = []

        def apply(stored: str | None) -> str:
            current = PersonalDefaults() if reset else _stored(stored)
            try:
                updated = PersonalDefaults.model_validate(current.model_dump() | given)
            except ValidationError as exc:
                raise InputError(settings_problems(exc)) from None
            made.append(updated)
            return updated.model_dump_json()

        self.forget(guild_id, user_id)  # whatever happens to the write, read it again next
        await self.store.edit(guild_id, user_id, apply)
        if self.changed is not None:
            await self.changed(guild_id, user_id)
        # Read again next rather than kept: another change may have been written meanwhile,
        # and this document, kept last, would have hidden it for CACHE_SECONDS.
        self.forget(guild_id, user_id)
        return made[-1]


def _stored(data: str | None) -> PersonalDefaults:
    """A member's defaults from their stored document (none set for none)."""
    return PersonalDefaults.model_validate_json(data) if data else PersonalDefaults()
