"""Links members can open: jump links to messages, and whether a video's URL is one of them.

The local Pika serves its videos on the bot's own machine (127.0.0.1): a member's browser
cannot open such a link, so it is never shown; the video is uploaded, or described instead.
Nor is a link longer than Discord takes in an embed: Pika's result URLs carry the prompt, and
a prompt in Japanese or Greek is nine characters a letter once percent-encoded.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
LINK_MAX = 2048  # Discord's longest URL in an embed (its link, its image); a longer one is refused
# What a URL keeps as it is in a message: everything but what ends or starts markdown (the
# brackets and parentheses of a masked link, angle brackets, spaces, backslashes, backticks).
URL_KEEPS = "%:/?#@!$&'*+,;=~"


def reachable(url: str | None) -> bool:
    """Whether a member's browser could open `url`: http(s), and not on a loopback, private,
    link-local or unspecified address, nor a name for this machine."""
    if not url:
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a public name; the checks above caught the local ones
    return address.is_global


def linkable(url: str | None) -> bool:
    """Whether `url` can be shown to members as a link: one they can open, and one Discord
    takes in an embed."""
    return url is not None and len(shown_url(url)) <= LINK_MAX and reachable(url)


def jump_url(guild_id: int | None, channel_id: int, message_id: int) -> str:
    """The link that opens a message in Discord."""
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


def shown_url(url: str) -> str:
    """A video's URL as it goes into a message (a masked link's target, or plain): Pika names
    a result after its prompt, so a member's prompt could close our link and open its own."""
    return quote(url, safe=URL_KEEPS)
