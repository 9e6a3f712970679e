"""Each member's own defaults in a server: what `/pika settings` keeps, and how it is changed.

They fill what a member leaves out of a request, under the server's defaults (an owner's default
negative prompt, say, is not undone by a member's) and over Pika's own; an option the member
gives always wins. `mention` says whether the member's results and failures ping them.
"""

from __future__ import annotations

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
    """Members' defaults, validated on the way in and out."""

    def __init__(self, store: MemberSettingsStore) -> None:
        self.store = store

    async def get(self, guild_id: int | None, user_id: int) -> PersonalDefaults:
        """A member's defaults in a server (none set until they use `/pika settings`)."""
        data = await self.store.load(guild_id, user_id) if guild_id is not None else None
        return PersonalDefaults.model_validate_json(data) if data else PersonalDefaults()

    async def change(
        self, guild_id: int, user_id: int, *, reset: bool = False, **changes: Any
    ) -> PersonalDefaults:
        """Set the given defaults (None leaves one as it is); `reset` forgets every one first.

        Raises InputError naming the option and its rule when a value is refused."""
        current = PersonalDefaults() if reset else await self.get(guild_id, user_id)
        given = {k: v for k, v in changes.items() if v is not None}
        try:
            updated = PersonalDefaults.model_validate(current.model_dump() | given)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise InputError.one(where, str(problem["msg"]).removeprefix("Value error, ")) from None
        await self.store.save(guild_id, user_id, updated.model_dump_json())
        return updated
