"""`workprint serve`: run the collector (HTTP API, docs/collector.md) on the embedded store, or on
the shared PostgreSQL + S3 backend that several collectors use at once."""

from __future__ import annotations

import gc
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from workprint.cli.app import app

err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


@app.command()
def serve(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="The store's directory (created if missing); default: $WORKPRINT_DATA, else "
            "~/.local/share/workprint-server.",
            show_default=False,
        ),
    ] = None,
    master_key: Annotated[
        Path | None,
        typer.Option(
            "--master-key",
            help="File with the master key (64 hex digits, 0600); default: "
            "$WORKPRINT_MASTER_KEY, else ~/.config/workprint-server/master.key (created if "
            "missing). Never inside the data directory.",
            show_default=False,
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            envvar="WORKPRINT_DATABASE",
            help="Shared metadata in PostgreSQL (postgresql://USER:PASS@HOST:PORT/DB) instead of "
            "SQLite in --data, so several collectors can serve one store (docs/deployment.md).",
            show_default=False,
        ),
    ] = None,
    objects: Annotated[
        str | None,
        typer.Option(
            "--objects",
            envvar="WORKPRINT_OBJECTS",
            help="Event files in an S3 bucket (s3://BUCKET/PREFIX; endpoint and credentials "
            "from $WORKPRINT_S3_ENDPOINT, $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY); needs "
            "--database.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8420,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the collector: devices upload here, people read and export their own data."""
    import uvicorn

    from workprint.collector import CollectorSettings, create_app
    from workprint.crypto.envelope import resolve_master_key
    from workprint.store.backends import open_store
    from workprint.store.embedded import default_data_dir, default_master_key_path

    data = data or default_data_dir()
    key = resolve_master_key(master_key, default_master_key_path(), create=True)
    store = open_store(data, key, database=database, objects=objects)
    where = f"metadata {store.database.location}, events {store.storage.location}"
    try:
        config = uvicorn.Config(
            create_app(store, CollectorSettings()),
            host=host,
            port=port,
            log_level=log_level.lower(),
            access_log=False,
            timeout_graceful_shutdown=10,
        )
        err.print(f"workprint collector on http://{host}:{port} — {where}")
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
        # it found: make that a no-op so the store below is closed and the exit status is 0.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        # What start-up built lives as long as the process: out of the collector's sight, a
        # full collection no longer walks it (it paused ingest for tens of ms each time).
        gc.freeze()
        uvicorn.Server(config).run()
    finally:
        store.close()
