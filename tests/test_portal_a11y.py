"""Accessibility, measured: axe-core inside real Chromium on every main page of the portal (no
serious or critical violation), keyboard use of the consent form (skip link, tab order, visible
focus), and the phone-width layout (375 px: no horizontal scrolling). Screenshots at laptop and
phone widths go to $WORKPRINT_PORTAL_SCREENSHOTS when it is set (docs/portal/ holds a set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.portal_browser_support import (
    LAPTOP,
    LONG_DEVICE_NAME,
    PHONE,
    WAIT_MS,
    Populated,
    axe_violations,
    blocking,
    have_chromium,
    main_pages,
    populated_portal,
    sign_in,
)
from workprint.testbed.chromium import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.skipif(
    not have_chromium(), reason="needs Debian's chromium (apt-get install chromium)"
)
playwright_api = pytest.importorskip("playwright.sync_api")
SCREENSHOT_PAGES = {
    "subject-consent",
    "subject-live",
    "subject-timeline",
    "steward-releases",
    "admin-person",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Populated]:
    with populated_portal(tmp_path_factory.mktemp("a11y")) as populated:
        yield populated


@pytest.fixture(scope="module")
def contexts(browser: Any, world: Populated) -> Iterator[dict[tuple[str, str], Any]]:
    """A signed-in browser context per role and width (laptop, phone), reused by the tests."""
    made: dict[tuple[str, str], Any] = {}
    for width, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        for role in ("", "subject", "steward", "researcher", "admin"):
            context = browser.new_context(viewport=viewport)
            context.set_default_timeout(WAIT_MS)
            if role:
                page = context.new_page()
                sign_in(page, world.portal.url, world.logins[role])
                page.close()
            made[(role, width)] = context
    yield made
    for context in made.values():
        context.close()


def open_page(
    contexts: dict[tuple[str, str], Any],
    world: Populated,
    role: str,
    path: str,
    width: str = "laptop",
) -> Any:
    page = contexts[(role, width)].new_page()
    response = page.goto(world.portal.url + path, wait_until="load")
    assert response is not None and response.status == 200, (path, response and response.status)
    assert page.url.endswith(path.split("?")[0]) or "?" in path, (path, page.url)
    return page


def test_no_serious_or_critical_axe_violation_on_any_main_page(
    contexts: dict[tuple[str, str], Any], world: Populated
) -> None:
    found: dict[str, list[str]] = {}
    checked = 0
    for role, name, path in main_pages(world):
        page = open_page(contexts, world, role, path)
        problems = blocking(axe_violations(page))
        checked += 1
        if problems:
            found[name] = problems
        page.close()
    assert checked == len(main_pages(world)) == 16
    assert found == {}, "\n".join(f"{k}: {line}" for k, v in found.items() for line in v)


def test_axe_reports_a_planted_violation(
    contexts: dict[tuple[str, str], Any], world: Populated
) -> None:
    """The check has teeth: an unlabelled field and low-contrast text are reported."""
    page = open_page(contexts, world, "subject", "/portal/me")
    page.evaluate(  # styled through the CSSOM: the CSP ignores inline style attributes
        "() => { const m = document.querySelector('main');"
        " m.insertAdjacentHTML('beforeend', '<input id=planted><p id=faint>faint text</p>');"
        " document.getElementById('faint').style.color = '#bbbbbb'; }"
    )
    ids = {v["id"] for v in axe_violations(page) if v["impact"] in ("serious", "critical")}
    assert {"label", "color-contrast"} <= ids
    page.close()


def test_keyboard_reaches_the_skip_link_then_every_consent_control_in_order(
    contexts: dict[tuple[str, str], Any], world: Populated
) -> None:
    expect = playwright_api.expect
    page = open_page(contexts, world, "subject", "/portal/me")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused(timeout=WAIT_MS)
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 0  # on screen
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused(timeout=WAIT_MS)

    # from the main area, Tab walks the consent buttons in document order, each visibly focused
    controls = page.locator("main form button")
    labels = [controls.nth(i).inner_text() for i in range(controls.count())]
    assert len(labels) == 6
    for label in labels:
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name=label, exact=True)).to_be_focused(timeout=WAIT_MS)
        assert_focus_visible(page)

    # the keyboard alone changes consent: Enter on the focused button submits its form
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Saved", timeout=WAIT_MS)
    page.close()


def assert_focus_visible(page: Any) -> None:
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert style[0] != "none" and style[1] >= 2, style


def test_no_horizontal_scrolling_at_phone_width(
    contexts: dict[tuple[str, str], Any], world: Populated
) -> None:
    """Each main page fits 375 px, and axe finds nothing serious there either (a table squeezed
    into a scrolling box would be a region the keyboard cannot reach)."""
    too_wide: dict[str, tuple[int, int]] = {}
    found: dict[str, list[str]] = {}
    for role, name, path in main_pages(world):
        page = open_page(contexts, world, role, path, "phone")
        scroll, inner = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert inner == PHONE["width"]
        if scroll > inner:
            too_wide[name] = (scroll, inner)
        if problems := blocking(axe_violations(page)):
            found[name] = problems
        page.close()
    assert too_wide == {}
    assert found == {}, found
    # the long device name is on the live page, wrapped rather than widening it
    page = open_page(contexts, world, "subject", "/portal/me/live", "phone")
    assert LONG_DEVICE_NAME in page.content()
    page.close()


def test_screenshots_at_laptop_and_phone_width(
    contexts: dict[tuple[str, str], Any], world: Populated, tmp_path: Path
) -> None:
    folder = Path(os.environ.get("WORKPRINT_PORTAL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for role, name, path in main_pages(world):
        if name not in SCREENSHOT_PAGES:
            continue
        for width in ("laptop", "phone"):
            page = open_page(contexts, world, role, path, width)
            target = folder / f"{name}-{width}.png"
            page.screenshot(path=str(target))
            written.append(target)
            page.close()
    assert len(written) == 2 * len(SCREENSHOT_PAGES)
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written)
