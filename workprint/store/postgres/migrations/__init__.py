"""Alembic's environment and revisions for the PostgreSQL metadata schema (run by
``workprint.store.postgres.schema.migrate``, never imported directly)."""
