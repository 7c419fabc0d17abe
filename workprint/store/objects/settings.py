"""Where the event files of a shared store live: an ``s3://bucket/prefix`` URL plus connection
settings from the environment, checked once, up front, so that a typo is a one-line error when
the store is configured rather than a failed upload hours later.

Environment (the standard AWS names, so the same variables work for the AWS CLI and for Ray's
readers):

- ``WORKPRINT_S3_ENDPOINT`` — ``http(s)://host[:port]`` of an S3-compatible server (MinIO,
  Ceph RGW, …); the scheme decides TLS. Omitted: AWS S3 itself (HTTPS).
- ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` — required; workprint never falls back
  to credential files or instance metadata, so it uses exactly the key it was given.
- ``AWS_SESSION_TOKEN`` — optional (temporary credentials).
- ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``) — default ``us-east-1``.
- ``AWS_CA_BUNDLE`` — optional PEM file to trust for a private CA.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from workprint.store.interface import StoreError

DEFAULT_REGION: Final = "us-east-1"
ENDPOINT_VARIABLE: Final = "WORKPRINT_S3_ENDPOINT"
# S3's rules for new buckets: 3-63 characters, lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit.
_BUCKET_NAME: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_UNSAFE_KEY_CHARACTERS: Final = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True)
class S3Settings:
    """A bucket, a key prefix inside it (no leading or trailing slash, may be empty) and how to
    reach and authenticate to the server."""

    bucket: str
    prefix: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = DEFAULT_REGION
    endpoint: str | None = None  # None: AWS S3
    session_token: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, rel: str) -> str:
        """The object key of the blob named ``rel`` (relative to the prefix)."""
        return f"{self.prefix}/{rel}" if self.prefix else rel


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → (bucket, prefix); a one-line ``StoreError`` otherwise."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme != "s3":
        raise StoreError(f"object store URL {url!r} must start with s3:// (s3://bucket/prefix)")
    if parts.query or parts.fragment:
        raise StoreError(f"object store URL {url!r} may not have a query or a fragment")
    bucket = parts.netloc
    if not bucket:
        raise StoreError(f"object store URL {url!r} names no bucket (s3://bucket/prefix)")
    if not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise StoreError(
            f"object store URL {url!r}: {bucket!r} is not a valid bucket name "
            "(3-63 lowercase letters, digits, dots or hyphens)"
        )
    prefix = parts.path.strip("/")
    if prefix:
        check_key(prefix, what=f"object store URL {url!r}: prefix")
    return bucket, prefix


def check_key(key: str, *, what: str) -> None:
    """Refuse keys that would name something other than what they seem to: empty, absolute,
    with ``.``/``..``/empty segments, backslashes or control characters."""
    if not key or key.startswith("/") or _UNSAFE_KEY_CHARACTERS.search(key):
        raise StoreError(f"{what} {key!r} is not a safe object key")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise StoreError(f"{what} {key!r} has an empty, '.' or '..' segment")


def parse_endpoint(endpoint: str) -> str:
    """``http(s)://host[:port]`` with nothing after it; the scheme decides TLS."""
    parts = urllib.parse.urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(
            f"{ENDPOINT_VARIABLE}={endpoint!r} must be http://host[:port] or https://host[:port]"
        )
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
        raise StoreError(
            f"{ENDPOINT_VARIABLE}={endpoint!r} must be just scheme://host[:port] (path-style "
            "addressing puts the bucket in the path)"
        )
    try:
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError:
        raise StoreError(f"{ENDPOINT_VARIABLE}={endpoint!r} has an invalid port") from None
    return f"{parts.scheme}://{parts.netloc}"


def settings_from(url: str, environ: Mapping[str, str]) -> S3Settings:
    """The settings for ``url`` with the connection taken from ``environ`` (see module doc)."""
    bucket, prefix = parse_url(url)
    missing = [
        name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not environ.get(name)
    ]
    if missing:
        raise StoreError(
            f"object store {url}: set {' and '.join(missing)} "
            f"(and {ENDPOINT_VARIABLE} for a server other than AWS S3)"
        )
    raw_endpoint = environ.get(ENDPOINT_VARIABLE, "").strip()
    return S3Settings(
        bucket=bucket,
        prefix=prefix,
        access_key=environ["AWS_ACCESS_KEY_ID"],
        secret_key=environ["AWS_SECRET_ACCESS_KEY"],
        region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        endpoint=parse_endpoint(raw_endpoint) if raw_endpoint else None,
        session_token=environ.get("AWS_SESSION_TOKEN") or None,
        ca_bundle=environ.get("AWS_CA_BUNDLE") or None,
    )
