"""`python -m bot.healthcheck`: exit 0 when the bot's /healthz answers on HTTP_LISTEN, 1 when it
does not (the container's HEALTHCHECK; curl is not in a slim image)."""

from __future__ import annotations

import sys

import httpx

from bot.config import ConfigError, load_settings

TIMEOUT_SECONDS = 5.0
# Listening on every address: ask on loopback (compared here, never bound).
ANY_ADDRESS = ("", "0.0.0.0", "::")  # noqa: S104


def main() -> int:
    """Ask /healthz once; say why in one line when it does not answer."""
    try:
        host, port = load_settings().http_host_port
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 1
    host = "127.0.0.1" if host in ANY_ADDRESS else host
    url = f"http://[{host}]:{port}/healthz" if ":" in host else f"http://{host}:{port}/healthz"
    try:
        # Never through a proxy of the environment (one set for the bot's calls out): this is
        # the bot's own port, on this machine.
        response = httpx.get(url, timeout=TIMEOUT_SECONDS, trust_env=False)
    except httpx.HTTPError as exc:
        print(f"{url} did not answer: {type(exc).__name__}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"{url} answered HTTP {response.status_code}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
