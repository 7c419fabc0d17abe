"""`workprint enroll URL CODE` (this device joins a collector) and `workprint upload` (send the
spool now, with progress). The recorder uploads by itself once a collector is configured."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from workprint.cli.app import HomeOption, app, resolve_home
from workprint.errors import WorkprintError

if TYPE_CHECKING:
    import httpx

out = Console(highlight=False, markup=False, soft_wrap=True)
MAX_ATTEMPTS = 6


@app.command()
def enroll(
    url: Annotated[str, typer.Argument(help="The collector, e.g. https://collector.example:8420")],
    code: Annotated[str, typer.Argument(help="The one-time code from your administrator.")],
    home: HomeOption = None,
    name: Annotated[
        str | None,
        typer.Option(help="Device name (default: this agent's device id).", show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier enrollment.")] = False,
) -> None:
    """Enroll this device with a collector: redeem CODE, keep the device credential (0600)."""
    import httpx

    from workprint.spool import load_or_create_device_id
    from workprint.spool.collector_config import load_enrollment, save_enrollment

    paths = resolve_home(home)
    if not force and load_enrollment(paths) is not None:
        raise WorkprintError("this device is already enrolled; use --force to enroll again")
    if not url.startswith(("http://", "https://")):
        raise WorkprintError(f"collector URL {url!r} must start with http:// or https://")
    device_name = name or load_or_create_device_id(paths.device_id_file)
    try:
        response = httpx.post(
            url.rstrip("/") + "/v1/enroll",
            json={"code": code, "device_name": device_name},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise WorkprintError(f"cannot reach the collector at {url}: {exc}") from None
    body = _json(response)
    if response.status_code != 200:
        reason = body.get("error", response.reason_phrase) if body else response.reason_phrase
        raise WorkprintError(f"enrollment refused ({response.status_code}): {reason}")
    try:
        device_id, person_id, token = (str(body[k]) for k in ("device_id", "person_id", "token"))
    except (KeyError, TypeError):
        raise WorkprintError("the collector's answer lacks device_id, person_id or token") from None
    save_enrollment(paths, url, device_id, person_id, token)
    out.print(f"enrolled: device {device_id} of person {person_id} with {url.rstrip('/')}")


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@app.command()
def upload(
    home: HomeOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Upload the spool to the collector now (retrying briefly); non-zero exit if some is left."""
    import httpx

    from workprint.crypto import load_or_create_device_key
    from workprint.spool import Spool, load_or_create_device_id
    from workprint.spool.collector_config import load_enrollment
    from workprint.spool.uploader import Uploader, UploadReport, backoff_delay

    paths = resolve_home(home)
    enrollment = load_enrollment(paths)
    if enrollment is None:
        raise WorkprintError("this device is not enrolled: run `workprint enroll URL CODE` first")
    config, token = enrollment
    if not paths.spool_file.exists():
        out.print("nothing to upload: no spool yet")
        return
    key = load_or_create_device_key(paths.device_key_file, create=False)
    device_id = load_or_create_device_id(paths.device_id_file)
    total = UploadReport()
    with (
        Spool.open(paths.spool_file, key, device_id=device_id, create=False) as spool,
        httpx.Client(timeout=httpx.Timeout(60, connect=10)) as client,
    ):
        uploader = Uploader(
            spool, config.url, token, client=client, consent_file=paths.consent_file
        )
        columns = (
            TextColumn("uploading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("batches"),
        )
        with Progress(*columns, console=Console(stderr=True), disable=quiet) as progress:
            task = progress.add_task("upload", total=spool.stats().batches)
            failures = 0
            while True:
                report = uploader.run_once(max_batches=16)
                for name in (
                    "sent_batches",
                    "sent_events",
                    "accepted",
                    "duplicates",
                    "quarantined",
                ):
                    setattr(total, name, getattr(total, name) + getattr(report, name))
                progress.update(task, advance=report.sent_batches + report.quarantined)
                if report.error is None and report.backlog_batches == 0:
                    break
                if report.error is None:
                    continue
                failures += 1
                if report.fatal or failures >= MAX_ATTEMPTS:
                    raise WorkprintError(
                        f"upload stopped with {report.backlog_batches} batches left: {report.error}"
                    )
                time.sleep(max(backoff_delay(failures), report.retry_after or 0.0))
    out.print(
        f"uploaded {total.sent_batches} batches ({total.sent_events} events: {total.accepted} "
        f"new, {total.duplicates} already there), quarantined {total.quarantined}"
    )
