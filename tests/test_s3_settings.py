"""Object-store configuration (``s3://bucket/prefix`` + environment): a typo is a one-line
``StoreError`` naming what is wrong, at configuration time; a valid URL survives a round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workprint.store.interface import StoreError
from workprint.store.objects import settings_from

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://wp-events/p", "must start with s3://"),
        ("wp-events/p", "must start with s3://"),
        ("s3:///p", "names no bucket"),
        ("s3://Bad_Bucket/p", "is not a valid bucket name"),
        ("s3://ab/p", "is not a valid bucket name"),
        ("s3://-wp-events/p", "is not a valid bucket name"),
        ("s3://wp..events/p", "is not a valid bucket name"),
        ("s3://user@wp-events/p", "is not a valid bucket name"),
        ("s3://wp-events:9000/p", "is not a valid bucket name"),
        ("s3://wp-events/a//b", "has an empty, '.' or '..' segment"),
        ("s3://wp-events/a/../b", "has an empty, '.' or '..' segment"),
        ("s3://wp-events/a\\b", "is not a safe object key"),
        ("s3://wp-events/p?versionId=1", "may not have a query or a fragment"),
        ("s3://wp-events/p#frag", "may not have a query or a fragment"),
    ],
)
def test_a_malformed_url_is_a_one_line_error(url: str, reason: str) -> None:
    with pytest.raises(StoreError, match=reason) as info:
        settings_from(url, CREDENTIALS)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        (["AWS_ACCESS_KEY_ID"], "set AWS_ACCESS_KEY_ID "),
        (["AWS_SECRET_ACCESS_KEY"], "set AWS_SECRET_ACCESS_KEY "),
        (["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], "AWS_ACCESS_KEY_ID and AWS_SECRET"),
    ],
)
def test_missing_credentials_are_named(missing: list[str], named: str) -> None:
    environ = {k: v for k, v in CREDENTIALS.items() if k not in missing}
    with pytest.raises(StoreError, match=named) as info:
        settings_from("s3://wp-events/p", environ)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "endpoint",
    ["ftp://127.0.0.1:9000", "127.0.0.1:9000", "http://", "http://h:99999", "http://h:9000/x"],
)
def test_a_malformed_endpoint_is_a_one_line_error(endpoint: str) -> None:
    with pytest.raises(StoreError, match="WORKPRINT_S3_ENDPOINT=") as info:
        settings_from("s3://wp-events/p", {**CREDENTIALS, "WORKPRINT_S3_ENDPOINT": endpoint})
    assert "\n" not in str(info.value)


def test_environment_decides_endpoint_tls_region_and_token() -> None:
    aws = settings_from("s3://wp-events", CREDENTIALS)
    assert (aws.endpoint, aws.region, aws.prefix, aws.url) == (
        None,
        "us-east-1",
        "",
        "s3://wp-events",
    )
    minio = settings_from(
        "s3://wp-events/team/store/",
        {
            **CREDENTIALS,
            "WORKPRINT_S3_ENDPOINT": "https://minio.internal:9000/",
            "AWS_REGION": "eu-west-3",
            "AWS_SESSION_TOKEN": "token-value",
        },
    )
    assert minio.endpoint == "https://minio.internal:9000"
    assert (minio.region, minio.prefix, minio.session_token) == (
        "eu-west-3",
        "team/store",
        "token-value",
    )
    assert minio.key("events/x") == "team/store/events/x"
    assert "s3cr3t-value" not in repr(minio) and "token-value" not in repr(minio)


@given(st.text(max_size=80))
def test_any_text_is_refused_in_one_line_or_round_trips(url: str) -> None:
    try:
        parsed = settings_from(url, CREDENTIALS)
    except StoreError as exc:
        assert "\n" not in str(exc)
        return
    assert settings_from(parsed.url, CREDENTIALS) == parsed


@given(
    st.from_regex(r"[a-z0-9][a-z0-9-]{1,40}[a-z0-9]", fullmatch=True),
    st.lists(st.from_regex(r"[A-Za-z0-9=_.-]{1,12}", fullmatch=True), max_size=4),
)
def test_valid_urls_round_trip(bucket: str, segments: list[str]) -> None:
    segments = [s for s in segments if s not in (".", "..")]
    url = "/".join([f"s3://{bucket}", *segments])
    parsed = settings_from(url, CREDENTIALS)
    assert (parsed.bucket, parsed.prefix) == (bucket, "/".join(segments))
    assert parsed.url == url
