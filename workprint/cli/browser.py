"""`workprint browser install|status|host|package`: connect the browser extension to the
recorder through native messaging (docs/browser.md)."""

from __future__ import annotations

import enum
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console

from workprint.capture.browser_bridge import load_or_create_browser_secret
from workprint.capture.browser_host import RecorderLink, browser_secret_file
from workprint.cli.app import HomeOption, app, resolve_home
from workprint.errors import WorkprintError
from workprint.home import Home

HOST_NAME: Final = "org.workprint.agent"
# The id Chromium derives from the public "key" in extension/manifest.json (stable for an
# unpacked extension wherever it lies), and the Firefox add-on id in its manifest.
CHROMIUM_EXTENSION_ID: Final = "ecganlojiidiebakccfljlibkmgjkbmk"
FIREFOX_EXTENSION_ID: Final = "browser@workprint.org"
EXTENSION_DIR: Final = Path(__file__).resolve().parents[2] / "extension"

browser_app = typer.Typer(
    help="The browser extension: install its native messaging host, check it, package it.",
    no_args_is_help=True,
)
app.add_typer(browser_app, name="browser")
out = Console()


class Browser(enum.StrEnum):
    chromium = "chromium"
    chrome = "chrome"
    firefox = "firefox"
    all = "all"


def _default_manifest_dirs(browser: Browser) -> list[tuple[str, Path]]:
    home = Path.home()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    dirs = {
        "chromium": config / "chromium" / "NativeMessagingHosts",
        "chrome": config / "google-chrome" / "NativeMessagingHosts",
        "firefox": home / ".mozilla" / "native-messaging-hosts",
    }
    wanted = list(dirs) if browser is Browser.all else [browser.value]
    return [(name, dirs[name]) for name in wanted]


def host_manifest(kind: str, host_path: Path) -> dict[str, object]:
    """The native messaging host manifest: only the workprint extension may start the host."""
    manifest: dict[str, object] = {
        "name": HOST_NAME,
        "description": "workprint: delivers the browser extension's events to the recorder",
        "path": str(host_path),
        "type": "stdio",
    }
    if kind == "firefox":
        manifest["allowed_extensions"] = [FIREFOX_EXTENSION_ID]
    else:
        manifest["allowed_origins"] = [f"chrome-extension://{CHROMIUM_EXTENSION_ID}/"]
    return manifest


def write_host_script(home: Home, root: Path | None) -> Path:
    """The executable a host manifest names (a manifest cannot pass arguments)."""
    script = home.data_dir / "browser-host"
    lines = ["#!/bin/sh", "# written by `workprint browser install`: the native messaging host"]
    if root is not None:
        lines.append(f"export WORKPRINT_HOME={_sh_quote(str(root.expanduser().absolute()))}")
    lines.append(f'exec {_sh_quote(sys.executable)} -m workprint.capture.browser_host "$@"')
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script.chmod(0o700)
    return script


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


@browser_app.command()
def install(
    home: HomeOption = None,
    browser: Annotated[
        Browser, typer.Option(help="Which browser's host manifest to write.")
    ] = Browser.all,
    manifest_dir: Annotated[
        Path | None,
        typer.Option(
            help="Write the host manifest into this directory instead (e.g. the "
            "NativeMessagingHosts folder of a Chromium --user-data-dir).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the native messaging host manifest(s) and the host script, and create the secret
    the host presents to the recorder."""
    resolved = resolve_home(home)
    load_or_create_browser_secret(browser_secret_file(resolved))
    script = write_host_script(resolved, home)
    if manifest_dir is not None:
        if browser is Browser.all:
            raise WorkprintError("--manifest-dir needs one --browser (chromium, chrome, firefox)")
        targets = [(browser.value, manifest_dir)]
    else:
        targets = _default_manifest_dirs(browser)
    for kind, directory in targets:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{HOST_NAME}.json"
            path.write_text(json.dumps(host_manifest(kind, script), indent=2) + "\n")
        except OSError as exc:
            raise WorkprintError(f"cannot write the {kind} host manifest: {exc}") from None
        out.print(f"{kind}: {path}")
    out.print(f"host: {script}")


@browser_app.command()
def status(home: HomeOption = None) -> None:
    """Ask the recorder, the way the extension does, what the browser would record now."""
    link = RecorderLink(resolve_home(home))
    try:
        reply = link.ask({"op": "state"})
    finally:
        link.close()
    if not reply.get("ok"):
        raise WorkprintError(str(reply.get("error", "no reason")))
    out.print(f"browser capture: {reply['state']}")
    out.print(f"typed values: {'kept' if reply.get('text') else 'lengths and timing only'}")
    out.print(f"excluded sites: {', '.join(reply.get('exclude_sites', [])) or 'none'}")


@browser_app.command(context_settings={"allow_extra_args": True})
def host(ctx: typer.Context, home: HomeOption = None) -> None:
    """Run the native messaging host on stdin/stdout (the browser starts it; not for people)."""
    from workprint.capture.browser_host import serve

    del ctx  # the browser passes the extension's origin (Chromium) or manifest path (Firefox)
    raise typer.Exit(serve(resolve_home(home)))


@browser_app.command()
def package(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the extension into.")],
    browser: Annotated[Browser, typer.Option(help="chromium (= chrome) or firefox.")] = (
        Browser.firefox
    ),
) -> None:
    """Copy the extension for one browser: the same code, with that browser's manifest."""
    if browser is Browser.all:
        raise WorkprintError("package one browser at a time: --browser chromium or firefox")
    if not (EXTENSION_DIR / "manifest.json").is_file():
        raise WorkprintError(f"the extension sources are not at {EXTENSION_DIR}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise WorkprintError(f"{out_dir} exists and is not empty")
    shutil.copytree(
        EXTENSION_DIR / "src", out_dir / "src", dirs_exist_ok=True, ignore=_ignore_tests
    )
    name = "manifest.firefox.json" if browser is Browser.firefox else "manifest.json"
    shutil.copyfile(EXTENSION_DIR / name, out_dir / "manifest.json")
    out.print(f"{browser.value} extension: {out_dir}")


def _ignore_tests(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n.endswith(".test.js")]
