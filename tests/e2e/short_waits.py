"""`python -m tests.e2e.short_waits`: the bot exactly as `python -m bot` runs it, except for the
fixed waits named in E2E_SHORT_WAITS (`GUILD_READY_SECONDS=0.5 FIRST_ANSWER_SECONDS=5`), which
it sets in the bot's process before the bot starts.

Every bot the harness starts runs so, ready sooner (GUILD_READY_SECONDS: discord.py's wait for
more guilds). A test marked `short_waits(...)` (harness.py) cuts more: it proves that the bot
gives up on a Discord call that never ends (one rate-limited for an hour, which discord.py
would wait out), or edits progress only so often, without waiting out the bot's real 10 to 60
seconds. They are module constants: no setting a server owner could see or set shortens them.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from bot.app import PikaBot
from bot.process import main

ENV = "E2E_SHORT_WAITS"
GUILD_READY = "GUILD_READY_SECONDS"  # discord.py's wait for more guilds before READY
# Each wait a test may shorten, and the module that holds it. The bot reads each one when it
# waits (or, for `cogs.controls`, which imports FIRST_ANSWER_SECONDS by name, when the bot loads
# that extension, after this has run): a value set here is the one it uses.
WAITS = {
    "FIRST_ANSWER_SECONDS": "cogs.options",
    "HELD_ANSWER_SECONDS": "cogs.options",
    "CHORE_SECONDS": "bot.discord.lanes",
    "PROGRESS_EDIT_SECONDS": "bot.jobs.polls",
    "NOT_FOUND_SECONDS": "bot.jobs.polls",
}


def guild_ready(seconds: float) -> None:
    """discord.py waits `guild_ready_timeout` (2 s by default) after the last GUILD_CREATE
    before it dispatches READY, for more that never come: the fake Discord sends every guild
    of a session at once, right after READY. The bot's client is made with it cut."""
    made = PikaBot.__init__

    def init(self: PikaBot, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        self._connection.guild_ready_timeout = seconds

    setattr(PikaBot, "__init__", init)  # noqa: B010 - a method replaced on purpose


def shorten(spec: str) -> None:
    """Set each `NAME=seconds` of `spec` in its module; an unknown name, or one its module no
    longer holds, fails the start (a test would otherwise wait out the real value unawares)."""
    for item in spec.split():
        name, _, seconds = item.partition("=")
        if name == GUILD_READY:
            guild_ready(float(seconds))
            continue
        module = importlib.import_module(WAITS[name])
        if not isinstance(getattr(module, name, None), float):
            raise SystemExit(f"{WAITS[name]} has no wait {name} to shorten")
        setattr(module, name, float(seconds))


if __name__ == "__main__":
    shorten(os.environ.get(ENV, ""))
    sys.exit(main())
