"""Sealed event files on an S3-compatible object store (AWS S3, MinIO, Ceph RGW, …).

Each blob is one object ``<prefix>/<rel>``, e.g.
``s3://bucket/prefix/events/day=2026-09-21/bucket=<random>/<id>.parquet.sealed``, created once
and never changed: an erasure or a compaction writes new files and removes old ones, so readers
never see a half-rewritten file and no locking is needed between collectors.

Why boto3 and not ``pyarrow.fs.S3FileSystem`` (which readers such as Ray may still use): the
pyarrow filesystem (1) re-creates a directory-marker object after every delete — an extra PUT
and an object that only a racy recursive ``delete_dir`` could remove, which might take a
concurrent writer's new file with it; (2) cannot send a conditional PUT, so it cannot refuse to
overwrite atomically; (3) ignores its request timeout on Linux.

Guarantees:

- ``write`` is one ``PutObject`` of the whole blob with ``Content-MD5`` and
  ``If-None-Match: *``: the object appears whole or not at all, never overwrites an existing
  one (servers that ignore ``If-None-Match`` lose only this guard; names carry 96 random bits),
  and a successful PUT is durable in S3's sense. A retried PUT whose first attempt landed
  is recognised by its content, not reported as a conflict.
- Timeouts (connect, read) and a bounded number of attempts make an unreachable endpoint fail in
  seconds with ``StoreUnavailableError``; other refusals are one-line ``StoreError``.
- Objects keep the bucket's default ACL and encryption; nothing here changes an ACL or creates
  a bucket.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from workprint.store.embedded import files
from workprint.store.interface import StoreError, StoreUnavailableError
from workprint.store.objects.settings import S3Settings, check_key, settings_from

log = logging.getLogger(__name__)

_DELETE_BATCH: Final = 1000  # the most keys one DeleteObjects request takes
_UNAVAILABLE_CODES: Final = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "503", "500"}
)
_NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "404", "NotFound"})
_ACCESS_CODES: Final = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}
)
# refused, reset, timed out, cut short: the server may answer later (a TLS failure will not)
_NETWORK_ERRORS: Final = (BotoConnectionError, HTTPClientError, IncompleteReadError)


class S3Blobs:
    """The ``Blobs`` protocol over one bucket and key prefix. Thread-safe (one boto3 client,
    which is safe to share between threads, with a connection pool)."""

    def __init__(
        self,
        settings: S3Settings,
        *,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        max_attempts: int = 3,
        max_connections: int = 32,
    ) -> None:
        self.settings = settings
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=max_connections,
            # Content-MD5 instead of the newer streamed CRC trailers, which several
            # S3-compatible servers reject.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            user_agent_extra="workprint",
        )
        session = boto3.session.Session()
        self._client: Any = session.client(
            "s3",
            endpoint_url=settings.endpoint,
            region_name=settings.region,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key,
            aws_session_token=settings.session_token,
            verify=settings.ca_bundle if settings.ca_bundle else True,
            config=config,
        )

    @classmethod
    def from_url(cls, url: str, environ: Mapping[str, str] = os.environ, **options: Any) -> S3Blobs:
        """``s3://bucket/prefix`` with the connection from ``environ`` (``settings`` module
        doc). Does not contact the server: a store may be configured while it is down."""
        return cls(settings_from(url, environ), **options)

    @property
    def location(self) -> str:
        return self.settings.url

    @property
    def _server(self) -> str:
        return self.settings.endpoint or "AWS S3"

    def _key(self, rel: str) -> str:
        check_key(rel, what="blob name")
        return self.settings.key(rel)

    def check(self) -> None:
        """Raise unless the bucket exists and these credentials reach it (for store open and
        health checks; the other methods work without calling it)."""
        try:
            self._client.head_bucket(Bucket=self.settings.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._error("reach bucket", "", exc) from None

    def write(self, rel: str, blob: bytes) -> None:
        key = self._key(rel)
        digest = hashlib.md5(blob, usedforsecurity=False).digest()
        try:
            self._client.put_object(
                Bucket=self.settings.bucket,
                Key=key,
                Body=blob,
                ContentMD5=base64.b64encode(digest).decode(),
                ContentType="application/octet-stream",
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if _error_code(exc) == "PreconditionFailed":
                if self._holds(key, blob):
                    return  # an earlier attempt of this same PUT landed; its answer was lost
                raise StoreError(
                    f"{self.location}/{rel} already exists: event files are never overwritten"
                ) from None
            raise self._error("write", rel, exc) from None
        except BotoCoreError as exc:
            raise self._error("write", rel, exc) from None

    def _holds(self, key: str, blob: bytes) -> bool:
        try:
            response = self._client.get_object(Bucket=self.settings.bucket, Key=key)
            return bool(response["Body"].read() == blob)
        except (BotoCoreError, ClientError):
            return False

    def read(self, rel: str) -> bytes:
        key = self._key(rel)
        try:
            response = self._client.get_object(Bucket=self.settings.bucket, Key=key)
            body: bytes = response["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                raise FileNotFoundError(f"no blob {self.location}/{rel}") from None
            raise self._error("read", rel, exc) from None
        except BotoCoreError as exc:
            raise self._error("read", rel, exc) from None
        return body

    def remove(self, rels: Iterable[str]) -> None:
        keys: list[str] = []
        for rel in rels:
            try:
                keys.append(self._key(rel))
            except StoreError as exc:
                log.warning("not removing %s: %s", rel, exc)
        self._delete(keys)

    def _delete(self, keys: list[str]) -> int:
        """Delete ``keys`` in batches; failures are logged, never raised (what stays is debris
        for ``collect_garbage``). Returns how many the server confirmed."""
        deleted = 0
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            try:
                response = self._client.delete_objects(
                    Bucket=self.settings.bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            except (BotoCoreError, ClientError) as exc:
                log.warning(
                    "cannot remove %d blobs from %s now: %s",
                    len(batch),
                    self.location,
                    self._error("delete", "", exc),
                )
                continue
            errors = response.get("Errors", [])
            for error in errors:
                log.warning(
                    "cannot remove %s/%s now: %s",
                    self.location,
                    error.get("Key"),
                    error.get("Message") or error.get("Code"),
                )
            deleted += len(batch) - len(errors)
        return deleted

    def _list_events(self) -> Iterator[tuple[str, dict[str, Any], datetime.datetime]]:
        """(rel, object summary, server time of the listing) for every object under
        ``<prefix>/events/``. Raises the classified error if the listing fails."""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.settings.bucket, Prefix=self.settings.key(files.EVENTS_DIR + "/")
        )
        cut = len(self.settings.prefix) + 1 if self.settings.prefix else 0
        try:
            for page in pages:
                server_now = _server_time(page)
                for summary in page.get("Contents", []):
                    yield summary["Key"][cut:], summary, server_now
        except (BotoCoreError, ClientError) as exc:
            raise self._error("list", files.EVENTS_DIR + "/", exc) from None

    def collect_garbage(self, referenced: set[str], *, min_age_s: float) -> int:
        """Delete objects under ``<prefix>/events/`` that ``referenced`` does not name and whose
        last-modified time is more than ``min_age_s`` before the server's own clock (the
        ``Date`` of the listing, so a skewed local clock cannot make young files look old).

        The prefix must belong to this store alone: anything else under it is debris. A failed
        listing raises (nothing was removed); a failed delete is logged and counted out."""
        debris: list[str] = []
        for rel, summary, server_now in self._list_events():
            if rel in referenced:
                continue
            if min_age_s > 0:
                age_s = (server_now - summary["LastModified"]).total_seconds()
                if age_s < min_age_s:
                    continue
            debris.append(summary["Key"])
        return self._delete(debris)

    def total_bytes(self) -> int:
        return sum(int(summary["Size"]) for _, summary, _ in self._list_events())

    def _error(self, action: str, rel: str, exc: Exception) -> StoreError:
        """One line saying what failed; ``StoreUnavailableError`` if retrying later may work."""
        what = f"{self.location}/{rel}" if rel else self.location
        if isinstance(exc, ClientError):
            code = _error_code(exc)
            message = _one_line(str(exc.response.get("Error", {}).get("Message") or code))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in _UNAVAILABLE_CODES or status >= 500:
                return StoreUnavailableError(
                    f"object store {self._server} cannot {action} {what} now: {code} {message}"
                )
            if code == "NoSuchBucket" or (code in _NOT_FOUND_CODES and not rel):
                return StoreError(f"bucket {self.settings.bucket} does not exist at {self._server}")
            if code in _ACCESS_CODES:
                return StoreError(
                    f"object store {self._server} denied {action} {what} ({code}): check "
                    "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket policy"
                )
            return StoreError(f"object store refused {action} {what}: {code} {message}")
        if isinstance(exc, _NETWORK_ERRORS) and not isinstance(exc, SSLError):
            return StoreUnavailableError(
                f"object store {self._server} unreachable ({action} {what}): {_one_line(exc)}"
            )
        return StoreError(f"object store {action} {what} failed: {_one_line(exc)}")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _server_time(page: Mapping[str, Any]) -> datetime.datetime:
    """The server's clock from a response's ``Date`` header (local time if it has none)."""
    header = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if header:
        try:
            return email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            pass
    return datetime.datetime.now(datetime.UTC)
