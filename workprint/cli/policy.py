"""`workprint policy check|show`: validate a policy file, print the policy in force."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workprint.cli.app import HomeOption, app
from workprint.home import Home
from workprint.policy.policy_file import (
    PolicyError,
    default_policy,
    default_policy_text,
    load_policy,
    to_toml,
)

policy_app = typer.Typer(
    name="policy",
    help="Check and show the edge policy: what the recorder may keep.",
    no_args_is_help=True,
)
app.add_typer(policy_app)


@policy_app.command("check")
def check_command(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="The policy file to check (default: this installation's).", show_default=False
        ),
    ] = None,
    home: HomeOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the verdict, not the policy.")
    ] = False,
) -> None:
    """Validate a policy file; print it as read (defaults filled in), or a one-line reason."""
    path = Home.resolve(home).policy_file if file is None else file
    if path.exists():
        policy, source = load_policy(path), str(path)
    elif file is None:
        typer.echo(f"# no policy file at {path}: the packaged default applies")
        policy, source = default_policy(), "the packaged default"
    else:
        raise PolicyError(f"policy file {path}: no such file")
    rules = len(policy.exclude)
    typer.echo(f"# {source}: valid (policy version {policy.version}, {rules} exclusion rules)")
    if not quiet:
        typer.echo(to_toml(policy), nl=False)


@policy_app.command("show")
def show_command(
    home: HomeOption = None,
    default: Annotated[
        bool,
        typer.Option("--default", help="Print the packaged default policy file, comments and all."),
    ] = False,
) -> None:
    """Print the policy in force for this installation."""
    if default:
        typer.echo(default_policy_text(), nl=False)
        return
    path = Home.resolve(home).policy_file
    source = str(path) if path.exists() else f"the packaged default (no file at {path})"
    policy = load_policy(path)
    typer.echo(f"# policy in force: {source}")
    typer.echo(to_toml(policy), nl=False)
