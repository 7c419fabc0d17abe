"""The shared backend's metadata on PostgreSQL: migrations (Alembic) and ``PostgresDatabase``,
the ``Database`` the store's engine runs on when several collectors share one deployment."""

from workprint.store.postgres.database import PostgresDatabase
from workprint.store.postgres.schema import migrate

__all__ = ["PostgresDatabase", "migrate"]
