"""App, URL and title generalisation, and the per-release pseudonyms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workprint.privacy.generalise import generalise_app, generalise_title, generalise_url
from workprint.privacy.pseudonyms import PseudonymKeyError, ReleasePseudonyms, new_link_key


def test_apps_outside_the_allowlist_become_their_category_or_other() -> None:
    allow, cats = ["Firefox"], {"gedit": "editor", "Slack": "chat"}
    assert generalise_app("firefox", allow, cats) == "firefox"
    assert generalise_app("GEDIT", allow, cats) == "editor"
    assert generalise_app("slack", allow, cats) == "chat"
    assert generalise_app("rare-tool-9", allow, cats) == "other"
    assert generalise_app(None, allow, cats) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Shop.Example.com:8443/orders/123456/items?ref=mail#top",
         "https://shop.example.com/orders/{num}/items"),
        ("https://api.example.com/v1/users/3f2a9c1d-0b7e-4c6f-9a8d-1e2f3a4b5c6d",
         "https://api.example.com/v1/users/{uuid}"),
        ("https://git.example.com/repo/commit/9fceb02d0ae598e95dc970b74767f19372d61af8",
         "https://git.example.com/repo/commit/{hash}"),
        ("https://user:hunter2@example.com/a/b/c/d/e/f", "https://example.com/a/b/c/d/{more}"),
        ("https://example.com/profile/anna.berg@example.com", "https://example.com/profile/{pii}"),
        ("https://www.google.com/search?q=emma+lindqvist+anna%40example.com&hl=en",
         "https://www.google.com/search?q=%3CPERSON%3E+%3CEMAIL%3E"),
        ("https://example.com/session/aB3dE5fG7hJ9kL1m", "https://example.com/session/{id}"),
        ("about:blank", "about:"),
        ("not a url", None),
    ],
)  # fmt: skip
def test_urls_keep_scheme_host_and_a_templated_path(url: str, expected: str | None) -> None:
    assert generalise_url(url, search_params=("q",)) == expected


@given(st.text(alphabet="abc0123456789/?&=#:@.%-_", max_size=60))
def test_a_generalised_url_never_keeps_a_query_fragment_or_a_number_in_its_path(tail: str) -> None:
    out = generalise_url("https://example.com/" + tail, search_params=())
    assert out is not None and "#" not in out and "?" not in out and "@" not in out
    path = out.split("//", 1)[1].split("/", 1)[1]
    assert re.search(r"\d{3}", path) is None  # at most a short version suffix ("v1")


def test_titles_are_redacted_dropped_or_kept() -> None:
    title = "Re: invoice for anna.berg@example.com - Mail"
    assert generalise_title(title, "redact") == "Re: invoice for <EMAIL> - Mail"
    assert generalise_title(title, "drop") is None
    assert generalise_title(title, "keep") == title


def test_pseudonyms_are_per_release_unless_a_link_key_is_shared(tmp_path: Path) -> None:
    a, b = ReleasePseudonyms.fresh(), ReleasePseudonyms.fresh()
    assert a.person("p_1") == a.person("p_1") != b.person("p_1")
    assert a.person("p_1").startswith("anon-") and a.session("p_1", "s").startswith("session-")
    assert a.session("p_1", "s") != a.session("p_2", "s")
    key = tmp_path / "k"
    new_link_key(key)
    one, two = ReleasePseudonyms.from_link_key(key), ReleasePseudonyms.from_link_key(key)
    assert one.linked and not a.linked and one.person("p_1") == two.person("p_1")
    short = tmp_path / "short"
    short.write_bytes(b"tiny")
    with pytest.raises(PseudonymKeyError, match="has 4 bytes; at least 16 are needed"):
        ReleasePseudonyms.from_link_key(short)
    with pytest.raises(PseudonymKeyError, match="cannot read link key"):
        ReleasePseudonyms.from_link_key(tmp_path / "missing")
