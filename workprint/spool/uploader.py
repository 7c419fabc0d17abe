"""The uploader: sends spooled batches to the collector and removes each one from the spool only
after the collector acknowledged it (a 200 naming the batch: it is durable there).

Delivery is at-least-once: a batch keeps its id across retries and the collector deduplicates,
so a lost response costs one resend, never a duplicate. Failures are handled by kind:

- connection errors, timeouts, 5xx and unexpected statuses: retry later with exponential backoff
  and full jitter (capped), the batch stays queued;
- 429/503: wait at least what Retry-After says;
- 400/413/422 (the collector refuses the batch as a whole): quarantine it with the collector's
  reason and go on with the next, so one bad batch never blocks the queue;
- 401/403 (credential revoked or not allowed): stop and report; nothing is dropped.

Pending batches go up together: one upload joins consecutive spooled batches up to
``MAX_UPLOAD_EVENTS`` (``merge_batches``), so a device catching up after an outage, or one that
spooled a few small batches since its last poll, costs the collector one request instead of
dozens — a request's fixed cost (HTTP, authentication, one sealed file, one commit) is most of
what a small batch costs there. The joined upload has an id of its own, derived from the ids it
holds, and the collector's (device, seq) de-duplication keeps every event exactly once even
when a retry joins a different run of batches. A joined upload the collector refuses as a whole
is sent again batch by batch, so only the bad batch is quarantined.

The device's consent history is sent (``POST /v1/consent``) before any batch whenever it changed,
because the collector enforces consent again and would refuse events it does not know consent for.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Final

import httpx
import msgspec
import zstandard

from workprint.errors import WorkprintError
from workprint.events import encode_batch
from workprint.home import Home
from workprint.policy.consent import load_consent
from workprint.spool.collector_config import load_enrollment
from workprint.spool.device_control import DeviceControl
from workprint.spool.records import SpooledBatch
from workprint.spool.schema import SpoolError
from workprint.spool.spool import Spool
from workprint.spool.wire import BATCH_CONTENT_TYPE, BATCH_ID_HEADER, BatchResult

log = logging.getLogger(__name__)

BACKOFF_BASE_S: Final = 0.5
BACKOFF_CAP_S: Final = 60.0
MAX_RETRY_AFTER_S: Final = 600.0
IDLE_POLL_S: Final = 2.0
MAX_UPLOAD_EVENTS: Final = 5_000  # events one upload joins, at most (the collector takes 50,000)
QUARANTINE_STATUSES: Final = frozenset({400, 413, 422})
_result_decoder: Final = msgspec.json.Decoder(BatchResult)


@dataclass
class UploadReport:
    """What one ``run_once`` did, and why it stopped if it did not empty the queue."""

    sent_batches: int = 0  # spooled batches acknowledged
    sent_events: int = 0
    uploads: int = 0  # requests that carried them (joined batches share one)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    quarantined: int = 0
    consent_sent: bool = False
    backlog_batches: int = 0
    backlog_events: int = 0
    error: str | None = None
    retry_after: float | None = None
    fatal: bool = False  # the credential was refused: retrying will not help


class _Stop(Exception):
    """End this round: ``report.error`` says why."""


def backoff_delay(
    attempt: int, *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S
) -> float:
    """Full jitter: uniform in [0, min(cap, base·2^attempt)] — retrying devices spread out."""
    return random.uniform(0, min(cap, base * 2 ** min(attempt, 30)))


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (delta form; an HTTP date counts from now), bounded."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        from email.utils import parsedate_to_datetime

        delta = parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError, IndexError):
        return None
    return min(max(delta, 0.0), MAX_RETRY_AFTER_S)


class Uploader:
    """Uploads one spool to one collector; ``run_once`` for a single pass, ``start``/``stop`` for
    the background thread the recorder runs."""

    def __init__(
        self,
        spool: Spool,
        url: str,
        token: str,
        *,
        client: httpx.Client,
        consent_file: Path | None = None,
        batches_per_round: int = 64,
        max_upload_events: int = MAX_UPLOAD_EVENTS,
        backoff_cap_s: float = BACKOFF_CAP_S,
        control: DeviceControl | None = None,
    ) -> None:
        self.spool = spool
        self.control = control  # heartbeat + portal decisions (consent, pause), see docs/portal.md
        self.url = url.rstrip("/")
        self.client = client
        self.consent_file = consent_file
        self.batches_per_round = batches_per_round
        self.max_upload_events = max_upload_events
        self.backoff_cap_s = backoff_cap_s
        self._headers = {"Authorization": f"Bearer {token}"}
        self._compressor = zstandard.ZstdCompressor(level=3)
        self._consent_wanted = 1 if consent_file is not None else 0  # versions of the record
        self._consent_sent = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one round at a time
        self.state = "idle"
        self.last_error: str | None = None
        self.last_success_ns: int | None = None
        self.totals = UploadReport()

    @classmethod
    def for_home(cls, home: Home, spool: Spool) -> Uploader | None:
        """The uploader of an enrolled installation (``workprint enroll``), else None."""
        enrollment = load_enrollment(home)
        if enrollment is None:
            return None
        config, token = enrollment
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them under us: a
        # request sent on a connection the server is closing fails for nothing.
        client = httpx.Client(
            timeout=httpx.Timeout(30, connect=5), limits=httpx.Limits(keepalive_expiry=4)
        )
        return cls(
            spool,
            config.url,
            token,
            client=client,
            consent_file=home.consent_file,
            control=DeviceControl(home),
        )

    # -- one pass ------------------------------------------------------------------------
    def run_once(self, max_batches: int | None = None) -> UploadReport:
        """Send pending batches oldest first until the queue is empty, ``max_batches`` were
        sent, or a failure says to stop; never raises for anything the network or server does."""
        report = UploadReport()
        with self._lock:
            try:
                self._sync_consent(report)
                self._send_pending(report, max_batches)
            except _Stop:
                pass
            except (SpoolError, WorkprintError) as exc:  # the spool or the consent record
                report.error = str(exc)
            self._fill_backlog(report)
        self._account(report)
        return report

    def consent_changed(self) -> None:
        """The local consent record changed: send it before the next batch."""
        if self.consent_file is not None:
            self._consent_wanted += 1
        self._wake.set()

    def _sync_consent(self, report: UploadReport) -> None:
        wanted = self._consent_wanted
        if wanted == self._consent_sent or self.consent_file is None:
            return
        state = load_consent(self.consent_file)
        if state.history:
            body = {"history": msgspec.to_builtins(list(state.history))}
            response = self._request("POST", "/v1/consent", report, json=body)
            if response.status_code != 200:
                self._fail(report, response, "consent")
            report.consent_sent = True
        self._consent_sent = wanted

    def _send_pending(self, report: UploadReport, max_batches: int | None) -> None:
        while max_batches is None or report.sent_batches < max_batches:
            limit = self.batches_per_round
            if max_batches is not None:
                limit = min(limit, max_batches - report.sent_batches)
            batches = self.spool.pending(limit)
            if not batches:
                return
            for upload in merge_batches(batches, self.max_upload_events):
                if self._stopping.is_set():
                    raise _Stop
                if not self._send(upload, report) and len(upload) > 1:
                    for batch in upload:  # refused whole: find the bad one, keep the rest
                        self._send([batch], report)

    def _send(self, upload: Sequence[SpooledBatch], report: UploadReport) -> bool:
        """Send spooled batches as one upload; True once acknowledged (and removed from the
        spool), False if the collector refused the upload as a whole (a single batch is then
        quarantined). Any other failure ends the round (``_Stop``)."""
        upload_id = upload_id_of(upload)
        events = upload[0].events if len(upload) == 1 else list(chain(*(b.events for b in upload)))
        body = self._compressor.compress(encode_batch(events))
        headers = {
            "Content-Type": BATCH_CONTENT_TYPE,
            "Content-Encoding": "zstd",
            BATCH_ID_HEADER: upload_id,
        }
        response = self._request("POST", "/v1/batches", report, content=body, headers=headers)
        report.uploads += 1
        status = response.status_code
        if status == 200:
            try:
                result = _result_decoder.decode(response.content)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                report.error = f"the collector's answer to batch {upload_id} is invalid: {exc}"
                raise _Stop from None
            if result.batch_id != upload_id:
                report.error = f"the collector acknowledged {result.batch_id}, not {upload_id}"
                raise _Stop
            self.spool.ack([batch.batch_id for batch in upload])
            report.sent_batches += len(upload)
            report.sent_events += sum(batch.n_events for batch in upload)
            report.accepted += result.accepted
            report.duplicates += result.duplicates
            report.rejected += result.rejected
            if result.rejected:
                log.warning(
                    "batch %s: %d events kept as bad rows by the collector",
                    upload_id,
                    result.rejected,
                )
            return True
        if status not in QUARANTINE_STATUSES:
            self._fail(report, response, f"batch {upload_id}")
        if len(upload) > 1:
            return False
        reason = f"collector refused it ({status}): {_error_text(response)}"
        self.spool.quarantine(upload_id, reason)
        report.quarantined += 1
        log.error("batch %s quarantined: %s", upload_id, reason)
        return False

    def _request(
        self, method: str, path: str, report: UploadReport, **kwargs: Any
    ) -> httpx.Response:
        try:
            return self.client.request(
                method,
                self.url + path,
                headers={**self._headers, **kwargs.pop("headers", {})},
                **kwargs,
            )
        except httpx.HTTPError as exc:
            report.error = f"cannot reach the collector at {self.url}: {exc or type(exc).__name__}"
            raise _Stop from None

    def _fail(self, report: UploadReport, response: httpx.Response, what: str) -> None:
        status = response.status_code
        report.error = f"{what}: collector answered {status}: {_error_text(response)}"
        if status in (401, 403):
            report.fatal = True
            report.error += " — the device credential was refused; enroll again"
        if status in (429, 503):
            report.retry_after = retry_after_seconds(response.headers.get("retry-after"))
        raise _Stop

    def _fill_backlog(self, report: UploadReport) -> None:
        try:
            stats = self.spool.stats()
        except (SpoolError, WorkprintError):
            return
        report.backlog_batches, report.backlog_events = stats.batches, stats.events

    def _account(self, report: UploadReport) -> None:
        totals = self.totals
        for name in (
            "sent_batches",
            "sent_events",
            "accepted",
            "duplicates",
            "rejected",
            "quarantined",
        ):
            setattr(totals, name, getattr(totals, name) + getattr(report, name))
        totals.backlog_batches, totals.backlog_events = (
            report.backlog_batches,
            report.backlog_events,
        )
        if report.error is None and report.sent_batches:
            self.last_success_ns = time.time_ns()
        self.last_error = report.error

    # -- the background thread -----------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="workprint-uploader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in flight (at most ``timeout`` s) and end the thread."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """New batches are in the spool: do not wait for the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            if self.control is not None:
                self.control.tick(self.client, self.url, self._headers)
            self.state = "uploading"
            report = self.run_once()
            if report.fatal:
                self.state = "stopped: credential refused"
                log.error("uploader stopped: %s", report.error)
                return
            if report.error is None:
                attempt = 0
                self.state = "idle"
                progressed = report.sent_batches or report.quarantined
                delay = 0.0 if report.backlog_batches and progressed else IDLE_POLL_S
            else:
                attempt += 1
                delay = backoff_delay(attempt, cap=self.backoff_cap_s)
                if report.retry_after is not None:
                    delay = max(delay, report.retry_after)
                self.state = "backoff"
                log.warning("upload paused %.1f s: %s", delay, report.error)
            if delay:
                self._wake.wait(delay)
                self._wake.clear()

    def status(self) -> dict[str, Any]:
        """For ``workprint status``: the backlog and what happened so far."""
        try:
            stats = self.spool.stats()
            backlog_batches, backlog_events = stats.batches, stats.events
        except (SpoolError, WorkprintError):
            backlog_batches, backlog_events = (
                self.totals.backlog_batches,
                self.totals.backlog_events,
            )
        return {
            "url": self.url,
            "state": self.state,
            "backlog_batches": backlog_batches,
            "backlog_events": backlog_events,
            "sent": self.totals.sent_batches,
            "sent_events": self.totals.sent_events,
            "quarantined": self.totals.quarantined,
            "last_error": self.last_error,
            "last_success_ns": self.last_success_ns,
        }


def merge_batches(batches: Sequence[SpooledBatch], max_events: int) -> Iterator[list[SpooledBatch]]:
    """Consecutive runs of ``batches`` (oldest first) of at most ``max_events`` events each; a
    batch larger than that goes alone."""
    run: list[SpooledBatch] = []
    events = 0
    for batch in batches:
        if run and events + batch.n_events > max_events:
            yield run
            run, events = [], 0
        run.append(batch)
        events += batch.n_events
    if run:
        yield run


def upload_id_of(upload: Sequence[SpooledBatch]) -> str:
    """A lone batch keeps its own id; a joined upload gets one derived from the ids it holds,
    so resending the same run is a replay the collector recognises."""
    if len(upload) == 1:
        return upload[0].batch_id
    digest = hashlib.sha256("\n".join(batch.batch_id for batch in upload).encode())
    return "j-" + digest.hexdigest()[:48]


def _error_text(response: httpx.Response) -> str:
    """The collector's ``{"error": …}``, or the start of whatever else it sent."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])[:500]
    return response.text[:200].replace("\n", " ") or response.reason_phrase
