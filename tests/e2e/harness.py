"""Run `python -m bot` as users run it, configured only by settings, and watch its log; and the
steps end-to-end tests share: start a bot, ask for a video, find the results it posted."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.pika.local.app import LocalPika
from tests.e2e.short_waits import ENV as SHORT_WAITS_ENV
from tests.e2e.short_waits import GUILD_READY
from tests.fake_discord import FakeDiscord
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import ADMIN, APP_ID, GENERAL, GUILD_ID, REQUESTER, TOKEN, Message
from tests.helpers.origins import allowed_hosts_setting

ROOT = Path(__file__).resolve().parents[2]
# The bot's own settings; a developer's values for them never leak into a test's bot.
SETTINGS = frozenset(name.upper() for name in Settings.model_fields)


def bot_env(fake: FakeDiscord, workdir: Path, **settings: str) -> dict[str, str]:
    """The environment of a bot that talks to `fake`, with a database in `workdir` (or the one
    DATABASE_URL names, such as a test's `database.url`; its own files stay in `workdir`).

    The fake's attachment CDN and the Pika at PIKA_BASE_URL (a local Pika of the test) are on
    loopback: exactly those two are allowed as private hosts, unless a test says otherwise."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS}
    env |= {
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_GUILD_ID": str(GUILD_ID),
        "DISCORD_API_BASE_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'bot.sqlite3'}",
        "POLL_INTERVAL_SECONDS": "0.2",
        # A bot killed by a test has its jobs taken over (by its successor) within seconds.
        "JOB_LEASE_SECONDS": "3",
        "LOCAL_PIKA_PORT": "0",
        "HTTP_LISTEN": "127.0.0.1:0",  # many bots at once: each takes a free port, and logs it
        "LOG_LEVEL": "INFO",
    }
    served = [fake.base_url] + ([settings["PIKA_BASE_URL"]] if "PIKA_BASE_URL" in settings else [])
    env["ALLOWED_PRIVATE_HOSTS"] = allowed_hosts_setting(*served)
    return env | settings


# A test marked so runs twice: with the bot on a SQLite file, and on a PostgreSQL database.
# The `bot` fixture then runs on the test's `database`, which the mark sets up first (the test
# may take `database` too, to read it).
on_both_databases = pytest.mark.usefixtures("database")


def short_waits(**waits: float) -> pytest.MarkDecorator:
    """Mark a test whose `bot` fixture has these fixed waits (module constants named in
    tests/e2e/short_waits.py) cut to the seconds given, such as FIRST_ANSWER_SECONDS=5: the test
    proves the bot gives up on a stuck Discord call without waiting out the real 10 s."""
    return pytest.mark.short_waits(**waits)


# A test so marked has a `pika` fixture whose every job's video is one made once per worker
# (the local Pika's `prerendered`), linked at once: for tests about what the bot does with a
# video, not the video (an upscale, rendered at twice the size, took 7 s on a loaded machine,
# and more past the 20 s a test waits for a result).
prerendered_videos = pytest.mark.prerendered


# The bots the harness starts (the `bot` fixture, start_bot, start_sharded) are ready 1.5 s
# sooner: discord.py waits 2 s after the last GUILD_CREATE for more, and the fake sends them
# all at once. A test that starts `BotProcess` itself runs `python -m bot` as it is.
READY_SOONER = {GUILD_READY: 0.5}


def launch(waits: Mapping[str, float] | None = None) -> tuple[tuple[str, ...], dict[str, str]]:
    """The arguments and added environment of a bot of the harness, with READY_SOONER and
    `waits` shortened."""
    shortened = READY_SOONER | dict(waits or {})
    spec = " ".join(f"{name}={seconds:g}" for name, seconds in shortened.items())
    return ("-m", "tests.e2e.short_waits"), {SHORT_WAITS_ENV: spec}


LINE_LIMIT = 16 * 1024 * 1024  # the longest line of a bot's output the harness reads

# Every bot a test started and that has not ended; the e2e conftest kills what is left.
RUNNING: set[BotProcess] = set()
# Every bot the current test started, ended or not: the e2e conftest prints their logs.
STARTED: list[BotProcess] = []


class BotProcess:
    """A running `python -m bot` (or `args` in its place: a benchmark's launcher, or
    tests/e2e/short_waits.py), its output (stdout and stderr) kept line by line."""

    def __init__(self, env: dict[str, str], cwd: Path, args: Sequence[str] = ("-m", "bot")) -> None:
        self.env, self.cwd, self.args = env, cwd, tuple(args)
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the process; it runs until stopped."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.args,
            env=self.env,
            cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # At DEBUG discord.py logs the command sync's body in one line of over 64 KiB
            # (asyncio's default): the reader would stop, and the bot block on a full pipe.
            limit=LINE_LIMIT,
        )
        RUNNING.add(self)
        STARTED.append(self)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def log(self) -> str:
        """Everything the bot printed so far."""
        return "\n".join(self.lines)

    async def wait_for_log(self, pattern: str, timeout: float = 30.0) -> str:
        """Wait for a line matching `pattern` and return it."""
        regex = re.compile(pattern)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for line in self.lines:
                if regex.search(line):
                    return line
            if self.process is not None and self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r}; the bot said:\n{self.log}")

    async def http_url(self, timeout: float = 30.0) -> str:
        """Where the bot's HTTP server listens, from its start-up line."""
        line = await self.wait_for_log(r"HTTP server on http://", timeout)
        found = re.search(r"(http://[^ ]+)", line)
        assert found is not None
        return found[1]

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until discord.py dispatched READY to the bot (a minute: on a 2-core machine
        running other suites too, start-up alone has taken over 30 s)."""
        await self.wait_for_log(r"Ready as ", timeout)

    async def exit_code(self, timeout: float = 20.0) -> int:
        """Wait for the process to end by itself."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        RUNNING.discard(self)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the process and wait for it to end."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await self.exit_code(timeout)

    async def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash."""
        await self.stop(signal.SIGKILL)


async def start_bot(
    fake: FakeDiscord, pika: LocalPika, workdir: Path, **settings: str
) -> BotProcess:
    """A bot with a Pika key on `pika`, its database in `workdir` (or at DATABASE_URL), ready on
    `fake`; the test stops it (tests that restart the bot, or need settings the `bot` fixture
    lacks)."""
    args, launcher = launch()
    env = bot_env(fake, workdir, PIKA_API_KEY=pika.api_key, PIKA_BASE_URL=pika.base_url, **settings)
    bot = BotProcess(env | launcher, workdir, args)
    await bot.start()
    await bot.wait_ready()
    return bot


async def start_sharded(
    fake: FakeDiscord, pika: LocalPika, workdir: Path, **settings: str
) -> BotProcess:
    """A bot with a Pika key, its commands synced globally (no DISCORD_GUILD_ID) so that both
    guilds have them, ready on `fake`. A second shard identifies five seconds after the first,
    as Discord allows: it is given longer to be ready than a bot of one shard."""
    env = bot_env(fake, workdir, PIKA_API_KEY=pika.api_key, PIKA_BASE_URL=pika.base_url, **settings)
    args, launcher = launch()
    bot = BotProcess(env | {"DISCORD_GUILD_ID": ""} | launcher, workdir, args)
    await bot.start()
    await bot.wait_ready(timeout=60)
    return bot


async def until(check: Callable[[], Awaitable[object]], what: str, timeout: float = 20.0) -> None:
    """Wait until an asynchronous `check` (a read of the bot's database) is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def generate(
    fake: FakeDiscord, prompt: str, channel: int = GENERAL, user: int = REQUESTER
) -> Interaction:
    """The requester (or `user`, a member of the channel's guild) asks for a video with
    `/pika generate prompt:...`."""
    return fake.slash(user, channel, "pika", "generate", {"prompt": prompt})


