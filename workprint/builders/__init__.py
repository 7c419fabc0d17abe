"""Builders: raw event streams → dataset records."""
