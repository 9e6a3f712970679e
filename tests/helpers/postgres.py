"""A throwaway PostgreSQL server for the test suite: made, started, and always stopped.

`make test` runs the suite through this module (`python -m tests.helpers.postgres -- pytest`):
it finds the machine's PostgreSQL server binaries (installing Debian's `postgresql` package with
apt-get when they are missing and it may), makes a cluster in a temporary folder with `initdb`,
starts it on a free loopback port with `pg_ctl`, runs the command with `TEST_POSTGRES_URL`
pointing at it, and stops it and removes the folder whatever happens.

A developer without PostgreSQL still runs every SQLite test: without `TEST_POSTGRES_URL` the
PostgreSQL tests are skipped, and the test header says so. With `REQUIRE_POSTGRES=1` (CI sets it
through `.ci/run`), a missing server is an error instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "postgres"  # the cluster's superuser, and the system user that runs it as root
START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries here, and none could be installed."""


def server_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, if this machine has them."""
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True
        )
        candidates.append(Path(found.stdout.strip()))
    # Debian keeps the server binaries out of PATH, one folder per major version.
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / program).exists() for program in SERVER_PROGRAMS):
            return folder
    return None


def install() -> None:
    """Install Debian's PostgreSQL server with apt-get (root only)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresUnavailable(
            "PostgreSQL's server binaries are missing; install Debian's `postgresql` package"
        )
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    print("Installing PostgreSQL (apt-get install postgresql)...", file=sys.stderr, flush=True)
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
    ):
        subprocess.run(command, stdout=subprocess.DEVNULL, env=env, check=True, timeout=900)


def free_port() -> int:
    """A loopback port free right now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _as_server_user(command: Sequence[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` system user then."""
    if os.geteuid() != 0:
        return list(command)
    return ["runuser", "-u", SUPERUSER, "--", *command]


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """Run a new PostgreSQL cluster until the block ends; yields its superuser URL."""
    bindir = server_bindir()
    if bindir is None:
        install()
        bindir = server_bindir()
        if bindir is None:
            raise PostgresUnavailable("apt-get installed postgresql, but no server binaries")
    folder = Path(tempfile.mkdtemp(prefix="pika-test-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, SUPERUSER)
        shutil.chown(sockets, SUPERUSER)
    port = free_port()
    log = folder / "server.log"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=START_TIMEOUT_SECONDS,
        )
        # Durability is not what the tests check, and fsync costs seconds per test on a VM.
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(
            _as_server_user([*pg_ctl, "-o", options, "-l", str(log), "-w", "start"]),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=START_TIMEOUT_SECONDS,
        )
        yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([*pg_ctl, "-m", "immediate", "-w", "stop"]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=START_TIMEOUT_SECONDS,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    """`python -m tests.helpers.postgres -- command ...`: run the command beside a server."""
    command = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not command:
        print("usage: python -m tests.helpers.postgres -- command [args...]", file=sys.stderr)
        return 2
    if os.environ.get("TEST_POSTGRES_URL"):  # a server was given: use it as it is
        return subprocess.call(command)
    try:
        with throwaway_server() as url:
            return subprocess.call(command, env=os.environ | {"TEST_POSTGRES_URL": url})
    except PostgresUnavailable as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            print(f"PostgreSQL is required here: {exc}", file=sys.stderr)
            return 1
        print(f"{exc}: the PostgreSQL tests will be skipped", file=sys.stderr)
        return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
