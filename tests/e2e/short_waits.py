"""`python -m tests.e2e.short_waits`: the bot exactly as `python -m bot` runs it, except for the
fixed waits named in E2E_SHORT_WAITS (`FIRST_ANSWER_SECONDS=5 CHORE_SECONDS=5`), which it sets
in the bot's process before the bot starts.

A test marked `short_waits(...)` (harness.py) runs its bot so: it proves that the bot gives up
on a Discord call that never ends (one rate-limited for an hour, which discord.py would wait
out), or edits progress only so often, without waiting out the bot's real 10 to 60 seconds.
They are module constants: no setting a server owner could see or set shortens them.
"""

from __future__ import annotations

import importlib
import os
import sys

from bot.process import main

ENV = "E2E_SHORT_WAITS"
# Each wait a test may shorten, and the module that holds it. The bot reads each one when it
# waits (or, for `cogs.controls`, which imports FIRST_ANSWER_SECONDS by name, when the bot loads
# that extension, after this has run): a value set here is the one it uses.
WAITS = {
    "FIRST_ANSWER_SECONDS": "cogs.options",
    "HELD_ANSWER_SECONDS": "cogs.options",
    "CHORE_SECONDS": "bot.discord.lanes",
    "PROGRESS_EDIT_SECONDS": "bot.jobs.polls",
}


def shorten(spec: str) -> None:
    """Set each `NAME=seconds` of `spec` in its module; an unknown name, or one its module no
    longer holds, fails the start (a test would otherwise wait out the real value unawares)."""
    for item in spec.split():
        name, _, seconds = item.partition("=")
        module = importlib.import_module(WAITS[name])
        if not isinstance(getattr(module, name, None), float):
            raise SystemExit(f"{WAITS[name]} has no wait {name} to shorten")
        setattr(module, name, float(seconds))


if __name__ == "__main__":
    shorten(os.environ.get(ENV, ""))
    sys.exit(main())
