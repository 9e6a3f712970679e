"""Member input -> validated Pika request, with every problem named after the command option.

Cogs collect option values and attachments; this module pairs each media option with its
`_url` twin, checks attachments' kinds, builds the vendor body (taking a known result's prompt
and options as defaults), and validates it with the Pika models. Nothing here talks to Discord
or Pika, so every rule is testable with plain values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.jobs.service import KINDS
from bot.jobs.store import Job
from bot.pika.errors import InvalidRequest
from bot.pika.media import CONTENT_TYPES, EXTENSIONS, RULES, MediaFacts, MediaKind, extension_of
from bot.pika.models import PikaRequestModel

DEFAULT_OPTIONS: dict[str, Any] = {
    "aspect_ratio": "16:9", "frame_rate": 24, "motion": 1, "guidance_scale": 12,
}  # fmt: skip

# Vendor field -> the command option a member typed.
OPTION_NAMES: dict[str, str] = {
    "promptText": "prompt", "swapPrompt": "swap_prompt", "pikaffect": "effect",
    "ingredientsMode": "mode", "speechStart": "speech_start", "speechEnd": "speech_end",
    "options.aspectRatio": "aspect_ratio", "options.frameRate": "frame_rate",
    "options.parameters.motion": "motion", "options.parameters.guidanceScale": "guidance_scale",
    "options.parameters.negativePrompt": "negative_prompt", "options.parameters.seed": "seed",
    "options.camera.zoom": "zoom", "options.camera.pan": "pan", "options.camera.tilt": "tilt",
    "options.camera.rotate": "rotate", "area.x": "x", "area.y": "y", "area.width": "width",
    "area.height": "height", "area": "x, y, width, height",
}  # fmt: skip


class InputError(ValueError):
    """Bad input; each line names an option and its rule."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Media:
    """A media input: an attachment's URL with what Discord says of it, or a typed URL."""

    url: str
    filename: str | None = None
    content_type: str | None = None


def option_name(field: str) -> str:
    """The option a vendor field came from."""
    if field in OPTION_NAMES:
        return OPTION_NAMES[field]
    match = re.fullmatch(r"ingredients\[(\d)\]", field)
    if match:
        return f"ingredient_{int(match[1]) + 1}"
    return field.removeprefix("options.")


def pick(
    name: str, kind: MediaKind, attachment: Media | None, url: str | None, *, required: bool
) -> Media | None:
    """One of an attachment option and its `_url` twin; check the attachment's kind."""
    url = url.strip() if url else None
    if attachment is not None and url:
        raise InputError([f"{name}: give either `{name}` or `{name}_url`, not both"])
    if attachment is None and not url:
        if required:
            raise InputError([f"{name}: attach a file as `{name}` or give `{name}_url`"])
        return None
    if attachment is None:
        assert url is not None
        return Media(url)
    extension = extension_of(attachment.filename or attachment.url)
    content_type = (attachment.content_type or "").split(";")[0].strip().lower()
    if extension not in EXTENSIONS[kind] or (
        content_type and content_type not in CONTENT_TYPES[kind]
    ):
        raise InputError([f"{name}: {RULES[kind]} (got {attachment.filename or 'a file'})"])
    return attachment


def facts_for(*media: Media | None, parent: Job | None = None) -> MediaFacts:
    """What is known about the inputs: attachments' content types, a known result's length."""
    types = {m.url: m.content_type for m in media if m is not None and m.content_type}
    durations = (
        {parent.result_url: parent.duration}
        if parent and parent.result_url and parent.duration
        else {}
    )
    return MediaFacts(content_types=types, durations=durations)


def options_body(
    values: dict[str, Any],
    base: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The vendor `options`, in layers: built-in defaults < the server's defaults < `base`
    (a known result's vendor options) < the member's own values. Unset values never hide a
    lower layer."""
    merged = dict(DEFAULT_OPTIONS)
    for layer in (server or {}, _option_values(base or {}), values):
        merged |= {k: v for k, v in layer.items() if v is not None}
    parameters: dict[str, Any] = {
        "guidanceScale": merged.get("guidance_scale"), "motion": merged.get("motion"),
        "negativePrompt": merged.get("negative_prompt") or "", "seed": merged.get("seed"),
    }  # fmt: skip
    return {
        "aspectRatio": merged.get("aspect_ratio"), "frameRate": merged.get("frame_rate"),
        "camera": {k: merged.get(k) for k in ("rotate", "zoom", "tilt", "pan")},
        "parameters": parameters, "extend": False,
    }  # fmt: skip


def _option_values(options: dict[str, Any]) -> dict[str, Any]:
    """Vendor options as command option values."""
    parameters = options.get("parameters") or {}
    camera = options.get("camera") or {}
    return {
        "aspect_ratio": options.get("aspectRatio"), "frame_rate": options.get("frameRate"),
        "motion": parameters.get("motion"), "guidance_scale": parameters.get("guidanceScale"),
        "negative_prompt": parameters.get("negativePrompt"), "seed": parameters.get("seed"),
        **{k: camera.get(k) for k in ("zoom", "pan", "tilt", "rotate")},
    }  # fmt: skip


def build(kind: str, body: dict[str, Any], facts: MediaFacts | None = None) -> PikaRequestModel:
    """Validate a vendor body for a kind of job; problems are named after command options."""
    clean = {k: v for k, v in body.items() if v is not None}
    try:
        return KINDS[kind](clean, facts)
    except InvalidRequest as exc:
        raise InputError(
            [f"{option_name(p.field)}: {_in_option_words(p.rule)}" for p in exc.problems]
        ) from None


_VENDOR_WORDS = re.compile(
    r"\b(" + "|".join(k for k in OPTION_NAMES if re.fullmatch(r"[A-Za-z]+", k)) + r")\b"
)


def _in_option_words(rule: str) -> str:
    """A rule's text with vendor field names replaced by option names."""
    return _VENDOR_WORDS.sub(lambda m: OPTION_NAMES[m[1]], rule)
