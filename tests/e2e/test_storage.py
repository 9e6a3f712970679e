"""Database faults as an owner meets them: a damaged file, a failing migration or a PostgreSQL
server that cannot be reached stops the bot at once with one line naming the database (never its
password); one damaged row is set aside and the rest goes on; the file holds prompts and webhook
secrets, so only its owner may read it."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from bot.pika.local.app import LocalPika
from tests.e2e.harness import BotProcess, bot_env, delivered, start_bot
from tests.fake_discord import FakeDiscord
from tests.helpers.ports import reserved_port


@pytest.mark.parametrize("damage", ["not a database", "a failing migration"])
async def test_a_database_that_cannot_be_used_stops_the_bot_with_one_line(
    fake: FakeDiscord, tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "bot.sqlite3"
    if damage == "not a database":
        path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4000)
        expected = "file is not a database"
    else:  # a table the first migration creates is there already, unrecorded
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE jobs (id TEXT)")
        expected = "migration 0001_jobs.sql failed (table jobs already exists)"
    bot = BotProcess(bot_env(fake, tmp_path), tmp_path)
    await bot.start()
    # It ends by itself (about a second on an idle machine; times are not asserted here).
    code = await bot.exit_code(timeout=30)
    assert code != 0
    errors = [line for line in bot.lines if "ERROR" in line]
    assert len(errors) == 1, bot.log
    assert str(path) in errors[0] and expected in errors[0], errors[0]
    assert "Traceback" not in bot.log
    assert fake.identifies == 0  # it never went online half-working


async def test_a_postgresql_server_out_of_reach_stops_the_bot_with_one_line(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    port = reserved_port()  # nothing listens there
    url = f"postgresql://pika:hunter2@127.0.0.1:{port}/pika"
    bot = BotProcess(bot_env(fake, tmp_path, DATABASE_URL=url), tmp_path)
    await bot.start()
    assert await bot.exit_code(timeout=30) == 1
    errors = [line for line in bot.lines if "ERROR" in line]
    assert len(errors) == 1, bot.log
    assert "Cannot use the database (DATABASE_URL)" in errors[0]
    assert f"postgresql://pika@127.0.0.1:{port}/pika: cannot connect" in errors[0]
    assert "hunter2" not in bot.log and "Traceback" not in bot.log
    assert fake.identifies == 0


async def test_an_unreadable_row_is_set_aside_and_the_database_is_private(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    bot = await start_bot(fake, pika, tmp_path)
    await bot.stop()
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO jobs (id, kind, request, channel_id, user_id, status, active, "
            "next_poll_at, created_at, updated_at, guild_id) "
            "VALUES ('damaged000', 'generate', '{not json', 1, 2, 'running', 1, 0, 0, 0, 3)"
        )
    bot = await start_bot(fake, pika, tmp_path)
    try:
        await delivered(fake)  # the other jobs go on
        line = await bot.wait_for_log("Job damaged000: unreadable row")
        assert "marked failed and skipped" in line
    finally:
        await bot.stop()
    assert sum("damaged000" in line for line in bot.lines) == 1  # logged once, not every tick
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT status, active, failure FROM jobs WHERE id = 'damaged000'")
        assert row.fetchone() == ("failed", 0, "unreadable")
    for name in ("bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-shm"):
        file = tmp_path / name
        if file.exists():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, name


async def test_a_data_dir_the_bot_cannot_write_stops_it_with_one_line(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    # It started, and every paid call then warned that the ledger of Pika's answers (the safety
    # net when the database cannot take a job's id) could not be written.
    (tmp_path / "taken").write_text("a file, not a folder")
    folder = tmp_path / "taken" / "data"
    bot = BotProcess(bot_env(fake, tmp_path, DATA_DIR=str(folder)), tmp_path)
    await bot.start()
    assert await bot.exit_code(timeout=30) == 2
    errors = [line for line in bot.lines if "ERROR" in line]
    assert len(errors) == 1, bot.log
    assert f"Cannot write the bot's files in {folder} (DATA_DIR)" in errors[0]
    assert "Traceback" not in bot.log
    assert fake.identifies == 0
