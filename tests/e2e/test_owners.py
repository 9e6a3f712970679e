"""What owners see, end to end: start-up that explains itself, health and metrics, the status
view and the audit, and a job's life in the log."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import HOW_TO_GET_A_BOT_KEY
from bot.pika.local.app import LocalPika
from tests.e2e.harness import ROOT, BotProcess, bot_env, delivered, failures, generate, start_bot
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import ADMIN, GENERAL, GUILD_ID, MEMBER, REQUESTER, Message
from tests.helpers.local_pika import behave, pika_calls
from tests.helpers.ports import reserved_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(url)


async def scrape(bot: BotProcess) -> Samples:
    """Every sample of the bot's /metrics, by name and labels."""
    response = await get(f"{await bot.http_url()}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def job_lines(bot: BotProcess, job_id: str) -> list[str]:
    return [line for line in bot.lines if f"Job {job_id} (generate, server {GUILD_ID})" in line]


async def admin(fake: FakeDiscord, sub: str, user: int = ADMIN) -> dict[str, object]:
    """`/pika-admin <sub>`: the private answer's data (content and components)."""
    callback = await fake.wait_for_response(fake.slash(user, GENERAL, "pika-admin", sub))
    assert callback["data"]["flags"] == 64  # only the one who asked sees it
    return dict(callback["data"])


# --- start-up -------------------------------------------------------------------------------


async def test_a_blank_token_exits_2_with_one_line(fake: FakeDiscord, tmp_path: Path) -> None:
    bot = BotProcess(bot_env(fake, tmp_path, DISCORD_TOKEN=""), tmp_path)  # as in .env.example
    await bot.start()
    assert await bot.exit_code() == 2
    assert bot.lines == [HOW_TO_GET_A_BOT_KEY]
    assert fake.requests == []
    bot = BotProcess(bot_env(fake, tmp_path, DISCORD_TOKEN="", LOG_FORMAT="json"), tmp_path)
    await bot.start()
    assert await bot.exit_code() == 2
    [line] = [json.loads(line) for line in bot.lines]
    assert line["level"] == "ERROR" and line["message"] == HOW_TO_GET_A_BOT_KEY


async def test_an_unreachable_discord_is_retried_until_it_comes_up(tmp_path: Path) -> None:
    port = reserved_port()
    fake = FakeDiscord(heartbeat_ms=1000, port=port)  # its URLs are known; it is not up yet
    bot = BotProcess(bot_env(fake, tmp_path), tmp_path)
    await bot.start()
    line = await bot.wait_for_log(r"Cannot reach Discord")
    assert f"cannot connect to 127.0.0.1:{port}" in line and "retrying in" in line
    url = await bot.http_url()
    assert (await get(f"{url}/healthz")).status_code == 200  # alive while Discord is away
    ready = await get(f"{url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["discord"] != "ok"
    await fake.start()
    try:
        await bot.wait_ready(timeout=30)
        await bot.wait_for_log(r"Reached Discord; logged in")
        assert "Traceback" not in bot.log
        assert (await get(f"{url}/readyz")).status_code == 200
        assert await bot.stop() == 0
    finally:
        await fake.stop()
    assert not fake.violations


async def test_a_gateway_refused_at_the_first_connect_is_retried(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    fake.refuse_gateway = True  # discord.py itself crashes here: 'NoneType' ... 'sequence'
    env = bot_env(fake, tmp_path, PIKA_API_KEY=pika.api_key, PIKA_BASE_URL=pika.base_url)
    bot = BotProcess(env, tmp_path)
    await bot.start()
    line = await bot.wait_for_log(r"Discord gateway: ")
    assert "the gateway refused the connection (HTTP 503); retrying in" in line
    fake.refuse_gateway = False
    await bot.wait_ready(timeout=30)
    await bot.wait_for_log(r"Connected to the Discord gateway again")
    assert fake.identifies == 1
    assert "Traceback" not in bot.log
    assert await bot.stop() == 0


async def test_a_refused_pika_key_exits_2_naming_the_setting(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    env = bot_env(fake, tmp_path, PIKA_API_KEY="not-the-key", PIKA_BASE_URL=pika.base_url)
    bot = BotProcess(env, tmp_path)
    await bot.start()
    assert await bot.exit_code() == 2
    errors = [line for line in bot.lines if " ERROR " in line]
    assert len(errors) == 1 and "Pika refused PIKA_API_KEY (HTTP 401)" in errors[0]
    assert "Traceback" not in bot.log and "not-the-key" not in bot.log
    assert fake.requests == []  # found before Discord was touched
    assert await pika_calls(pika, key_checks=True) == []  # refused at the door: nothing made


async def test_an_http_listen_address_in_use_exits_2_with_one_line(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    # It logged the line, then crashed with a traceback closing a bot it never started.
    taken = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = taken.sockets[0].getsockname()[1]
    try:
        bot = BotProcess(bot_env(fake, tmp_path, HTTP_LISTEN=f"127.0.0.1:{port}"), tmp_path)
        await bot.start()
        assert await bot.exit_code() == 2
    finally:
        taken.close()
    errors = [line for line in bot.lines if " ERROR " in line]
    assert len(errors) == 1, bot.log
    assert f"HTTP_LISTEN 127.0.0.1:{port} cannot be used" in errors[0]
    assert "Traceback" not in bot.log
    assert fake.identifies == 0


async def test_an_unreachable_pika_is_a_warning_and_shows_in_status_and_readiness(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{reserved_port()}"
    bot = await start_bot_with(fake, tmp_path, PIKA_API_KEY="k3y-k3y", PIKA_BASE_URL=nowhere)
    try:
        records = [json.loads(line) for line in bot.lines]  # LOG_FORMAT=json: every line
        warning = next(r for r in records if r["message"].startswith("Pika cannot be reached"))
        assert warning["level"] == "WARNING" and "Starting anyway" in warning["message"]
        assert "k3y-k3y" not in bot.log
        status = str((await admin(fake, "status"))["content"])
        assert "Pika does not answer" in status
        assert "no answer (ConnectError)" in status
        ready = await get(f"{await bot.http_url()}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["pika"].startswith("unreachable")
    finally:
        assert await bot.stop() == 0


async def start_bot_with(fake: FakeDiscord, workdir: Path, **settings: str) -> BotProcess:
    """A bot with these Pika settings, logging JSON, ready on `fake`."""
    bot = BotProcess(bot_env(fake, workdir, LOG_FORMAT="json", **settings), workdir)
    await bot.start()
    await bot.wait_ready()
    return bot


# --- health, metrics and the log -------------------------------------------------------------


async def test_health_readiness_and_the_container_health_check(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    url = await bot.http_url()
    health = await get(f"{url}/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await get(f"{url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"discord": "ok", "database": "ok", "pika": "ok"}
    env = {k: v for k, v in os.environ.items() if k not in ("HTTP_LISTEN", "WEBHOOK_LISTEN")}
    env |= {"PYTHONPATH": str(ROOT), "HTTP_LISTEN": url.removeprefix("http://")}
    assert await health_check(env) == (0, b"")
    # A proxy for the bot's calls out (a company network) is not asked for the bot's own port.
    proxied = env | {
        "HTTP_PROXY": f"http://127.0.0.1:{reserved_port()}",
        "NO_PROXY": "",
        "no_proxy": "",
    }
    assert await health_check(proxied) == (0, b"")
    env["HTTP_LISTEN"] = f"127.0.0.1:{reserved_port()}"
    code, said = await health_check(env)
    assert code == 1 and b"did not answer" in said


async def health_check(env: dict[str, str]) -> tuple[int, bytes]:
    """Run `python -m bot.healthcheck` (the container's HEALTHCHECK): exit code and stderr."""
    probe = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.healthcheck", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, said = await asyncio.wait_for(probe.communicate(), 30)
    assert probe.returncode is not None
    return probe.returncode, said


async def test_metrics_count_jobs_failures_and_429s_and_the_log_tells_each_jobs_life(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    result = await delivered(fake, "counted fox")
    await behave(pika, fail_jobs=1)
    fake.rate_limit("POST", r"/interactions/.*/callback$", retry_after=0.2)
    await fake.wait_for_response(generate(fake, "failing fox"))
    await fake.wait_for(
        lambda: failures(fake),
        what="the failure told",
    )
    await bot.wait_for_log(r"\): failed \(pika_failed")

    samples = await scrape(bot)
    ended = "pika_bot_jobs_ended_total"
    assert sample(samples, ended, kind="generate", outcome="delivered") == 1
    assert sample(samples, ended, kind="generate", outcome="failed", reason="pika_failed") == 1
    assert sample(samples, "pika_bot_job_duration_seconds_count", outcome="delivered") == 1
    assert sample(samples, "pika_bot_discord_requests_total", status="429") == 1
    callbacks = sample(
        samples, "pika_bot_discord_requests_total", route="/interactions/{id}/{token}/callback"
    )
    assert callbacks == 3  # two answered, one 429: no token ever becomes a label
    assert sample(samples, "pika_bot_pika_requests_total", route="/web/generate") == 2
    assert sample(samples, "pika_bot_pika_requests_total", route="/web/jobs/{jobId}") >= 2
    assert sample(samples, "pika_bot_tracker_lag_seconds_count") >= 2
    assert sample(samples, "pika_bot_event_loop_lag_seconds_count") >= 1
    assert sample(samples, "pika_bot_jobs_now", state="waiting") == 0
    assert sample(samples, "process_resident_memory_bytes") > 0

    job_id = _job_id(result)
    life = job_lines(bot, job_id)
    steps = [
        "admitted, asked by member",
        "sent to Pika as",
        "Pika says pending",
        "delivered as message",
    ]
    for step in steps:
        assert any(step in line for line in life), f"{step!r} missing from {life}"
    assert all(" INFO " in line for line in life)
    refused = await fake.wait_for_response(
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "x", "frame_rate": 99})
    )
    assert refused["data"]["flags"] == 64
    line = await bot.wait_for_log(r"refused for member")
    assert f"A request (generate, server {GUILD_ID}): refused" in line
    assert "bad input: frame_rate" in line


def _job_id(result: Message) -> str:
    """A result's job id, from its Info button."""
    ids = [str(c["custom_id"]) for row in result.components for c in row["components"]]
    return next(i for i in ids if i.split(":")[1] == "info").split(":")[2]


# --- the status view and the audit ----------------------------------------------------------


async def test_status_and_audit_answer_admins_and_are_hidden_from_members(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    synced = next(c for c in fake.commands[GUILD_ID] if c["name"] == "pika-admin")
    assert str(synced["default_member_permissions"]) == "32"  # Manage Server: hidden
    subcommands = {o["name"] for o in synced["options"]}
    assert {"status", "audit"} <= subcommands
    await delivered(fake)
    for seconds in range(1, 13):  # twelve changes: more than one page of the audit
        await fake.wait_for_response(
            fake.slash(ADMIN, GENERAL, "pika-admin", "limits", {"cooldown": seconds})
        )

    status = str((await admin(fake, "status"))["content"])
    assert "Pika answers" in status
    assert "Video: 1 asked, 1 delivered, 0 failed, 0 timed out; typically" in status
    assert "0 running, 0 waiting here" in status
    assert f"<@{ADMIN}> set **Wait between videos** from `11` to `12`" in status

    first = await admin(fake, "audit")
    assert "page 1" in str(first["content"])
    assert str(first["content"]).count("Wait between videos") == 10
    assert "from `11` to `12`" in str(first["content"])  # newest first
    buttons = [c for row in first["components"] for c in row["components"]]  # type: ignore[attr-defined]
    assert [b.get("disabled", False) for b in buttons] == [True, False]
    page = next(m for m in fake.channel_messages(GENERAL, ephemeral=True) if "page 1" in m.content)
    older = await fake.wait_for_response(fake.press(ADMIN, page, buttons[1]["custom_id"]))
    assert older["type"] == 7  # the page is turned in place
    assert "page 2" in older["data"]["content"]
    assert older["data"]["content"].count("Wait between videos") == 2
    assert "from `0` to `1`" in older["data"]["content"]

    for sub in ("status", "audit"):  # a crafted interaction from a member is refused
        assert "Manage Server" in str((await admin(fake, sub, user=MEMBER))["content"])
    # A button the page shows now (Discord sends only a press of one the message carries).
    newer = older["data"]["components"][0]["components"][0]["custom_id"]
    crafted = await fake.wait_for_response(fake.press(MEMBER, page, newer))
    assert crafted["data"]["flags"] == 64
    assert "Manage Server" in crafted["data"]["content"]


async def test_json_logs_from_a_whole_run_are_one_object_a_line(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    bot = await start_bot_with(fake, tmp_path, LOCAL_PIKA_JOB_SECONDS="0.5")  # the local Pika
    try:
        await fake.wait_for_response(generate(fake, "json fox"))
        await bot.wait_for_log(r'"event": "delivered"')
    finally:
        assert await bot.stop() == 0
    records = [json.loads(line) for line in bot.lines]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    delivered_line = next(r for r in records if r.get("event") == "delivered")
    assert delivered_line["kind"] == "generate" and delivered_line["guild_id"] == GUILD_ID
    assert len(delivered_line["job_id"]) == 10
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")]


async def test_no_warning_about_voice_libraries_the_bot_never_uses(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    bot = await start_bot(fake, pika, tmp_path)
    assert "PyNaCl" not in bot.log and "davey" not in bot.log  # no voice warnings
    assert await bot.stop() == 0


async def test_the_audits_pages_turn_after_a_restart(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    # The pager lived in the process's memory for ten minutes: after a restart (or a page left
    # open a while) "Older" answered nothing, and the owner saw "This interaction failed".
    bot = await start_bot(fake, pika, tmp_path)
    for seconds in range(1, 13):
        await fake.wait_for_response(
            fake.slash(ADMIN, GENERAL, "pika-admin", "limits", {"cooldown": seconds})
        )
    first = await admin(fake, "audit")
    buttons = [c for row in first["components"] for c in row["components"]]  # type: ignore[attr-defined]
    page = next(m for m in fake.channel_messages(GENERAL, ephemeral=True) if "page 1" in m.content)
    assert await bot.stop() == 0
    bot = await start_bot(fake, pika, tmp_path)
    try:
        older = await fake.wait_for_response(fake.press(ADMIN, page, buttons[1]["custom_id"]))
        assert older["type"] == 7 and "page 2" in older["data"]["content"]
        assert "from `0` to `1`" in older["data"]["content"]
        turned = [c for row in older["data"]["components"] for c in row["components"]]
        assert [b.get("disabled", False) for b in turned] == [False, True]
        newer = await fake.wait_for_response(fake.press(ADMIN, page, turned[0]["custom_id"]))
        assert "page 1" in newer["data"]["content"]
        crafted = await fake.wait_for_response(fake.press(MEMBER, page, turned[0]["custom_id"]))
        assert crafted["data"]["flags"] == 64 and "Manage Server" in crafted["data"]["content"]
    finally:
        await bot.stop()


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_at_debug_the_log_holds_no_interaction_token_nor_webhook_secret(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, log_format: str
) -> None:
    """An owner who turns LOG_LEVEL=DEBUG on to look into a problem, and pastes the log into an
    issue, gives away no credential: aiosqlite printed every statement with its parameters,
    the job's webhook secret (anyone could push a result) and the member's interaction token
    (anyone could post as the bot in that channel for 15 minutes) among them."""
    listen = f"127.0.0.1:{reserved_port()}"
    bot = await start_bot(
        fake,
        pika,
        tmp_path,
        WEBHOOK_PUBLIC_URL=f"http://{listen}",
        HTTP_LISTEN=listen,
        LOG_LEVEL="DEBUG",
        LOG_FORMAT=log_format,
    )
    try:
        await behave(pika, job_seconds=1)
        await delivered(fake, "a fox at debug")
        [create] = [c for c in await pika_calls(pika) if c["path"] == "/web/generate"]
    finally:
        assert await bot.stop() == 0
    secrets = [create["body"]["webhookOverride"].rsplit("/", 1)[1]]
    secrets += [interaction.token for interaction in fake.interactions.values()]
    assert any(" DEBUG " in line or '"DEBUG"' in line for line in bot.lines)
    for secret in secrets:
        pieces = [secret[i : i + 8] for i in range(len(secret) - 7)]
        assert [piece for piece in pieces if piece in bot.log] == [], secret
