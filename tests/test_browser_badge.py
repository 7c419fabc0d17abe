"""The toolbar badge in real Chromium with the real native host and recorder: REC on a recorded
site, OFF on an excluded one, II while paused, empty when no recorder answers; a click on the
toolbar button (dispatched by the browser through CDP ``Extensions.triggerAction``, the same
``action.onClicked`` a person's click fires) pauses the whole recorder, and another resumes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser_harness import (
    browser_policy,
    chromium_with_extension,
    click_toolbar_button,
    install_host,
    needs_chromium,
    serve_site,
    service_worker,
    stop_recorder,
    tab_id,
    wait_for_badge,
    wait_for_state,
)
from tests.conftest import RecorderProcess, run_cli
from workprint.testbed import XSession

pytestmark = pytest.mark.x11


def recorder_says(home: Path) -> str:
    """The recorder's own answer to the extension's question (``workprint browser status``)."""
    result = run_cli(home, "browser", "status")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[0]


def test_badge_shows_state_per_site_and_one_click_pauses_the_recorder(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    needs_chromium()
    profile = tmp_path / "profile"
    install_host(home, profile)
    with serve_site() as site:
        policy = browser_policy(site, excluded=(f"localhost:{site.port}",))
        (home / "config" / "policy.toml").write_text(policy)
        assert run_cli(home, "consent", "grant", "all").returncode == 0
        rec = RecorderProcess(home, xsession.display)
        recorders.append(rec)
        with chromium_with_extension(profile, toolbar=True) as context:
            worker = service_worker(context)
            wait_for_state(worker, "recording")
            recorded_url = site.url("/article.html")
            excluded_url = site.url("/article.html", host="localhost")
            recorded = context.new_page()
            recorded.goto(recorded_url)
            excluded = context.new_page()
            excluded.goto(excluded_url)
            recorded_tab, excluded_tab = tab_id(worker, recorded_url), tab_id(worker, excluded_url)

            assert wait_for_badge(worker, recorded_tab, "REC") == "recording — click to pause"
            assert "excluded" in wait_for_badge(worker, excluded_tab, "OFF")

            click_toolbar_button(context, worker, recorded_url)
            resume_tip = wait_for_badge(worker, recorded_tab, "II")
            assert resume_tip == "workprint: paused — click to resume"
            wait_for_badge(worker, excluded_tab, "II")  # the pause is the whole recorder's
            wait_for_state(worker, "paused")  # as the recorder answered, not only as clicked
            assert recorder_says(home) == "browser capture: paused"

            click_toolbar_button(context, worker, recorded_url)
            wait_for_badge(worker, recorded_tab, "REC")
            wait_for_badge(worker, excluded_tab, "OFF")
            assert recorder_says(home) == "browser capture: recording"

            stop_recorder(rec)  # no recorder: the state is unknown, nothing shown
            assert wait_for_badge(worker, recorded_tab, "") == "workprint: no-agent"
            click_toolbar_button(context, worker, recorded_url)  # nothing to pause: no change
            assert wait_for_badge(worker, recorded_tab, "") == "workprint: no-agent"
