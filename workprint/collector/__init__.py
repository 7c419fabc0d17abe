"""The collector: the HTTP service devices upload to and people read their own data from."""

from workprint.collector.app import create_app
from workprint.collector.settings import CollectorSettings

__all__ = ["CollectorSettings", "create_app"]
