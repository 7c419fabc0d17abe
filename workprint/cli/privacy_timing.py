"""`workprint privacy anonymize-keystrokes|anonymize-mouse|evaluate-reid`: typing rhythm and
mouse dynamics are biometrics; these anonymise them and measure how well that works.

CSV in on stdin, CSV out on stdout. A bad line is reported on stderr as ``line N: reason`` and
left out; the good lines are processed. The exit status is non-zero (2) only when the input is
unusable as a whole: empty, no recognisable header or first row, or no good line at all.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec
import typer

from workprint.cli.privacy import privacy_app
from workprint.privacy.timing.settings import (
    CLASSIFIERS,
    DEFAULT_MIN_PEOPLE,
    DEFAULT_PAUSE_MS,
    FEATURE_SETS,
    MOUSE_COLUMNS,
    TimingInputError,
)

if TYPE_CHECKING:  # numpy and Arrow load when a command runs, not with the ``workprint`` command
    import pyarrow as pa

SeedOption = Annotated[
    int | None,
    typer.Option(help="Seed for reproducible output (default: a fresh random seed)."),
]
KeepSpeedOption = Annotated[
    float | None,
    typer.Option(
        "--keep-speed",
        help="Keep each session's typing speed within this relative error (e.g. 0.1); "
        "default: speed is not kept (the strict profile).",
        show_default=False,
    ),
]
KeepPausesOption = Annotated[
    bool, typer.Option("--keep-pauses", help="Keep where each session paused.")
]
PauseOption = Annotated[
    float, typer.Option("--pause-ms", help="An interval at least this long is a pause.")
]


def _report(problems: list[str]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def _read(path: Path | None) -> pa.Table:
    from workprint.privacy.timing.csv_io import read_keystrokes

    """A keystroke CSV from a file or stdin, its bad lines reported on stderr."""
    if path is None:
        parsed = read_keystrokes(sys.stdin)
    else:
        try:
            with path.open(newline="", encoding="utf-8") as source:
                parsed = read_keystrokes(source)
        except (OSError, UnicodeDecodeError) as exc:
            raise TimingInputError(f"{path}: {exc}") from exc
    _report(parsed.problems)
    return parsed.table


@privacy_app.command("anonymize-keystrokes")
def anonymize_keystrokes_command(
    seed: SeedOption = None,
    keep_speed: KeepSpeedOption = None,
    keep_pauses: KeepPausesOption = False,
    pause_ms: PauseOption = DEFAULT_PAUSE_MS,
    min_people: Annotated[
        int, typer.Option(help="Refuse to pool timings of fewer people than this plus one.")
    ] = DEFAULT_MIN_PEOPLE,
    reference: Annotated[
        Path | None,
        typer.Option(
            help="A keystroke CSV of other people whose timings join the pool (not output).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Read CSV user,session,keyname,timepress,timerelease (ms) on stdin; write the same
    columns with anonymised times on stdout (key order, rows and labels unchanged)."""
    table = _read(None)
    ref = _read(reference) if reference is not None else None
    from workprint.privacy.timing.csv_io import write_keystrokes
    from workprint.privacy.timing.keystrokes import anonymize_keystrokes

    result = anonymize_keystrokes(
        table,
        seed=seed,
        speed_tolerance=keep_speed,
        keep_pauses=keep_pauses,
        pause_ms=pause_ms,
        min_people=min_people,
        reference=ref,
    )
    write_keystrokes(result, sys.stdout)


def _read_mouse() -> tuple[pa.Table, list[str]]:
    import pyarrow as pa

    """Mouse CSV from stdin: a header is required; bad lines are reported and left out."""
    rows = csv.reader(sys.stdin)
    problems: list[str] = []
    paths: list[str] = []
    values: list[list[float]] = [[], [], []]
    header = next(rows, None)
    if header is None or [name.strip().lower() for name in header] != list(MOUSE_COLUMNS):
        raise TimingInputError(f"line 1: expected the header {','.join(MOUSE_COLUMNS)}")
    for fields in rows:
        number = rows.line_num
        if len(fields) != len(MOUSE_COLUMNS):
            problems.append(f"line {number}: expected 4 columns, got {len(fields)}")
            continue
        try:
            numbers = [float(text) for text in fields[1:]]
        except ValueError:
            problems.append(f"line {number}: t, x and y must be numbers")
            continue
        if not fields[0].strip() or not all(math.isfinite(v) for v in numbers):
            problems.append(f"line {number}: empty path or non-finite number")
            continue
        paths.append(fields[0])
        for column, value in zip(values, numbers, strict=True):
            column.append(value)
    if not paths and problems:
        raise TimingInputError(f"no usable rows ({len(problems)} bad)")
    table = pa.table(
        {"path": pa.array(paths, pa.string())}
        | {name: pa.array(column, pa.float64()) for name, column in zip("txy", values, strict=True)}
    )
    return table, problems


@privacy_app.command("anonymize-mouse")
def anonymize_mouse_command(seed: SeedOption = None) -> None:
    """Read CSV path,t,x,y on stdin; write it with each path's points between its first and
    last re-synthesised (endpoints, point count and row order kept)."""
    table, problems = _read_mouse()
    _report(problems)
    from workprint.privacy.timing.mouse import anonymize_mouse_paths

    result = anonymize_mouse_paths(table, seed=seed)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(MOUSE_COLUMNS)
    for path, t, x, y in zip(*(result.column(n).to_pylist() for n in MOUSE_COLUMNS), strict=True):
        writer.writerow((path, *(repr(round(v, 3)) for v in (t, x, y))))


@privacy_app.command("evaluate-reid")
def evaluate_reid_command(
    file: Annotated[Path, typer.Argument(help="Keystroke CSV with several sessions per person.")],
    seed: SeedOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    classifier: Annotated[
        list[str] | None,
        typer.Option(help=f"Attack classifier(s): {', '.join(CLASSIFIERS)} (default: all)."),
    ] = None,
    features: Annotated[
        list[str] | None,
        typer.Option(help=f"Feature set(s): {', '.join(FEATURE_SETS)} (default: all)."),
    ] = None,
    keep_speed: KeepSpeedOption = None,
    keep_pauses: KeepPausesOption = False,
    pause_ms: PauseOption = DEFAULT_PAUSE_MS,
) -> None:
    """Re-identification accuracy (top-1) on raw data, on anonymised data against an attacker
    trained on raw and one trained on anonymised data, next to chance; and utility figures."""
    classifiers = tuple(classifier or CLASSIFIERS)
    feature_sets = tuple(features or FEATURE_SETS)
    for name in feature_sets:
        if name not in FEATURE_SETS:
            raise typer.BadParameter(f"unknown feature set {name!r}", param_hint="--features")
    for name in classifiers:
        if name not in CLASSIFIERS:
            raise typer.BadParameter(f"unknown classifier {name!r}", param_hint="--classifier")
    from workprint.privacy.timing.keystrokes import anonymize_keystrokes
    from workprint.privacy.timing.reid import evaluate_reid

    table = _read(file)

    def anonymise(data: pa.Table, used_seed: int) -> pa.Table:
        return anonymize_keystrokes(
            data,
            seed=used_seed,
            speed_tolerance=keep_speed,
            keep_pauses=keep_pauses,
            pause_ms=pause_ms,
        )

    report = evaluate_reid(
        table,
        seed=seed,
        classifiers=classifiers,
        feature_sets=feature_sets,
        pause_ms=pause_ms,
        anonymize=anonymise,
    )
    if json_output:
        sys.stdout.write(msgspec.json.encode(report.as_dict()).decode() + "\n")
    else:
        typer.echo(report.table())
