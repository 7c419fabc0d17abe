"""The PostgreSQL schema: Alembic revisions, applied programmatically.

``migrate`` is what every collector runs at start. Several may start at once (a rolling
deploy, a test starting two processes), so the upgrade runs under a session advisory lock: the
first one upgrades, the others wait, find the schema at head and do nothing. No ``alembic.ini``
is needed; the revisions live in this package (``migrations/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

import psycopg

from workprint.store.interface import StoreError
from workprint.store.postgres.connection import check_url, connect, store_error, without_password

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
# pg_advisory_lock key of schema upgrades: b"wpmigrat" as a signed 64-bit int
MIGRATION_LOCK_KEY: Final = int.from_bytes(b"wpmigrat", "big", signed=True)


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy's psycopg (3) driver."""
    check_url(url)
    parts = urlsplit(url)
    return urlunsplit(("postgresql+psycopg", *parts[1:]))


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%': a percent-encoded password must be doubled
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision this workprint knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(
        alembic_config("postgresql://localhost/x")
    ).get_current_head()
    if head is None:
        raise StoreError("workprint's PostgreSQL migrations have no revision")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    location = without_password(url)
    conn = connect(url, location=location)
    try:
        exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])
    except psycopg.Error as exc:
        raise store_error(exc, location, url=url) from None
    finally:
        conn.close()


def migrate(url: str) -> str:
    """Bring the database to the newest revision (a no-op when it is there); returns it."""
    from alembic import command
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    location = without_password(url)
    head = head_revision()
    lock = connect(url, location=location)
    try:
        try:
            lock.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})".encode())
        except psycopg.Error as exc:
            raise store_error(exc, location, url=url) from None
        if current_revision(url) != head:
            try:
                command.upgrade(alembic_config(url), "head")
            except SQLAlchemyError as exc:
                cause = getattr(exc, "orig", None)  # the driver's exception (DBAPIError)
                if isinstance(cause, psycopg.Error):
                    raise store_error(cause, location, url=url) from None
                raise StoreError(f"migrating {location} failed: {_one_line(exc)}") from None
            except CommandError as exc:
                raise StoreError(f"migrating {location} failed: {_one_line(exc)}") from None
        reached = current_revision(url)
        if reached != head:
            raise StoreError(f"database {location} is at revision {reached}, expected {head}")
        return head
    finally:
        lock.close()  # ends the session: the advisory lock goes with it


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__
