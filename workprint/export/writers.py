"""Streaming dataset writers: JSON Lines, one Parquet file, or a Hugging Face ``datasets``
directory (Parquet shards under data/ + a README.md whose YAML names them), each with its card.

Batches are written as they come and then let go: at most one Parquet row group (``group_rows``)
is buffered, so exporting millions of actions takes memory for one batch and one row group, not
for the dataset. A Rich progress bar counts rows on stderr.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from workprint.errors import WorkprintError
from workprint.export.card import CardStats, DatasetCard, render_card

FileFormat = Literal["jsonl", "parquet", "hf"]


class WriteError(WorkprintError):
    """The output could not be written as asked."""


@dataclass
class WriteResult:
    out: Path
    files: list[Path]
    rows: int
    card: Path
    stats: CardStats = field(repr=False)


class _Sink:
    """Where batches go; ``files`` relative to the output directory."""

    files: list[str]

    def write(self, batch: pa.Table) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _JsonlSink(_Sink):
    def __init__(self, out: Path) -> None:
        self.files = ["train.jsonl"]
        self.handle: IO[bytes] = (out / "train.jsonl").open("wb")
        self.encoder = msgspec.json.Encoder()

    def write(self, batch: pa.Table) -> None:
        buf = bytearray()
        for row in batch.to_pylist():
            self.encoder.encode_into(row, buf, len(buf))
            buf += b"\n"
        self.handle.write(buf)

    def close(self) -> None:
        self.handle.close()


class _ParquetSink(_Sink):
    """One file, or shards of at most ``shard_rows`` rows under data/ (the HF layout)."""

    def __init__(self, out: Path, sharded: bool, shard_rows: int, group_rows: int) -> None:
        self.out, self.sharded = out, sharded
        self.shard_rows, self.group_rows = shard_rows, group_rows
        self.files = []
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.in_shard = 0
        self.buffer: list[pa.Table] = []
        self.buffered = 0

    def _open(self) -> pq.ParquetWriter:
        name = f"data/train-{len(self.files):05d}.parquet" if self.sharded else "train.parquet"
        self.files.append(name)
        self.in_shard = 0
        return pq.ParquetWriter(self.out / name, self.schema, compression="zstd")

    def write(self, batch: pa.Table) -> None:
        if self.schema is None:
            self.schema = batch.schema
        elif batch.schema != self.schema:
            try:
                batch = batch.cast(self.schema)
            except (pa.ArrowInvalid, ValueError) as exc:
                raise WriteError(f"a batch does not match the first batch's schema: {exc}") from exc
        self.buffer.append(batch)
        self.buffered += batch.num_rows
        if self.buffered >= self.group_rows:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer:
            return
        table = pa.concat_tables(self.buffer)
        self.buffer, self.buffered = [], 0
        start = 0
        while start < table.num_rows:
            if self.writer is None or (self.sharded and self.in_shard >= self.shard_rows):
                if self.writer is not None:
                    self.writer.close()
                self.writer = self._open()
            room = self.shard_rows - self.in_shard if self.sharded else table.num_rows
            part = table.slice(start, room)
            self.writer.write_table(part)
            self.in_shard += part.num_rows
            start += part.num_rows

    def close(self) -> None:
        self._flush()
        if self.writer is None and self.schema is not None:
            self.writer = self._open()  # an empty dataset still gets a (schema-only) file
        if self.writer is not None:
            self.writer.close()


def write_dataset(
    tables: Iterable[pa.Table | pa.RecordBatch],
    out: str | Path,
    format: FileFormat,
    card: DatasetCard,
    *,
    total_rows: int | None = None,
    progress: bool = True,
    shard_rows: int = 1_000_000,
    group_rows: int = 65_536,
    console: Console | None = None,
) -> WriteResult:
    """Stream ``tables`` into ``out`` (a directory, created if needed) as ``format``, then write
    its dataset card. Memory: one batch plus one row group, whatever the total size."""
    out = Path(out)
    if format not in ("jsonl", "parquet", "hf"):
        raise WriteError(f"unknown file format {format!r} (expected jsonl, parquet or hf)")
    out.mkdir(parents=True, exist_ok=True)
    if format == "hf":
        (out / "data").mkdir(exist_ok=True)
        for stale in (out / "data").glob("train-*.parquet"):
            stale.unlink()
    sink: _Sink = (
        _JsonlSink(out)
        if format == "jsonl"
        else _ParquetSink(out, format == "hf", shard_rows, group_rows)
    )
    stats = CardStats()
    bar = Progress(
        TextColumn("[bold]export[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not progress,
        transient=False,
    )
    try:
        with bar:
            task = bar.add_task(f"{format} → {out}", total=total_rows)
            for batch in tables:
                table = (
                    pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
                )
                sink.write(table)
                stats.update(table)
                bar.advance(task, table.num_rows)
                del table, batch
    finally:
        sink.close()
    data_files = ["data/train-*.parquet"] if format == "hf" else list(sink.files)
    readme = out / "README.md"
    readme.write_text(render_card(card, stats, data_files, format), encoding="utf-8")
    return WriteResult(out, [out / f for f in sink.files], stats.rows, readme, stats)


def read_card_header(readme: Path) -> dict[str, Any]:
    """The YAML header of a card written here (JSON flow values, one key per line)."""
    lines = readme.read_text(encoding="utf-8").split("\n")
    if not lines or lines[0] != "---":
        raise WriteError(f"{readme}: no YAML header")
    header: dict[str, Any] = {}
    for line in lines[1 : lines.index("---", 1)]:
        key, _, value = line.partition(": ")
        header[key] = msgspec.json.decode(value)
    return header
