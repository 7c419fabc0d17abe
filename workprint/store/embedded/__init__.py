"""The embedded store: one directory, SQLite for metadata, sealed Parquet files for events.

No server to install. ``EmbeddedStore.open(data_dir, master_key)`` implements
``workprint.store.interface.Store``; docs/store.md describes the layout and the guarantees.
"""

from workprint.store.embedded.paths import default_data_dir, default_master_key_path
from workprint.store.embedded.stats import StoreStats
from workprint.store.embedded.store import EmbeddedStore

__all__ = ["EmbeddedStore", "StoreStats", "default_data_dir", "default_master_key_path"]
