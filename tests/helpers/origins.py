"""The test servers a bot or a local Pika may fetch from: they all live on 127.0.0.1, which the
safe fetcher refuses unless a host:port is allowed by name (ALLOWED_PRIVATE_HOSTS)."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.safe_fetch import AllowedHost


def origin_of(url: str) -> AllowedHost:
    """The host:port a base URL names, as an allowed private host."""
    parts = urlsplit(url)
    return AllowedHost(parts.hostname or "", parts.port)


def allowed_hosts_setting(*urls: str) -> str:
    """ALLOWED_PRIVATE_HOSTS for exactly these servers."""
    return ",".join(f"{o.host}:{o.port}" for o in map(origin_of, urls))
