"""`workprint privacy scan|eval`: redact personal data and secrets in JSON lines; score a corpus.

``scan`` is a contract other tools rely on: one output line per input line, in order; a line
that cannot be scanned yields ``{"id": null, "error": "…"}`` and the rest goes on; exit 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import msgspec
import typer

from workprint.cli.app import app
from workprint.privacy.corpus import load_corpus, split_groups
from workprint.privacy.evaluate import evaluate
from workprint.privacy.redact import SurrogateFn, Surrogates, redact
from workprint.privacy.scanner import scan_text

privacy_app = typer.Typer(
    name="privacy",
    help="Find and redact personal data and secrets; measure how well that works.",
    no_args_is_help=True,
)
app.add_typer(privacy_app)

_encoder = msgspec.json.Encoder()


def _error(message: str) -> bytes:
    return _encoder.encode({"id": None, "error": message})


def scan_line(line: bytes, surrogate: SurrogateFn | None) -> bytes:
    """One input line (without its newline) to one output line (without its newline)."""
    if not line.strip():
        return _error("empty line")
    try:
        record: Any = msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as bad:
            return _error(f"invalid UTF-8 at byte {bad.start}")
        return _error(f"invalid JSON: {exc}")
    if not isinstance(record, dict):
        return _error(f"expected a JSON object, got {type(record).__name__}")
    if "text" not in record:
        return _error('missing "text"')
    text = record["text"]
    if not isinstance(text, str):
        return _error(f'"text" must be a string, got {type(text).__name__}')
    spans = scan_text(text)
    return _encoder.encode(
        {
            "id": record.get("id"),
            "text": redact(text, spans, surrogate),
            "spans": [{"start": s.start, "end": s.end, "type": s.type.value} for s in spans],
        }
    )


def scan_stream(
    source: BinaryIO, sink: BinaryIO, surrogate: SurrogateFn | None, line_buffered: bool
) -> None:
    """Every line of ``source`` through ``scan_line`` to ``sink``; a final line without a
    newline still counts."""
    for raw in source:
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.endswith(b"\r"):
            line = line[:-1]
        sink.write(scan_line(line, surrogate) + b"\n")
        if line_buffered:
            sink.flush()
    sink.flush()


@privacy_app.command("scan")
def scan_command(
    surrogate_key: Annotated[
        Path | None,
        typer.Option(
            "--surrogate-key",
            help="A file holding this release's secret key (>= 16 bytes): replace values with "
            "consistent <TYPE_xxxxxxxx> surrogates instead of <TYPE>.",
            show_default=False,
        ),
    ] = None,
    line_buffered: Annotated[
        bool, typer.Option("--line-buffered", help="Flush after every output line.")
    ] = False,
) -> None:
    """Read JSON lines {"id", "text"} on stdin; write {"id", "text" (redacted), "spans"} on
    stdout, one line per input line, in order. Offsets are code points into the original
    text. A bad line (not JSON, not an object, no string "text", empty, invalid UTF-8) gives
    {"id": null, "error": "..."}; processing goes on and the exit status stays 0."""
    surrogate = None
    if surrogate_key is not None:
        try:
            surrogate = Surrogates(surrogate_key.read_bytes().strip())
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--surrogate-key") from exc
    scan_stream(sys.stdin.buffer, sys.stdout.buffer, surrogate, line_buffered)


@privacy_app.command("eval")
def eval_command(
    corpus: Annotated[
        Path,
        typer.Argument(
            help="presidio-research JSON (synth_dataset_v2.json) or a workprint marked corpus "
            "(tests/data/pii/*.txt)."
        ),
    ],
    split: Annotated[
        str,
        typer.Option(help="dev, test or all: halves of the templates, by a fixed seed."),
    ] = "all",
    show: Annotated[int, typer.Option(help="Also print up to N misses and N false positives.")] = 0,
) -> None:
    """Recall and precision per type (span level, >= 50% mutual overlap; docs/privacy.md)."""
    if split not in ("dev", "test", "all"):
        raise typer.BadParameter("expected dev, test or all", param_hint="--split")
    examples = split_groups(load_corpus(corpus), split)
    report = evaluate(examples, scan_text)
    typer.echo(f"# {corpus} ({split}: {len(examples)} texts)")
    typer.echo(report.table())
    typer.echo(
        f"\nleaked characters (gold characters covered by no detection): {report.leak_rate:.2%}"
    )
    for title, items in (("misses", report.misses), ("false positives", report.false_positives)):
        if show and items:
            typer.echo(f"\n{title}:")
            for text, span in items[:show]:
                context = text[max(0, span.start - 30) : span.end + 30].replace("\n", "⏎")
                typer.echo(f"  {span.type.value}: {text[span.start : span.end]!r} in …{context}…")
