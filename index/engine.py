"""Opening a database by SQLAlchemy URL: SQLite files on one machine, PostgreSQL across machines.

Both stores (``index/store.py`` and the conversation store in ``qa/``) open their engines here,
so that a URL means the same thing to each, and run their Alembic migrations with
``upgrade_schema``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# The SQLAlchemy drivers this service supports (the dialect part of a URL).
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
# How a write transaction starts on SQLite: with the write lock taken at once, so that a
# transaction that read first never has to upgrade to a writer (and fail when another did).
_BEGIN = "sqlite_begin"


def sqlite_url(path: Path | str) -> str:
    """The SQLAlchemy URL of a SQLite file (the default: a file in the data directory)."""
    return URL.create("sqlite", database=str(Path(path).absolute())).render_as_string()


def check_url(url: str) -> URL:
    """Parse a database URL; raises ``ValueError`` naming what is wrong with it."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"{url!r} is not a database URL (e.g. sqlite:///path): {exc}") from exc
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise ValueError(
            f"database URL {parsed.render_as_string()!r} names {parsed.get_backend_name()!r};"
            " use sqlite:///path or postgresql+psycopg://user@host/database"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ValueError(
            f"database URL {parsed.render_as_string()!r} names the driver "
            f"{parsed.get_driver_name()!r}; PostgreSQL is reached through psycopg 3: "
            "postgresql+psycopg://user@host/database"
        )
    return parsed


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database, or None (PostgreSQL, or SQLite in memory)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def open_engine(url: str, *, synchronous: str = "FULL") -> Engine:
    """An engine for the URL; on SQLite with WAL, foreign keys, a busy timeout, the given
    ``synchronous`` level and secure delete set on every connection, and transactions begun by
    an explicit ``BEGIN`` (``BEGIN IMMEDIATE`` for ``write_connection``)."""
    parsed = check_url(url)
    if parsed.get_backend_name() == "postgresql":
        # A connection per thread that reads at once, a few more for writers and locks.
        return create_engine(parsed, pool_size=10, max_overflow=40, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    # In memory, SQLAlchemy keeps one connection per thread (each its own database).
    pool: dict[str, Any] = {} if in_memory else {"pool_size": 10, "max_overflow": 40}
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is off; the "begin" hook below starts them.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if sqlite_file(engine) is not None:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted rows are overwritten on disk, not left readable in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN, "BEGIN"))

    return engine


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose transactions take SQLite's write lock when they begin (elsewhere, a
    plain connection: PostgreSQL locks the rows a transaction writes)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})
        yield conn


def upgrade_schema(conn: Connection, migrations: Path, version_table: str) -> None:
    """Run the Alembic migrations in ``migrations`` up to the latest, on this connection and in
    its transaction, recording the revision in ``version_table``.

    On PostgreSQL two processes opening one new database at once take turns (a lock held to
    the end of the transaction); on SQLite the caller's ``BEGIN IMMEDIATE`` does that.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": version_table})
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = conn
    config.attributes["version_table"] = version_table
    command.upgrade(config, "head")


def utc_timestamp_sql(dialect: str) -> str:
    """SQL for the current UTC time as ``2024-05-01T12:00:00Z`` text (sorts as it reads)."""
    if dialect == "postgresql":
        return "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    return "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
