"""A real S3-compatible server (moto over HTTP on 127.0.0.1) for tests that need object storage.

Use the fixtures in your test module under their own names::

    from tests import s3_support

    s3_server = s3_support.s3_server

``s3_server`` is one server for the whole session (about a second to start); ``s3_blobs`` is an
``S3Blobs`` on a bucket of its own, so tests never see each other's objects.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pyarrow.fs as pafs
import pytest

from workprint.store.objects import S3Blobs
from workprint.testbed.s3 import S3Server


def new_bucket(server: S3Server) -> str:
    """A fresh, empty bucket with a random (valid) name."""
    name = f"wp-test-{secrets.token_hex(6)}"
    server.create_bucket(name)
    return name


def object_paths(server: S3Server, bucket: str) -> set[str]:
    """Every object key in ``bucket`` (through pyarrow, as Ray's readers see them), including
    zero-byte directory markers, which would show as directories with nothing in them."""
    infos = server.filesystem().get_file_info(pafs.FileSelector(bucket, recursive=True))
    paths = {info.path.removeprefix(bucket + "/") for info in infos}
    parents = {path.rsplit("/", 1)[0] for path in paths if "/" in path}
    return {path for path in paths if path not in parents}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def s3_blobs(s3_server: S3Server) -> S3Blobs:
    """Blobs under ``s3://<fresh bucket>/tenant/store`` on the session's server."""
    bucket = new_bucket(s3_server)
    return S3Blobs.from_url(f"s3://{bucket}/tenant/store", s3_server.environ())
