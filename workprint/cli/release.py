"""`workprint release create|show|approve|list`: the only way a dataset leaves the raw store.

``create`` builds KIND from the store under the steward's release policy, runs every check and
registers the release as ``pending`` (passed, awaiting a steward) or ``blocked`` (with the
reasons). ``approve`` is for stewards only and refuses a blocked release. ``show`` verifies the
files against the manifest. Releases live under ``--releases`` (default ``<store>/releases``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final, cast

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from workprint.builders.pipeline import KINDS
from workprint.cli.app import app
from workprint.cli.store_options import MasterOption, StoreOption, actor, open_store
from workprint.release.registry import ReleaseError, ReleaseInfo

release_app = typer.Typer(
    name="release",
    help="Create, inspect, approve and list releases: datasets that passed the privacy gate.",
    no_args_is_help=True,
)
app.add_typer(release_app)

FILE_FORMATS: Final = ("jsonl", "parquet", "hf")
STEWARD_POLICY_NAME: Final = "release-policy.toml"  # in the data directory, kept by the portal
ReleasesOption = Annotated[
    Path | None,
    typer.Option(
        "--releases", help="The release root (default: <store>/releases).", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
_console = Console()


def _root(releases: Path | None, store_dir: Path | None) -> Path:
    if releases is not None:
        return releases
    from workprint.store.embedded import default_data_dir

    return (store_dir or default_data_dir()).expanduser() / "releases"


def _when(ns: int | None) -> str:
    return "—" if ns is None else datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M")


def _print(info: ReleaseInfo, problems: list[str] | None = None) -> None:
    colour = {"blocked": "red", "pending": "yellow", "approved": "green"}[info.status]
    _console.print(
        f"[bold]{info.id}[/] ({info.kind}, {info.name} v{info.version}) — "
        f"[{colour}]{info.status}[/], ε {info.epsilon:g}, created {_when(info.created_ns)} "
        f"by {info.created_by}" + (f", approved by {info.approver}" if info.approver else "")
    )
    for check in info.checks:
        mark = "[green]✓[/]" if check.passed else "[red]✗[/]"
        _console.print(f"  {mark} {check.name}: {check.reason}", highlight=False)
    _console.print(f"  files: {info.path}")
    if problems is not None:
        _console.print(
            "  [green]files match the manifest[/]"
            if not problems
            else "  [red]TAMPERED[/]: " + "; ".join(problems)
        )


@release_app.command("create")
def create_command(
    kind: Annotated[str, typer.Argument(metavar="KIND", help=f"One of: {', '.join(KINDS)}.")],
    name: Annotated[
        str, typer.Option("--name", help="The dataset name (versions count per name).")
    ],
    policy_file: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="The release policy (TOML; default: DATA/release-policy.toml, which the "
            "portal's policy editor keeps, else the built-in policy).",
        ),
    ] = None,
    store_dir: StoreOption = None,
    master: MasterOption = None,
    releases: ReleasesOption = None,
    person: Annotated[
        list[str] | None, typer.Option("--person", help="Only this person (repeatable).")
    ] = None,
    link_key: Annotated[
        Path | None,
        typer.Option("--link-key", help="A steward's key file: pseudonyms linkable on purpose."),
    ] = None,
    file_format: Annotated[str, typer.Option("--format", help="jsonl, parquet or hf.")] = "parquet",
    thresholds: Annotated[
        list[str] | None, typer.Option("--set", metavar="NAME=VALUE", help="Builder setting.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build KIND from the store, apply the release policy, run every check, register it."""
    from workprint.release.create import ReleaseRequest, create_release
    from workprint.release.policy import default_policy, load_policy
    from workprint.store.embedded import default_data_dir

    if kind not in KINDS:
        raise ReleaseError(f"unknown dataset kind {kind!r} (one of: {', '.join(KINDS)})")
    if file_format not in FILE_FORMATS:
        raise ReleaseError(f"unknown file format {file_format!r} (one of: jsonl, parquet, hf)")
    if policy_file is None:  # the steward's current policy, as the portal saves it
        kept = (store_dir or default_data_dir()).expanduser() / STEWARD_POLICY_NAME
        policy_file = kept if kept.is_file() else None
    policy = load_policy(policy_file) if policy_file else default_policy()
    from workprint.export.writers import FileFormat

    with open_store(store_dir, master) as store:
        request = ReleaseRequest(
            kind=kind,
            name=name,
            policy=policy,
            root=_root(releases, store_dir),
            actor=actor(),
            people=person,
            link_key=link_key,
            file_format=cast(FileFormat, file_format),
            settings=thresholds or [],
        )
        info = create_release(store, request)
    if as_json:
        typer.echo(msgspec.json.encode(info).decode())
    else:
        _print(info)
    if info.status == "blocked":
        raise typer.Exit(1)


@release_app.command("show")
def show_command(
    release_id: Annotated[str, typer.Argument(metavar="RELEASE")],
    store_dir: StoreOption = None,
    releases: ReleasesOption = None,
    as_json: JsonOption = False,
) -> None:
    """One release: its checks, status, and whether its files still match the manifest."""
    from workprint.release.registry import get_release, verify_release

    root = _root(releases, store_dir)
    info = get_release(root, release_id)
    problems = verify_release(root, release_id)
    if as_json:
        doc = msgspec.to_builtins(info) | {"intact": not problems, "problems": problems}
        typer.echo(json.dumps(doc, ensure_ascii=False))
    else:
        _print(info, problems)
    if problems:
        raise typer.Exit(1)


@release_app.command("approve")
def approve_command(
    release_id: Annotated[str, typer.Argument(metavar="RELEASE")],
    steward: Annotated[str, typer.Option("--as", help="The approving steward's person id.")],
    store_dir: StoreOption = None,
    master: MasterOption = None,
    releases: ReleasesOption = None,
) -> None:
    """Approve a release whose checks passed (stewards only); its files become read-only."""
    from workprint.release.registry import approve

    with open_store(store_dir, master) as store:
        info = approve(_root(releases, store_dir), release_id, steward, store)
    typer.echo(f"approved {info.id} ({info.name} v{info.version}) by {info.approver}")


@release_app.command("list")
def list_command(
    store_dir: StoreOption = None,
    releases: ReleasesOption = None,
    researcher: Annotated[
        bool, typer.Option("--researcher", help="Only what a researcher sees (approved).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Every release, newest first."""
    from workprint.release.registry import list_releases

    infos = list_releases(_root(releases, store_dir), role="researcher" if researcher else None)
    if as_json:
        typer.echo(json.dumps([msgspec.to_builtins(i) for i in infos], ensure_ascii=False))
        return
    table = Table("release", "kind", "version", "status", "ε", "created", "approver")
    for info in infos:
        table.add_row(
            info.id,
            info.kind,
            str(info.version),
            info.status,
            f"{info.epsilon:g}",
            _when(info.created_ns),
            info.approver or "—",
        )
    _console.print(table)