def results(fake: FakeDiscord, channel: int = GENERAL) -> list[Message]:
    """The bot's result posts in a channel, oldest first."""
    return [m for m in fake.channel_messages(channel) if "your video is ready" in m.content]


def failures(fake: FakeDiscord, channel: int = GENERAL) -> list[Message]:
    """The bot's failure messages in a channel (a job that ended without a video), oldest
    first."""
    return [m for m in fake.channel_messages(channel) if m.content.startswith("❌")]


async def delivered(fake: FakeDiscord, prompt: str = "a fox") -> Message:
    """Ask for a video as the requester and wait for its result and the bot's reactions on it."""
    before = len(results(fake))
    await fake.wait_for_response(generate(fake, prompt))
    await fake.wait_for(lambda: len(results(fake)) > before, what="a result")
    result = results(fake)[-1]
    await fake.wait_for(lambda: len(result.reactions) == 3, what="the bot's reactions")
    return result


def button(result: Message, action: str) -> str:
    """The custom id of a result's button for `action` (extend, upscale, reroll, info)."""
    ids = [str(c["custom_id"]) for row in result.components for c in row["components"]]
    return next(i for i in ids if i.split(":")[1] == action)


def retry_button(message: Message) -> str:
    """The custom id of a failure message's Retry button."""
    ids = [str(c["custom_id"]) for row in message.components for c in row["components"]]
    return next(i for i in ids if i.startswith("pika:retry:"))


