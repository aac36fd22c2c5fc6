"""The databases the stores are tested on: a SQLite file, and a real PostgreSQL server started
for the session in a temporary directory (``initdb`` and ``pg_ctl`` from Debian's package).

``database_url`` is parametrized over both; each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.harness import free_port
from index.engine import sqlite_url

# PostgreSQL refuses to run as root; as root the server runs as this unprivileged user.
SERVER_USER = "qa-postgres"


def _bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries; fails (never skips) when there are none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major)
    if not found:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): "
            "apt-get install postgresql (or run `make test`, which installs it)"
        )
    return Path(found[-1]).parent


def _major(pg_ctl: str) -> int:
    version = Path(pg_ctl).parents[1].name
    return int(version) if version.isdigit() else 0


def _server_user() -> str | None:
    """The user to run the server as when we are root (created if absent), else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
        )
    return SERVER_USER


class PostgresServer:
    """A PostgreSQL server in a temporary directory, trusting connections on 127.0.0.1."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.user = _server_user()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="qa-postgres-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self.user is not None:
            shutil.chown(self.root, self.user)
            self.root.chmod(0o700)

    def _run(self, *args: str) -> None:
        prefix = [] if self.user is None else ["runuser", "-u", self.user, "--"]
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}"
            )

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=300"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "--pgdata",
            str(self.data),
            "--log",
            str(self.log),
            "--options",
            options,
            "--wait",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(
                str(self.bin / "pg_ctl"), "--pgdata", str(self.data), "-m", "immediate", "stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one of the server's databases."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database with a fresh name; returns its URL."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, stopped and removed after it."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind: a SQLite file, or a new database on the server."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "shared.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """An empty PostgreSQL database."""
    return postgres.new_database()
