"""`workprint export FORMAT --actions DIR_OR_FILE --out OUTDIR`: a built actions dataset → the
action format an agent trainer consumes (pyautogui code, OSWorld computer_13, OpenAI computer-use
or Anthropic computer-tool calls) or the web-agent formats (WebLINX action strings, Mind2Web
operations; ``workprint.export.web_formats``) for the actions the timeline join placed on a page,
as an ``action`` column next to the action record.

The input is read a batch at a time and written as it is converted, so memory stays one batch
whatever the dataset's size. Its card is carried over (people, hours, consent scopes, builder,
thresholds, privacy transforms) with the action format added.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, cast

import typer

from workprint.cli.app import app
from workprint.errors import WorkprintError

if TYPE_CHECKING:
    import pyarrow as pa

    from workprint.export import DatasetCard
    from workprint.export.action_formats import Format
    from workprint.export.web_formats import WebFormat
    from workprint.export.writers import FileFormat

# CLI name → the exporter's name
ACTION_FORMATS: Final = {
    "pyautogui": "pyautogui",
    "computer13": "computer_13",
    "openai": "openai",
    "anthropic": "anthropic",
}
WEB_FORMATS: Final = ("weblinx", "mind2web")  # from the actions' element and url columns
BATCH_ROWS: Final = 8_192
# What a card's header holds that is not carried over as an extra
_CARD_FIELDS: Final = frozenset(
    [
        "kind",
        "source",
        "rows",
        "sessions",
        "people",
        "hours",
        "consent_scopes",
        "consent",
        "builder",
        "builder_version",
        "thresholds",
        "privacy_transforms",
        "action_format",
        "file_format",
        "kinds",
    ]
)


class DatasetReadError(WorkprintError):
    """The input is not an actions dataset this command can read."""


def data_files(path: Path) -> tuple[list[Path], Path | None]:
    """The data files of a dataset (a file, or a directory written by ``workprint build``) and
    its card, if it has one."""
    if path.is_file():
        card = path.parent / "README.md"
        return [path], card if card.is_file() else None
    if not path.is_dir():
        raise DatasetReadError(f"{path}: no such file or directory")
    shards = sorted((path / "data").glob("train-*.parquet"))
    files = shards or [p for p in (path / "train.parquet", path / "train.jsonl") if p.is_file()]
    if not files:
        raise DatasetReadError(
            f"{path}: no dataset here (expected data/train-*.parquet, train.parquet or "
            "train.jsonl, as `workprint build actions` writes)"
        )
    card = path / "README.md"
    return files, card if card.is_file() else None


def _jsonl_schema(first: dict[str, Any], path: Path) -> pa.Schema:
    import pyarrow as pa

    from workprint.builders.actions import ACTION_SCHEMA

    missing = [name for name in ACTION_SCHEMA.names if name not in first]
    if missing:
        raise DatasetReadError(
            f"{path}:1: not an actions dataset: no field(s) {', '.join(missing[:5])}"
        )
    # the columns `workprint build actions` adds around the action record
    before = [pa.field("person", pa.string())] if "person" in first else []
    after = [pa.field("episode", pa.string())] if "episode" in first else []
    return pa.schema([*before, *ACTION_SCHEMA, *after])


def _jsonl_batches(path: Path) -> Iterator[pa.Table]:
    import msgspec

    decode = msgspec.json.Decoder(dict[str, Any]).decode
    schema: pa.Schema | None = None
    rows: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(decode(line))
            except msgspec.DecodeError as exc:
                raise DatasetReadError(f"{path}:{number}: not a JSON object: {exc}") from None
            if schema is None:
                schema = _jsonl_schema(rows[0], path)
            if len(rows) >= BATCH_ROWS:
                yield _rows_table(rows, schema, path)
                rows = []
    if rows and schema is not None:
        yield _rows_table(rows, schema, path)


def _rows_table(rows: list[dict[str, Any]], schema: pa.Schema, path: Path) -> pa.Table:
    import pyarrow as pa

    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise DatasetReadError(f"{path}: not an actions dataset: {exc}") from None


def read_actions(files: list[Path]) -> Iterator[pa.Table]:
    """The actions of ``files``, a batch at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in files:
        if path.suffix == ".jsonl":
            yield from _jsonl_batches(path)
            continue
        try:
            reader = pq.ParquetFile(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise DatasetReadError(f"{path}: not a Parquet file: {exc}") from None
        for batch in reader.iter_batches(batch_size=BATCH_ROWS):
            yield pa.Table.from_batches([batch])


def converted(tables: Iterator[pa.Table], fmt: str) -> Iterator[pa.Table]:
    import msgspec

    from workprint.builders.actions import ACTION_SCHEMA
    from workprint.export import with_action_format
    from workprint.export.web_formats import with_web_format

    for table in tables:
        missing = [name for name in ACTION_SCHEMA.names if name not in table.column_names]
        if missing:
            raise DatasetReadError(f"not an actions dataset: no column(s) {', '.join(missing[:5])}")
        if "action" in table.column_names:  # an export exported again: replace its column
            table = table.drop_columns(["action"])
        try:
            if fmt in WEB_FORMATS:
                yield with_web_format(table, cast("WebFormat", fmt))
            else:
                yield with_action_format(table, cast("Format", fmt))
        except msgspec.ValidationError as exc:
            raise DatasetReadError(f"not an actions dataset: {exc}") from None


def carried_card(card_file: Path | None, fmt: str) -> DatasetCard:
    """The input's card with the action format set; a plain card if the input had none."""
    import msgspec

    from workprint.export import DatasetCard
    from workprint.export.writers import read_card_header

    if card_file is None:
        return DatasetCard(
            name=f"workprint actions ({fmt})",
            description=f"Actions exported to the {fmt} action format. The input had no "
            "dataset card: what it was built from is unknown.",
            action_format=fmt,
        )
    try:
        header = read_card_header(card_file)
    except (ValueError, msgspec.DecodeError) as exc:
        raise DatasetReadError(f"{card_file}: not a workprint dataset card: {exc}") from None
    meta: dict[str, Any] = dict(header.get("workprint") or {})
    name = str(header.get("pretty_name", "workprint actions"))
    transforms = [t for t in meta.get("privacy_transforms", []) if t != "none"]
    return DatasetCard(
        name=f"{name} ({fmt})",
        description=f"{name}, exported to the {fmt} action format: the `action` column holds "
        "each action's "
        + {
            "pyautogui": "pyautogui code.",
            "weblinx": "WebLINX action string (null: not a web step WebLINX can express).",
            "mind2web": "Mind2Web action as JSON (null: not a web step Mind2Web can express).",
        }.get(fmt, "calls as a JSON list (empty: not expressible in this format).")
        + f" Exported from a {meta.get('file_format', 'workprint')} dataset of "
        f"{meta.get('rows', 'an unknown number of')} actions.",
        kind=str(meta.get("kind", "computer-use actions")),
        source=str(meta.get("source", "workprint recordings")),
        people=meta.get("people"),
        hours=meta.get("hours"),
        scopes=tuple(meta.get("consent_scopes", ())),
        consent=str(meta.get("consent", "unknown")),
        builder=str(meta.get("builder", "unknown")),
        builder_version=str(meta.get("builder_version", "unknown")),
        thresholds=dict(meta.get("thresholds") or {}),
        privacy_transforms=tuple(transforms),
        action_format=fmt,
        license=str(header.get("license", "other")),
        extra={k: v for k, v in meta.items() if k not in _CARD_FIELDS},
    )


@app.command("export")
def export_command(
    fmt: Annotated[
        str,
        typer.Argument(
            metavar="FORMAT", help=f"One of: {', '.join([*ACTION_FORMATS, *WEB_FORMATS])}."
        ),
    ],
    actions: Annotated[
        Path,
        typer.Option(
            "--actions", help="A built actions dataset: its directory, or one JSONL/Parquet file."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The dataset directory to write.")],
    file_format: Annotated[
        str,
        typer.Option("--format", help="jsonl, parquet, or hf (a Hugging Face datasets directory)."),
    ] = "hf",
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Convert a built actions dataset into an agent action format, with its card carried over."""
    from workprint.export import write_dataset

    if fmt not in ACTION_FORMATS and fmt not in WEB_FORMATS:
        known = ", ".join([*ACTION_FORMATS, *WEB_FORMATS])
        raise WorkprintError(f"unknown action format {fmt!r} (one of: {known})")
    if file_format not in ("jsonl", "parquet", "hf"):
        raise WorkprintError(f"unknown file format {file_format!r} (one of: jsonl, parquet, hf)")
    files, card_file = data_files(actions)
    if out.resolve() in {actions.resolve(), *(f.resolve().parent for f in files)}:
        raise WorkprintError(f"--out {out} would overwrite the input: choose another directory")
    card = carried_card(card_file, fmt)
    tables = converted(read_actions(files), ACTION_FORMATS.get(fmt, fmt))
    first = next(tables, None)  # a wrong input fails here, before anything is written
    if first is not None:
        tables = itertools.chain([first], tables)
    result = write_dataset(tables, out, cast("FileFormat", file_format), card, progress=progress)
    typer.echo(f"exported {result.rows} actions as {fmt} → {out} (card: {result.card})")
