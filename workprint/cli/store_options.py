"""The options and the opener every command that works on the collector's store shares.

``--data``/``--store`` name the store's directory (default ``~/.local/share/workprint-server``,
or ``$WORKPRINT_DATA``), ``--master-key`` the key that opens it (default
``~/.config/workprint-server/master.key``; ``$WORKPRINT_MASTER_KEY`` may hold a hex key instead).
With ``$WORKPRINT_DATABASE`` (a ``postgresql://`` URL) and ``$WORKPRINT_OBJECTS``
(``s3://bucket/prefix``) set, every command works on the shared backend instead
(``workprint.store.backends``). The store itself needs Arrow and NumPy, so it is imported
only when a command opens it: every other command (above all ``workprint record``) stays
small in memory.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from workprint.crypto.envelope import resolve_master_key
from workprint.store.interface import StoreError

if TYPE_CHECKING:
    from workprint.store.embedded import EmbeddedStore

_DATA_HELP = "The store's directory (default: ~/.local/share/workprint-server)."

DataOption = Annotated[
    Path | None,
    typer.Option("--data", envvar="WORKPRINT_DATA", help=_DATA_HELP, show_default=False),
]
# The dataset commands say --store (what the issue and the README use); --data is accepted too.
StoreOption = Annotated[
    Path | None,
    typer.Option("--store", "--data", envvar="WORKPRINT_DATA", help=_DATA_HELP, show_default=False),
]
MasterOption = Annotated[
    Path | None,
    typer.Option(
        "--master-key",
        help="The master key file (default: ~/.config/workprint-server/master.key, or a hex "
        "key in $WORKPRINT_MASTER_KEY). Never keep it inside the data directory.",
        show_default=False,
    ),
]


def actor() -> str:
    """Who runs this command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


@contextmanager
def open_store(
    data: Path | None, master: Path | None, *, create: bool = False
) -> Iterator[EmbeddedStore]:
    """The store in ``data`` (or the shared one the environment names); a missing embedded
    store is an error unless ``create``."""
    from workprint.store.backends import configured
    from workprint.store.backends import open_store as open_backend
    from workprint.store.embedded import default_data_dir, default_master_key_path
    from workprint.store.embedded.schema import DB_NAME

    directory = (data or default_data_dir()).expanduser()
    database, objects = configured(None, None)
    shared = database is not None or objects is not None
    exists = shared or (directory / DB_NAME).exists()
    if not exists and not create:
        raise StoreError(
            f"no store at {directory} (create one with: workprint admin add-person NAME)"
        )
    key = resolve_master_key(master, default_master_key_path(), create=not exists)
    with open_backend(directory, key, database=database, objects=objects) as store:
        yield store
