"""`workprint consent` commands."""

from workprint.cli.app import app  # noqa: F401
