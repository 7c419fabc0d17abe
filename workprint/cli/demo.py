"""`workprint demo` commands."""

from workprint.cli.app import app  # noqa: F401
