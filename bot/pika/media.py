"""Which media a Pika input accepts, judged by URL path or by a known content type."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from urllib.parse import SplitResult, urlsplit

from bot.pika.rules import broken


class MediaKind(StrEnum):
    """The three kinds of media Pika takes as input."""

    IMAGE = "image"
    VIDEO = "video"
    SPEECH = "speech"


EXTENSIONS: dict[MediaKind, frozenset[str]] = {
    MediaKind.IMAGE: frozenset({".png", ".jpeg", ".jpg", ".webp", ".gif"}),
    MediaKind.VIDEO: frozenset({".mp4"}),
    MediaKind.SPEECH: frozenset({".wav"}),
}

CONTENT_TYPES: dict[MediaKind, frozenset[str]] = {
    MediaKind.IMAGE: frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"}),
    MediaKind.VIDEO: frozenset({"video/mp4"}),
    MediaKind.SPEECH: frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}),
}

RULES: dict[MediaKind, str] = {
    MediaKind.IMAGE: "must be a .png, .jpeg, .jpg, .webp or .gif image",
    MediaKind.VIDEO: "must be an .mp4 video",
    MediaKind.SPEECH: "must be a .wav audio file",
}

MAX_URL_LENGTH = 2048
CREDENTIALS_RULE = "must not carry a user name or password (Pika would get them with the link)"


@dataclass(frozen=True)
class MediaFacts:
    """What the caller knows about media URLs beyond the URL itself.

    Passed to request validation as pydantic context: Discord tells us an attachment's content
    type, and the job store knows the length of videos it produced.
    """

    content_types: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)


def extension_of(url: str) -> str:
    """The lower-cased extension of the URL's path, query and fragment ignored."""
    return PurePosixPath(urlsplit(url).path).suffix.lower()


def _split(url: str) -> SplitResult:
    """The URL's parts; an unclosed `[` (`http://[::1/x.png`) makes Python raise "Invalid IPv6
    URL", which members would read in English as the rule: it is no http(s) URL."""
    try:
        return urlsplit(url)
    except ValueError:
        raise broken("rule.url_scheme", "must be an http:// or https:// URL") from None


def check_media_url(url: str, kind: MediaKind, facts: MediaFacts | None = None) -> str:
    """Return the URL if it is an http(s) URL of the right kind of media; else raise the broken
    rule (a ValueError)."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise broken(
            "rule.url_too_long", "must be a URL of at most {limit} characters", limit=MAX_URL_LENGTH
        )
    parts = _split(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise broken("rule.url_scheme", "must be an http:// or https:// URL")
    if "@" in parts.netloc:
        # A password in a link goes with it to Pika and into the job's row; and in
        # `https://cdn.example.com@other.example/` the host is the name after the `@`.
        raise broken("rule.url_credentials", CREDENTIALS_RULE)
    if extension_of(url) in EXTENSIONS[kind]:
        return url
    content_type = (facts.content_types.get(url, "") if facts else "").split(";")[0].strip()
    if content_type.lower() in CONTENT_TYPES[kind]:
        return url
    raise broken(f"rule.url.{kind.value}", RULES[kind])


# Where Pika's results are (its result URLs, `https://cdn.pika.art/v1/<uuid>/<name>.mp4`).
PIKA_RESULT_HOSTS = frozenset({"cdn.pika.art"})


def pika_result_url(url: str) -> bool:
    """Whether `url` is one of Pika's result URLs (a video the Pika Web Bot made)."""
    try:
        parts = _split(url)
    except ValueError:
        return False
    return parts.scheme == "https" and (parts.hostname or "") in PIKA_RESULT_HOSTS


def check_http_url(url: str) -> str:
    """Return the URL when it is an absolute http(s) URL, else raise the broken rule."""
    parts = _split(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_URL_LENGTH:
        raise broken("rule.url_scheme", "must be an http:// or https:// URL")
    return url.strip()
