"""The files that ship the bot: the image, the compose file, the service unit, the licence, and
the install's metadata. docker cannot build here; what can be checked without it is checked."""

from __future__ import annotations

import asyncio
import configparser
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from httpcore._synchronization import current_async_library

ROOT = Path(__file__).resolve().parents[2]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    stages: list[list[tuple[str, str]]] = []
    for line in lines:
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages[-1]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_image_is_slim_non_root_with_data_in_a_volume_and_a_health_check() -> None:
    final = dockerfile()
    first = final[0][1]
    assert re.fullmatch(r"python:3\.\d+-slim", first)
    assert first.split(":")[1].removesuffix("-slim") == pyproject()["project"][
        "requires-python"
    ].removeprefix(">=")
    users = [args for ins, args in final if ins == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("VOLUME", '["/data"]') in final
    env = " ".join(args for ins, args in final if ins == "ENV")
    assert "DATABASE_URL=sqlite:////data/" in env
    assert "HTTP_LISTEN=0.0.0.0:8080" in env
    assert ("EXPOSE", "8080") in final
    health = next(args for ins, args in final if ins == "HEALTHCHECK")
    assert '"python", "-m", "bot.healthcheck"' in health
    assert final[-1] == ("CMD", '["python", "-m", "bot"]')
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "data"} <= set(ignored)  # no secret, no database baked in


def test_the_compose_file_runs_the_bot_with_its_volume_and_health_port() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    bot = compose["services"]["bot"]
    assert bot["build"] == "."
    assert bot["restart"] == "unless-stopped"
    assert bot["volumes"] == ["pika-data:/data"]
    assert "pika-data" in compose["volumes"]
    assert bot["environment"]["HTTP_LISTEN"] == "0.0.0.0:8080"
    assert bot["environment"]["DATABASE_URL"].startswith("sqlite:////data/")
    assert bot["ports"] == ["127.0.0.1:8080:8080"]  # metrics stay on the host's loopback
    assert bot["env_file"] == [{"path": ".env", "required": False}]


def test_the_compose_file_runs_two_shard_processes_on_postgresql_under_a_profile() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert "profiles" not in services["bot"]  # `docker compose up` runs the one process
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:\d+", postgres["image"])  # the official image
    assert postgres["profiles"] == ["shards"] and "ports" not in postgres  # not published
    assert postgres["volumes"] == ["pika-postgres:/var/lib/postgresql/data"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    shards = [services["bot-shard-0"], services["bot-shard-1"]]
    for shard_id, shard in enumerate(shards):
        assert shard["build"] == "." and shard["profiles"] == ["shards"]
        assert shard["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        env = shard["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://pika_bot:")
        assert env["DATABASE_URL"].endswith("@postgres:5432/pika_bot")
        assert (env["DISCORD_SHARD_COUNT"], env["DISCORD_SHARD_IDS"]) == ("2", str(shard_id))
        assert env["DATA_DIR"] == "/data" and env["HTTP_LISTEN"] == "0.0.0.0:8080"
    volumes = [shard["volumes"] for shard in shards]
    assert volumes == [["pika-shard-0:/data"], ["pika-shard-1:/data"]]  # a ledger each
    assert {"pika-data", "pika-postgres", "pika-shard-0", "pika-shard-1"} <= set(compose["volumes"])
    ports = [shard["ports"] for shard in shards]
    assert ports == [["127.0.0.1:8080:8080"], ["127.0.0.1:8081:8080"]]  # a host port each


@pytest.mark.parametrize("profile", [[], ["--profile", "shards"]], ids=["one-process", "shards"])
def test_docker_compose_accepts_the_compose_file(profile: list[str]) -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("docker compose is not on this machine")
    result = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "compose.yaml"), *profile, "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_systemd_unit_runs_the_bot_unprivileged_and_does_not_restart_on_exit_2() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "pika-discord-bot.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith("/.venv/bin/python -m bot")
    assert service["User"] not in ("root", "0")
    assert service["RestartPreventExitStatus"] == "2"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_licence_file_matches_the_metadata_and_installs_without_a_deprecation() -> None:
    project = pyproject()
    assert project["project"]["license"] == "MIT"  # an SPDX expression, not the old table
    assert project["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    requires = project["build-system"]["requires"]
    floor = next(r for r in requires if r.startswith("setuptools>="))
    assert int(floor.removeprefix("setuptools>=").split(".")[0]) >= 77  # reads both fields


def test_the_migrations_ship_with_the_package() -> None:
    data = pyproject()["tool"]["setuptools"]["package-data"]
    for package, patterns in data.items():
        folder = ROOT.joinpath(*package.split("."))
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: {pattern} matches nothing"
    assert "bot.storage" in data


class _Searches:
    """A finder first in sys.meta_path that finds nothing and notes every module searched for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        self.names.append(name)


def test_http_requests_do_not_search_for_a_module_each_time() -> None:
    """httpcore asks which async library runs on every request (`import sniffio`); without the
    package installed each request searched sys.path for it in vain, a tenth of a millisecond
    of CPU each, several times per job."""

    async def ask() -> str:
        return current_async_library()

    assert asyncio.run(ask()) == "asyncio"  # the first may import it
    searches = _Searches()
    sys.meta_path.insert(0, searches)
    try:
        assert asyncio.run(ask()) == "asyncio"
    finally:
        sys.meta_path.remove(searches)
    assert searches.names == []
