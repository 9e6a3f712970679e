"""Shared test configuration: the Discord contract check, and databases on the test server."""

from __future__ import annotations

import compileall
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fake_discord.contract import load_contract, spec_path
from tests.helpers.databases import (
    BACKENDS,
    POSTGRES_URL,
    DatabaseUnderTest,
    a_database,
    new_postgres_database,
    postgres_required,
)

# Bytecode is cached whatever PYTHONDONTWRITEBYTECODE says (it is set on the shared machine):
# without, each of pytest's five processes rewrote and compiled every test module again at each
# run, some 3 s of CPU each. Set before pytest imports the test modules (conftest comes first).
sys.dont_write_bytecode = False


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the bot's own modules once, before any worker starts: with PYTHONDONTWRITEBYTECODE
    set, every `python -m bot` of the end-to-end tests, some 200 a run, would otherwise compile
    them all again, a third of a second of CPU each. Only stale files are compiled; a missing
    or unwritable cache changes nothing but the time."""
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller did it
        return
    root = Path(__file__).resolve().parents[1]
    for package in ("bot", "cogs", "tests"):
        compileall.compile_dir(root / package, quiet=1)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say whether REST bodies are checked against Discord's OpenAPI description, and where
    the PostgreSQL tests run."""
    lines = []
    if load_contract() is None:
        lines.append(
            f"Discord contract check SKIPPED: {spec_path()} is not on this machine "
            "(set DISCORD_OPENAPI to its path to turn the check on)"
        )
    else:
        lines.append(f"Discord contract check ON: {spec_path()}")
    if POSTGRES_URL:
        lines.append(f"PostgreSQL tests ON: {POSTGRES_URL.rsplit('@', 1)[-1]}")
    elif postgres_required():
        lines.append("PostgreSQL tests REQUIRED but TEST_POSTGRES_URL is not set: they will fail")
    else:
        lines.append(
            "PostgreSQL tests SKIPPED: run `make test` (it starts a server) to include them"
        )
    return lines


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a new, empty database on the test server, dropped after the test."""
    async with new_postgres_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[DatabaseUnderTest]:
    """The database of a test, once on SQLite and once on PostgreSQL: every test that takes it
    runs on both. Without a PostgreSQL server the PostgreSQL run is skipped (it fails under
    REQUIRE_POSTGRES=1)."""
    async with a_database(request.param, tmp_path) as made:
        yield made
