"""`workprint build KIND --store DIR --out OUTDIR`: the store's raw events → a dataset on disk.

KIND is ``actions`` (computer-use steps, labelled with their episode), ``episodes`` (task
episodes), ``writing`` (one writing-process record per document) or ``search`` (one record per
search session from browser events: query, reformulations, opened results). The pipeline (read every
non-erased person's events, audited; cut whole sessions; run the builder; pseudonymise person
and session ids under a per-build salt) is ``workprint.builders.pipeline``; this command streams
its batches into ``write_dataset`` with a dataset card. Nothing else is transformed (titles,
typed text and timings are raw), which the card says: such a dataset is not for release —
``workprint release create`` is the way out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, cast

import typer

from workprint.builders.pipeline import (
    KINDS,
    BuildError,
    Coverage,
    Pseudonyms,
    build_batches,
    chosen_people,
    make_card,
    session_stream,
    settings,
)
from workprint.cli.app import app
from workprint.cli.store_options import MasterOption, StoreOption, open_store

if TYPE_CHECKING:
    import pyarrow as pa

    from workprint.export.writers import FileFormat

FILE_FORMATS: Final = ("jsonl", "parquet", "hf")


@app.command("build")
def build_command(
    kind: Annotated[str, typer.Argument(metavar="KIND", help=f"One of: {', '.join(KINDS)}.")],
    out: Annotated[Path, typer.Option("--out", help="The dataset directory to write.")],
    store_dir: StoreOption = None,
    master: MasterOption = None,
    person: Annotated[
        list[str] | None,
        typer.Option("--person", help="Only this person (repeatable; default: everyone)."),
    ] = None,
    file_format: Annotated[
        str,
        typer.Option("--format", help="jsonl, parquet, or hf (a Hugging Face datasets directory)."),
    ] = "hf",
    thresholds: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="NAME=VALUE",
            help="A builder threshold (repeatable), e.g. --set drag_px=10 --set pause_s=1.5; "
            "see docs/actions.md and docs/writing.md (search has none).",
        ),
    ] = None,
    actor: Annotated[
        str, typer.Option("--actor", help="Who builds (the audit log's actor for every read).")
    ] = "cli",
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Build a dataset of KIND from the store's raw events, with its dataset card."""
    from workprint.events import SCOPES
    from workprint.export import write_dataset

    if kind not in KINDS:
        raise BuildError(f"unknown dataset kind {kind!r} (one of: {', '.join(KINDS)})")
    if file_format not in FILE_FORMATS:
        raise BuildError(f"unknown file format {file_format!r} (one of: jsonl, parquet, hf)")
    step, used = settings(kind, thresholds or [])
    card = make_card(kind, used)
    coverage = Coverage()
    with open_store(store_dir, master) as store:
        people = chosen_people(store, person)
        sessions = session_stream(store, people, actor, Pseudonyms(), coverage)

        def finished() -> Iterator[pa.Table]:
            yield from build_batches(sessions, step)
            # write_dataset renders the card after the last batch: fill in what was counted.
            card.people = len(coverage.people)
            card.hours = round(coverage.ns / 3.6e12, 3)
            card.scopes = tuple(s for s in SCOPES if s in coverage.scopes)

        chosen = cast("FileFormat", file_format)
        result = write_dataset(finished(), out, chosen, card, progress=progress)
        store.audit(
            actor,
            "dataset.build",
            kind,
            f"people={len(coverage.people)} sessions={coverage.sessions} rows={result.rows} "
            f"format={file_format}",
        )
    typer.echo(
        f"built {result.rows} {kind} rows from {len(coverage.people)} people, "
        f"{coverage.sessions} sessions, {card.hours} hours → {out} (card: {result.card})"
    )
