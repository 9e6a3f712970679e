"""Wake-ups between the processes that share one database: a job made due, settings changed.

A process that receives Pika's push for a job another process holds records it in the job's row
and wakes the holder (`JobDue`); a process that changes a server's settings or a member's
defaults tells the others to forget their cached copy (`SettingsChanged`). `Wakeups` is how:

- `LocalWakeups`, within one process: on SQLite (one process, or several on one file);
- `RelayedWakeups`, over a `Relay` that carries short texts to every process: PostgreSQL's
  LISTEN/NOTIFY (`bot/storage/notify.py`). `open_wakeups` picks by the database.

Without a relay, other processes still notice, only later: the holder reads a push recorded in
its job's row at its next lease renewal (`bot/jobs/holding.py`, every third of
JOB_LEASE_SECONDS), and cached settings are read again after their `CACHE_SECONDS`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.storage import Database
from bot.storage.notify import relay_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobDue:
    """A push for the job came: poll it now (and adopt the Pika job it names, if the job is
    listening for one)."""

    job_id: str
    pika_job_id: str | None = None


@dataclass(frozen=True)
class SettingsChanged:
    """A server's settings (`user_id` None) or a member's defaults in it changed."""

    guild_id: int
    user_id: int | None = None


Wakeup = JobDue | SettingsChanged
Handler = Callable[[Wakeup], None]


class Wakeups(Protocol):
    """Tells every process (this one too) of a wake-up."""

    def subscribe(self, handler: Handler) -> None:
        """Call `handler` with every wake-up, from this process or another."""

    async def publish(self, wakeup: Wakeup) -> None:
        """Tell every process."""

    async def close(self) -> None:
        """Stop hearing the other processes."""


class LocalWakeups:
    """Wake-ups within this process only."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> None:
        """Call `handler` with every wake-up."""
        self._handlers.append(handler)

    async def publish(self, wakeup: Wakeup) -> None:
        """Hand the wake-up to this process's handlers."""
        self.deliver(wakeup)

    def deliver(self, wakeup: Wakeup) -> None:
        """Call every handler; one that fails never stops the others."""
        for handler in self._handlers:
            try:
                handler(wakeup)
            except Exception:
                log.exception("Wake-up %s: a handler failed", wakeup)

    async def close(self) -> None:
        """Nothing to stop: no other process is heard."""


class Relay(Protocol):
    """Carries short texts to every process sharing the database (this one may hear its own)."""

    async def send(self, text: str) -> None:
        """Send `text` to every process."""

    def on_text(self, receive: Callable[[str], None]) -> None:
        """Call `receive` with every text heard."""

    async def close(self) -> None:
        """Stop sending and hearing."""


class RelayedWakeups(LocalWakeups):
    """Wake-ups to this process at once, and to the others over `relay`; `sender` (this
    process's lease id) lets a process skip its own wake-ups when the relay echoes them."""

    def __init__(self, relay: Relay, sender: str) -> None:
        super().__init__()
        self.relay = relay
        self.sender = sender
        relay.on_text(self._heard)

    async def publish(self, wakeup: Wakeup) -> None:
        """Hand the wake-up to this process's handlers, then to the other processes; a relay
        that fails is logged (the others notice later, see the module's docstring)."""
        self.deliver(wakeup)
        try:
            await self.relay.send(encode(self.sender, wakeup))
        except Exception as exc:
            log.warning("Could not tell the other processes of %s: %s", wakeup, exc)

    async def close(self) -> None:
        """Close the relay."""
        await self.relay.close()

    def _heard(self, text: str) -> None:
        decoded = decode(text)
        if decoded is None:
            log.warning("Ignoring a wake-up that cannot be read")
            return
        sender, wakeup = decoded
        if sender != self.sender:
            self.deliver(wakeup)


async def open_wakeups(database: Database, sender: str) -> Wakeups:
    """The wake-ups of the process `sender` (its leases' id) on `database`: relayed to the
    other processes at once on PostgreSQL (LISTEN/NOTIFY, listening from here on), within this
    process on SQLite."""
    relay = relay_for(database)
    if relay is None:
        return LocalWakeups()
    wakeups = RelayedWakeups(relay, sender)
    if await relay.start():
        log.info("Wake-ups to and from the other processes over PostgreSQL's LISTEN/NOTIFY")
    return wakeups


def encode(sender: str, wakeup: Wakeup) -> str:
    """A wake-up as a short text (a JSON object), for a relay."""
    data: dict[str, Any] = {"from": sender}
    if isinstance(wakeup, JobDue):
        data |= {"job": wakeup.job_id, "pika": wakeup.pika_job_id}
    else:
        data |= {"guild": wakeup.guild_id, "user": wakeup.user_id}
    return json.dumps(data, separators=(",", ":"))


def decode(text: str) -> tuple[str, Wakeup] | None:
    """The sender and wake-up of a text `encode` made; None for anything else."""
    try:
        data = json.loads(text)
        sender = str(data["from"])
        if "job" in data:
            pika = data.get("pika")
            return sender, JobDue(str(data["job"]), None if pika is None else str(pika))
        user = data.get("user")
        return sender, SettingsChanged(int(data["guild"]), None if user is None else int(user))
    except (ValueError, KeyError, TypeError):
        return None
