"""An S3-compatible server on 127.0.0.1 for tests, benchmarks and the demo.

Debian packages no S3 server, so this runs moto's standalone server (``moto[server]`` from
PyPI, a dev dependency) as a subprocess on a free loopback port and waits until it answers.
It speaks the real S3 protocol over HTTP, so code under test goes through the same client
stack (``pyarrow.fs.S3FileSystem``, signatures, retries) as against MinIO, Ceph or AWS.

moto keeps every object in memory: ``stop()`` followed by ``start()`` gives an *empty* server on
the same endpoint (buckets and objects are gone). That is enough to test an unreachable store
and a store coming back, not to test durability across a restart. Everything it starts is
stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Final

import pyarrow.fs as pafs

from workprint.errors import WorkprintError
from workprint.testbed.ports import free_port

ACCESS_KEY: Final = "workprint-test-access"
SECRET_KEY: Final = "workprint-test-secret-0123456789"
REGION: Final = "us-east-1"
_START_TIMEOUT_S: Final = 60.0


class S3ServerError(WorkprintError):
    """The test S3 server could not be started (moto missing, port taken, crashed)."""


class S3Server:
    """``with S3Server() as s3:`` — moto's S3 on ``s3.endpoint`` with fixed test credentials.

    The port is chosen once, so a ``stop()``/``start()`` cycle keeps the same endpoint (but
    not the objects: moto is in-memory)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix="workprint-s3-"))

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def environ(self) -> dict[str, str]:
        """The variables ``S3Blobs.from_url`` reads, pointing at this server."""
        return {
            "WORKPRINT_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }

    def __enter__(self) -> S3Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        shutil.rmtree(self._log_dir, ignore_errors=True)

    def start(self) -> None:
        """Start the server (empty) and return once it answers HTTP."""
        if self.running:
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_DEFAULT_REGION=self.region,
        )
        self._log_dir.mkdir(mode=0o700, exist_ok=True)
        log = (self._log_dir / "moto.log").open("wb")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        finally:
            log.close()
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise S3ServerError(
                    f"moto server exited at start ({self._log_tail()}); "
                    "it comes with: pip install 'moto[server]'"
                )
            try:
                with urllib.request.urlopen(self.endpoint + "/", timeout=2) as response:
                    if response.status < 500:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise S3ServerError(
            f"moto server on {self.endpoint} did not answer in {_START_TIMEOUT_S:.0f} s"
        )

    def _log_tail(self) -> str:
        path = self._log_dir / "moto.log"
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return lines[-1] if lines else "(empty log)"

    def stop(self) -> None:
        """Stop the server (by PID); every bucket and object it held is lost."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def filesystem(self, *, allow_bucket_creation: bool = False) -> pafs.S3FileSystem:
        """A ``pyarrow.fs.S3FileSystem`` talking to this server (path-style, plain HTTP)."""
        return pafs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            scheme="http",
            endpoint_override=f"127.0.0.1:{self.port}",
            connect_timeout=2,
            request_timeout=10,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=2),
            allow_bucket_creation=allow_bucket_creation,
        )

    def create_bucket(self, name: str) -> None:
        """Create ``name`` (private, default settings); an existing bucket is left as it is."""
        fs = self.filesystem(allow_bucket_creation=True)
        with contextlib.suppress(FileExistsError):
            fs.create_dir(name, recursive=False)