async def allow_running(fake: FakeDiscord, jobs: int) -> None:
    """The admin lets each member run `jobs` jobs at once."""
    answer = fake.slash(ADMIN, GENERAL, "pika-admin", "limits", {"running": jobs})
    assert (await fake.wait_for_response(answer))["data"]["content"].startswith("✅")


DEFERRED, LOADING = 5, 128


async def private_answer(fake: FakeDiscord, interaction: Interaction) -> str:
    """The text of a private answer: sent at once, or put in place of a private "thinking"
    acknowledgement (after the bot probed the member's files). Fails if it is public."""
    callback = await fake.wait_for_response(interaction)
    assert (callback["data"].get("flags") or 0) & 64, callback
    if callback["type"] != DEFERRED:
        return str(callback["data"]["content"])
    await fake.wait_for(
        lambda: (
            interaction.original_id is not None
            and not fake.messages[interaction.original_id].flags & LOADING
        ),
        timeout=40,
        what="the private answer after probing",
    )
    assert interaction.original_id is not None
    return fake.messages[interaction.original_id].content


async def public_answer(fake: FakeDiscord, interaction: Interaction) -> Message:
    """The public "working on it" message of a request: the answer itself, or, after a private
    acknowledgement while the files were probed, a follow-up."""
    callback = await fake.wait_for_response(interaction)
    if callback["type"] != DEFERRED:
        assert not (callback["data"].get("flags") or 0) & 64, callback
        assert interaction.original_id is not None
        return fake.messages[interaction.original_id]
    await fake.wait_for(lambda: interaction.followups, timeout=40, what="the public message")
    message = fake.messages[interaction.followups[0]]
    assert not message.ephemeral, message
    return message


async def admin(
    fake: FakeDiscord, sub: str, options: dict[str, Any] | None = None, user: int = ADMIN
) -> str:
    """Use `/pika-admin <sub>` (as the admin unless `user` is given); return the private answer."""
    callback = await fake.wait_for_response(fake.slash(user, GENERAL, "pika-admin", sub, options))
    assert callback["data"]["flags"] == 64
    return str(callback["data"]["content"])


def transcript(fake: FakeDiscord, channel: int = GENERAL) -> list[str]:
    """What members of a channel saw the bot do, in order: each public post (text, embed and
    buttons), edit and removal, as one line each, from the requests the bot made (edits through
    an interaction's webhook are counted for every channel: tests use them in one)."""
    lines: list[str] = []
    for request in fake.requests:
        body = request.body if isinstance(request.body, dict) else {}
        if request.status >= 300:
            continue
        if request.method == "POST" and request.path.endswith("/callback"):
            data = body.get("data") or {}
            if body.get("type") == 4 and not (data.get("flags") or 0) & 64:
                lines.append(f"posts: {_shown(data)}")
        elif request.method == "POST" and (
            request.path == f"/channels/{channel}/messages"
            or re.fullmatch(r"/webhooks/\d+/[^/]+", request.path)  # a follow-up
        ):
            lines.append(f"posts: {_shown(body)}")
        elif request.method == "PATCH" and (
            request.path.startswith(f"/channels/{channel}/")
            or request.path.startswith("/webhooks/")  # an answer edited by its interaction
        ):
            lines.append(f"edits it: {_shown(body)}")
        elif request.method == "DELETE" and (
            re.fullmatch(rf"/channels/{channel}/messages/\d+", request.path)
            or re.fullmatch(r"/webhooks/\d+/[^/]+/messages/\d+", request.path)
        ):
            lines.append("removes the working message")
    return lines


def _shown(body: dict[str, Any]) -> str:
    """A message body as a member sees it, on one line."""
    parts = [str(body.get("content") or "")]
    for embed in body.get("embeds") or []:
        parts.append(f"[embed: {embed.get('title', '')}]")
        if embed.get("description"):
            parts.append(str(embed["description"]))
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields") or []]
        if embed.get("footer"):
            parts.append(str(embed["footer"].get("text")))
    labels = [c.get("label") for row in body.get("components") or [] for c in row["components"]]
    if labels:
        parts.append("[buttons: " + " | ".join(str(label) for label in labels) + "]")
    if body.get("attachments"):
        parts.append("[" + ", ".join(a.get("filename", "") for a in body["attachments"]) + "]")
    return " ".join(p for p in parts if p).replace("\n", " / ")


def notes_to(fake: FakeDiscord, user: int, channel: int = GENERAL) -> list[Message]:
    """The bot's explanations in a channel of reactions by `user` that started nothing."""
    return [
        m
        for m in fake.channel_messages(channel)
        if m.author_id == APP_ID and m.content.startswith(f"<@{user}> ") and not m.embeds
    ]
