"""Alembic's environment: run the revisions on the URL ``migrate`` put in the config.

Online only (there is no SQL-script mode): ``migrate`` holds an advisory lock meanwhile, so
processes starting together upgrade one after the other.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set (run through workprint's migrate())")
    engine = create_engine(
        url,
        poolclass=NullPool,
        connect_args={"connect_timeout": 5, "application_name": "workprint-migrate"},
    )
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=None)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations_online()
