"""The job stack without Discord, for the unit tests: real SQLite, the real client, and the
local Pika over HTTP; Discord is a recorder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.app import share_settings
from bot.config import Settings
from bot.guardrails import Guardrails, ServerSettings
from bot.jobs.ledger import Ledger
from bot.jobs.service import JobService, Origin
from bot.jobs.tracker import Tracker
from bot.jobs.wakeups import Wakeups, open_wakeups
from bot.jobs.webhook import WebhookReceiver
from bot.ops.metrics import Metrics
from bot.ops.server import HttpServer
from bot.pika.client import PikaClient
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.models import PikaRequestModel
from bot.preferences import Preferences
from bot.storage import Hold, Job, JobStore, Storage, open_storage
from bot.submit import Submissions
from tests.helpers.clock import Clock
from tests.helpers.requests import fox

ORIGIN = Origin(guild_id=1, channel_id=2, user_id=3)


class Recorder:
    """A Notifier that records what the tracker asked of Discord."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.adorned: list[str] = []
        self.failures: list[str] = []
        self.undeliverable: list[str] = []
        self.holds_resolved: list[int] = []
        self.shown: list[int] = []
        self.fail_with: Exception | None = None
        self.tell_fails_with: Exception | None = None  # raised by every telling of a failure
        self.told_attempts: list[int] = []  # `delivery_attempts` of each telling, as recorded
        self.looked: list[str] = []
        self.posted_before: int | None = None
        self.hold: asyncio.Event | None = None  # set: every delivery waits for it
        self.may_post: Callable[[], bool] = lambda: True  # the tracker sets its own

    def progress(self, job: Job) -> None:
        self.shown.append(job.progress)

    async def deliver(self, job: Job) -> int:
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_with is not None:
            raise self.fail_with
        self.delivered.append(job.id)
        return 4242

    async def find_posted(self, job: Job) -> int | None:
        self.looked.append(job.id)
        return self.posted_before

    async def adorn(self, job: Job) -> None:
        self.adorned.append(job.id)

    async def tell_failure(self, job: Job) -> None:
        self.told_attempts.append(job.delivery_attempts)
        if self.tell_fails_with is not None:
            raise self.tell_fails_with
        self.failures.append(f"{job.status.value}: {job.failure}: {job.last_error}")

    async def tell_undeliverable(self, job: Job) -> None:
        self.undeliverable.append(job.id)

    async def resolve_hold(self, hold: Hold) -> None:
        self.holds_resolved.append(hold.interaction_id)


@dataclass
class Stack:
    """The bot's job stack, wired as `PikaBot.setup_hook` wires it."""

    storage: Storage
    service: JobService
    tracker: Tracker
    notifier: Recorder
    clock: Clock
    settings: ServerSettings
    guardrails: Guardrails
    submissions: Submissions
    pika: PikaClient
    ledger: Ledger
    path: Path  # the SQLite file, or where the ledger is kept beside the database's name
    database_url: str | None  # the database, when it is not the SQLite file at `path`
    wakeups: Wakeups
    preferences: Preferences

    @property
    def store(self) -> JobStore:
        """The job store."""
        return self.storage.jobs

    async def settle(self) -> None:
        """Let the tracker do everything due by the clock's time, until nothing is."""
        while self.tracker.tick() or self.tracker._tasks:
            await self.tracker.idle()
        await self.tracker.flush()


@pytest.fixture
async def local() -> AsyncIterator[LocalPika]:
    async with running_local_pika(job_seconds=0, api_key="k") as pika:
        yield pika


async def make_stack(
    path: Path,
    base_url: str,
    clock: Clock | None = None,
    database_url: str | None = None,
    **settings: object,
) -> AsyncIterator[Stack]:
    """Open a stack on a database file (or the database at `database_url`, its ledger still
    beside `path`); close it when the iteration ends."""
    clock = clock or Clock()
    storage = await open_storage(database_url or path, clock)
    values: dict[str, object] = {"poll_interval_seconds": 1, "job_timeout_minutes": 10}
    config = Settings(**(values | settings))  # type: ignore[arg-type]
    async with PikaClient("k", base_url, backoff_base=0.01) as pika:
        base = path.with_name(f"{path.stem}-accepted.jsonl")
        ledger = Ledger.of_process(base, storage.jobs.leases.owner)
        service = JobService(storage.jobs, pika, config, ledger)
        notifier = Recorder()
        # As the bot wires them: relayed to the other processes on PostgreSQL.
        wakeups = await open_wakeups(storage.database, storage.jobs.leases.owner)
        tracker = Tracker(storage.jobs, pika, service, notifier, config, wakeups=wakeups)
        service.follow = tracker.follow
        rules = ServerSettings(storage.guild_settings)
        guardrails = Guardrails(storage.jobs, rules)
        preferences = Preferences(storage.member_settings)
        share_settings(wakeups, rules, preferences)
        submissions = Submissions(storage.jobs, rules, guardrails, service, preferences=preferences)
        yield Stack(
            storage,
            service,
            tracker,
            notifier,
            clock,
            rules,
            guardrails,
            submissions,
            pika,
            ledger,
            path,
            database_url,
            wakeups,
            preferences,
        )
        await wakeups.close()
    await storage.close()


@pytest.fixture
async def stack(local: LocalPika, tmp_path: Path) -> AsyncIterator[Stack]:
    async for built in make_stack(tmp_path / "jobs.sqlite3", local.base_url):
        yield built


@pytest.fixture
async def other(stack: Stack, local: LocalPika) -> AsyncIterator[Stack]:
    """A second bot process on the same database and clock: its own connections, leases
    (`claimed_by`), ledger, tracker and Discord recorder."""
    async for built in make_stack(stack.path, local.base_url, stack.clock, stack.database_url):
        yield built


async def push_to(stack: Stack, job: Job, body: object) -> int:
    """Pika's push for `job`, received by `stack`'s process over HTTP."""
    server = HttpServer("127.0.0.1", 0, metrics=Metrics(), ready_checks=no_checks, push=True)
    server.webhook = WebhookReceiver(stack.store, stack.tracker).push
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.post(f"/pika/webhook/{job.webhook_secret}", json=body)
    finally:
        await server.stop()
    return response.status_code


async def no_checks() -> dict[str, str]:
    return {}


def past_the_lease(stack: Stack) -> None:
    """Move the clock past the end of every lease taken until now."""
    stack.clock.now += stack.store.leases.seconds + 1


async def rendered(local: LocalPika, job: Job) -> Job:
    """Wait until the local Pika has finished the job's video."""
    await asyncio.wait_for(local.jobs[job.pika_job_id or ""].done.wait(), 30)
    return job


def calls(local: LocalPika) -> list[str]:
    """The paths of every API call the local Pika received."""
    return [str(r["path"]) for r in local.requests]


async def sent(
    stack: Stack, request: PikaRequestModel | None = None, kind: str = "generate"
) -> Job:
    """A job written, answered and sent to Pika, as a member's command makes one."""
    job = await stack.service.create(kind, request or fox(), ORIGIN)
    return await stack.service.start(job.id, status_message_id=555)
