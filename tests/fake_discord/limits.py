"""Discord's rate limits, as the fake enforces them when a test turns them on.

The limits that shape a bot posting results, from Discord's documentation and what bots observe:
- messages posted in a channel: 5 per 5 s, per channel;
- messages edited with the bot's token: 5 per 5 s, per channel;
- reactions added or removed: 1 per 0.25 s, per channel;
- an interaction's webhook (its answer's edits, follow-ups): 5 per 5 s, per interaction token;
- every request with the bot's token: 50 per second in all. Interaction callbacks and
  interaction webhooks are not bound by this global limit.

Each bucket counts in fixed windows that start with its first request, as Discord's do. Every
answer in a bucket carries Discord's headers (`X-RateLimit-Limit`, `-Remaining`, `-Reset`,
`-Reset-After`, `-Bucket`), which discord.py reads to wait before it is refused; a request
over a limit is refused with 429, `Retry-After`, the JSON `retry_after` and `global`, and the
scope. Refusals are kept, so a test or a benchmark can say whether any request was refused
twice in a row.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass, field

# (methods, path whose first group is the major parameter, bucket name, limit, window seconds)
ROUTES: list[tuple[str, re.Pattern[str], str, int, float]] = [
    ("POST", re.compile(r"^/channels/(\d+)/messages$"), "messages", 5, 5.0),
    ("PATCH|DELETE", re.compile(r"^/channels/(\d+)/messages/\d+$"), "edits", 5, 5.0),
    ("PUT|DELETE", re.compile(r"^/channels/(\d+)/messages/\d+/reactions/"), "reactions", 1, 0.25),
    ("POST|PATCH|GET|DELETE", re.compile(r"^/webhooks/\d+/([^/]+)"), "webhook", 5, 5.0),
]
GLOBAL_LIMIT, GLOBAL_WINDOW = 50, 1.0
EXEMPT_FROM_GLOBAL = re.compile(r"^/(interactions|webhooks)/")


@dataclass
class Window:
    """One bucket's count in its current window."""

    limit: int
    seconds: float
    remaining: int = 0
    resets_at: float = 0.0

    def take(self, now: float) -> bool:
        """Count one request; False when the window has none left."""
        if now >= self.resets_at:
            self.remaining, self.resets_at = self.limit, now + self.seconds
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass(frozen=True)
class Verdict:
    """What the limits say about one request: its headers, and whether it is refused."""

    headers: dict[str, str]
    refused: bool = False
    retry_after: float = 0.0
    is_global: bool = False
    key: str = ""


@dataclass
class RateLimits:
    """Every bucket's window, and the log of refusals."""

    enabled: bool = False
    windows: dict[str, Window] = field(default_factory=dict)
    refusals: list[tuple[float, str]] = field(default_factory=list)
    last_refused: dict[str, bool] = field(default_factory=dict)
    refused_twice: int = 0  # requests refused right after a refusal in the same bucket

    def check(self, method: str, path: str) -> Verdict | None:
        """The verdict on a request; None when limits are off or the request is in no bucket."""
        if not self.enabled:
            return None
        now = time.monotonic()
        verdict: Verdict | None = None
        for methods, pattern, name, limit, seconds in ROUTES:
            found = pattern.match(path)
            if found and re.fullmatch(methods, method):
                key = f"{name}:{found[1]}"
                window = self.windows.setdefault(key, Window(limit, seconds))
                allowed = window.take(now)
                verdict = Verdict(
                    _headers(name, window, now), not allowed, window.resets_at - now, key=key
                )
                break
        if not EXEMPT_FROM_GLOBAL.match(path):
            window = self.windows.setdefault("global", Window(GLOBAL_LIMIT, GLOBAL_WINDOW))
            if not window.take(now):
                verdict = Verdict({}, True, window.resets_at - now, is_global=True, key="global")
        if verdict is not None:
            self._remember(verdict, now)
        return verdict

    def _remember(self, verdict: Verdict, now: float) -> None:
        if verdict.refused:
            self.refusals.append((now, verdict.key))
            if self.last_refused.get(verdict.key):
                self.refused_twice += 1
        self.last_refused[verdict.key] = verdict.refused


def _headers(name: str, window: Window, now: float) -> dict[str, str]:
    # In whole milliseconds, rounded up as Discord does: a client that waits this long finds
    # the window reset.
    reset_after = math.ceil(max(0.0, window.resets_at - now) * 1000) / 1000
    return {
        "X-RateLimit-Limit": str(window.limit),
        "X-RateLimit-Remaining": str(window.remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": hashlib.blake2s(name.encode(), digest_size=8).hexdigest(),
    }


def refusal_headers(verdict: Verdict) -> dict[str, str]:
    """The headers of a 429 for `verdict`."""
    headers = dict(verdict.headers)
    headers |= {
        "Retry-After": str(math.ceil(verdict.retry_after)),
        "X-RateLimit-Scope": "global" if verdict.is_global else "user",
        "Via": "1.1 google",  # discord.py takes a 429 without it for a Cloudflare ban
    }
    if verdict.is_global:
        headers["X-RateLimit-Global"] = "true"
    return headers
