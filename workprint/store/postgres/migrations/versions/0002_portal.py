"""The portal's tables (``workprint.portal.db.DDL``) in the shared database, so that every
collector serves the same sign-ins, sessions, pause requests, device status and policy versions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Final

from alembic import op

revision: Final = "0002"
down_revision: Final = "0001"
branch_labels: Final = None
depends_on: Final = None

TABLES: Final = (
    """CREATE TABLE accounts (
        person_id TEXT PRIMARY KEY,
        login TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        team TEXT NOT NULL DEFAULT '',
        created_ns BIGINT NOT NULL
    )""",
    """CREATE TABLE sessions (
        hash BYTEA PRIMARY KEY,
        person_id TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_ns BIGINT NOT NULL,
        expires_ns BIGINT NOT NULL
    )""",
    "CREATE INDEX sessions_person ON sessions (person_id)",
    """CREATE TABLE login_failures (
        login TEXT PRIMARY KEY,
        failures BIGINT NOT NULL,
        first_ns BIGINT NOT NULL,
        locked_until_ns BIGINT NOT NULL
    )""",
    """CREATE TABLE pause_requests (
        person_id TEXT PRIMARY KEY,
        paused BIGINT NOT NULL,
        t BIGINT NOT NULL
    )""",
    """CREATE TABLE device_status (
        device_id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        state TEXT NOT NULL,
        scopes TEXT NOT NULL,
        seen_ns BIGINT NOT NULL
    )""",
    """CREATE TABLE policy_versions (
        version BIGINT PRIMARY KEY,
        text TEXT NOT NULL,
        author TEXT NOT NULL,
        note TEXT NOT NULL,
        created_ns BIGINT NOT NULL
    )""",
)

NAMES: Final = (
    "policy_versions",
    "device_status",
    "pause_requests",
    "login_failures",
    "sessions",
    "accounts",
)


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    for name in NAMES:
        op.execute(f"DROP TABLE {name}")
