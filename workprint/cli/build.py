"""`workprint build KIND --store DIR --out OUTDIR`: the store's raw events → a dataset on disk.

KIND is ``actions`` (computer-use steps, labelled with their episode), ``episodes`` (task
episodes), ``writing`` (one writing-process record per document) or ``search`` (one record per
search session from browser events: query, reformulations, opened results). The pipeline (read every
non-erased person's events, audited; cut whole sessions; run the builder; pseudonymise person
and session ids under a per-build salt) is ``workprint.builders.pipeline``; this command streams
its batches into ``write_dataset`` with a dataset card (``--executor ray --workers N`` runs the
builder on a private local Ray cluster instead, with the same result). Nothing else is
transformed (titles, typed text and timings are raw), which the card says: such a dataset is
not for release — ``workprint release create`` is the way out.
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

    from workprint.builders.executor import Executor
    from workprint.export.writers import FileFormat

FILE_FORMATS: Final = ("jsonl", "parquet", "hf")
EXECUTORS: Final = ("inprocess", "ray")


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
    executor_name: Annotated[
        str,
        typer.Option(
            "--executor",
            help="Where the builder runs: inprocess (default), or ray (a private local Ray "
            "cluster; needs workprint[scale]). Both give the same dataset.",
        ),
    ] = "inprocess",
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Ray workers (CPUs) for --executor ray (default: 2)."),
    ] = None,
) -> None:
    """Build a dataset of KIND from the store's raw events, with its dataset card."""
    from contextlib import ExitStack

    from workprint.events import SCOPES
    from workprint.export import write_dataset

    if kind not in KINDS:
        raise BuildError(f"unknown dataset kind {kind!r} (one of: {', '.join(KINDS)})")
    if file_format not in FILE_FORMATS:
        raise BuildError(f"unknown file format {file_format!r} (one of: jsonl, parquet, hf)")
    if executor_name not in EXECUTORS:
        raise BuildError(f"unknown executor {executor_name!r} (one of: {', '.join(EXECUTORS)})")
    if workers is not None and (executor_name != "ray" or workers < 1):
        raise BuildError("--workers takes a number ≥ 1, with --executor ray")
    step, used = settings(kind, thresholds or [])
    card = make_card(kind, used)
    coverage = Coverage()
    with ExitStack() as running, open_store(store_dir, master) as store:
        executor: Executor | None = None
        if executor_name == "ray":
            from workprint.builders.ray_executor import RayCluster, RayExecutor

            running.enter_context(RayCluster(workers or 2))
            executor = RayExecutor()
        people = chosen_people(store, person)
        sessions = session_stream(store, people, actor, Pseudonyms(), coverage)

        def finished() -> Iterator[pa.Table]:
            yield from build_batches(sessions, step, executor)
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
