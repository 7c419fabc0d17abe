"""The release gate end to end on a real embedded store: build, transform, check, register,
approve — and everything that must block or refuse."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.release_support import (
    PLANTED_CARD,
    PLANTED_EMAIL,
    PLANTED_KEY,
    World,
    make_world,
    policy,
    typing_interval_ns,
)
from tests.store_support import all_bytes
from workprint.privacy.ledger import PrivacyLedger
from workprint.privacy.pseudonyms import new_link_key
from workprint.release.registry import (
    ReleaseError,
    approve,
    get_release,
    list_releases,
    open_release_file,
    releases_including,
    verify_release,
)

DROP_TIMING = '[fields]\ntiming = "drop"\n'


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def report(info_path: str) -> dict[str, object]:
    return json.loads((Path(info_path) / "privacy-report.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def planted_bytes(root: Path) -> list[bytes]:
    """The planted values (and their digits-only forms) found anywhere under ``root``."""
    data = all_bytes(root)
    needles = [PLANTED_EMAIL, PLANTED_CARD, PLANTED_CARD.replace(" ", ""), PLANTED_KEY]
    needles += ["Quillfeather", "Zanzibarsky", "Wobblethorpe"]
    return [n.encode() for n in needles if n.encode() in data]


def test_a_passed_release_has_data_card_report_manifest_and_nothing_planted(
    world: World,
) -> None:
    info = world.release(policy(DROP_TIMING))
    assert info.status == "pending", info.reasons
    directory = Path(info.path)
    names = {p.name for p in directory.iterdir()}
    assert {"README.md", "train.parquet", "privacy-report.json", "privacy-report.html"} <= names
    assert "manifest.json" in names and "aggregates.json" in names
    doc = report(info.path)
    assert doc["redactions"]["found"]["text"] == {"EMAIL": 1, "CREDIT_CARD": 1}  # type: ignore[index]
    assert doc["residual"] == {}
    data = pq.read_table(directory / "train.parquet")
    assert set(data.column("app").to_pylist()) == {"editor"}  # gedit → its category
    typed = [t for t in data.column("text").to_pylist() if t and "mail" in t]
    assert typed and "<EMAIL_" in typed[0] and "<CREDIT_CARD_" in typed[0]
    assert all(p == [] for p in data.column("path_t").to_pylist())  # timings dropped
    assert min(data.column("t_start").to_pylist()) == 0  # relative, quantised
    assert all(t % 100_000_000 == 0 for t in data.column("t_end").to_pylist())
    assert planted_bytes(world.root) == []  # every byte of every release file
    html = (directory / "privacy-report.html").read_text(encoding="utf-8")
    assert (
        "<svg" in html
        and "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    card = (directory / "README.md").read_text(encoding="utf-8")
    assert "mouse paths and per-edit key times dropped" in card
    assert "not for release" not in card
    assert verify_release(world.root, info.id) == []


def test_a_planted_secret_in_a_kept_title_blocks_the_release_and_the_report_says_where(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path, titles=(f"deploy {PLANTED_KEY}", "notes", "notes"))
    kept = world.release(policy('[fields]\ntiming = "drop"\ntitles = "keep"\n'))
    assert kept.status == "blocked"
    assert "pii: still found: SECRET in title (" in kept.reasons[0]
    directory = Path(kept.path)
    assert not list(directory.glob("*.parquet")) and not (directory / "aggregates.json").exists()
    doc = report(kept.path)
    assert doc["residual"]["title"]["SECRET"] >= 1  # type: ignore[index]
    assert "SECRET in title" in (directory / "privacy-report.html").read_text(encoding="utf-8")
    with pytest.raises(ReleaseError, match="blocked and cannot be approved: pii: still found"):
        approve(world.root, kept.id, world.steward, world.store)
    # the default policy redacts titles: the same data then passes, and the key is gone
    redacted = world.release(policy(DROP_TIMING))
    assert redacted.status == "pending", redacted.reasons
    assert report(redacted.path)["redactions"]["found"]["title"]["SECRET"] >= 1  # type: ignore[index]
    assert planted_bytes(world.root) == []


def test_the_ledger_refuses_an_over_budget_release_and_records_every_spend(world: World) -> None:
    first = world.release(policy(DROP_TIMING, dp="person_total = 0.9"))
    assert first.status == "pending" and first.epsilon == pytest.approx(0.5)
    second = world.release(policy(DROP_TIMING, dp="person_total = 0.9"))
    assert second.status == "blocked"
    assert second.reasons == (
        "privacy_budget: 3 people would exceed their total ε 0.9 "
        "(most spent so far 0.5, this release asks 0.5)",
    )
    assert not list(Path(second.path).glob("*.parquet"))
    assert "privacy_budget" in (Path(second.path) / "privacy-report.html").read_text("utf-8")
    with PrivacyLedger(world.root / "ledger.db") as ledger:
        spends = ledger.entries()
        assert {s.release_id for s in spends} == {first.id}
        assert sorted(s.subject for s in spends) == sorted(world.subjects)
        assert ledger.spent("person", world.subjects[0]) == pytest.approx(0.5)
    third = world.release(policy(DROP_TIMING, dp="person_total = 1.0"))  # 0.5 + 0.5 fits
    assert third.status == "pending", third.reasons
    with PrivacyLedger(world.root / "ledger.db") as ledger:
        assert ledger.spent("person", world.subjects[0]) == pytest.approx(1.0)


def test_teams_are_charged_and_small_teams_get_no_aggregate_of_their_own(world: World) -> None:
    a, b, c = world.subjects
    teams = f'[teams]\nops = ["{a}", "{b}"]\nsolo = ["{c}"]\n'
    info = world.release(policy(DROP_TIMING + teams, dp="team_total = 0.6"))
    assert info.status == "pending", info.reasons
    doc = report(info.path)
    names = [a["name"] for a in doc["dp"]["aggregates"]]  # type: ignore[index]
    assert names == [
        f"{g}/{q}" for g in ("all", "team:ops") for q in ("typing_speed", "pauses", "app_time")
    ]
    assert doc["dp"]["skipped"] == ["team solo: fewer than min_group_size 2 people"]  # type: ignore[index]
    assert a not in json.dumps(doc)  # person ids never in the release
    with PrivacyLedger(world.root / "ledger.db") as ledger:
        assert ledger.spent("team", "ops") == pytest.approx(0.5)
        assert ledger.spent("team", "solo") == pytest.approx(0.25)
        assert ledger.spent("person", c) == pytest.approx(0.25)
    again = world.release(policy(DROP_TIMING + teams, dp="team_total = 0.6"))
    assert again.status == "blocked"
    assert "team 'ops' would exceed its total ε 0.6" in again.reasons[0]


def test_k_anonymity_blocks_and_names_no_raw_value(tmp_path: Path) -> None:
    world = make_world(tmp_path, titles=("a", "b", "c"))
    info = world.release(policy(DROP_TIMING, kanon="k = 4\n"))
    assert info.status == "blocked"
    assert info.reasons[0].startswith(
        "k_anonymity: 1 of 1 classes over (app, screen_w, screen_h) have fewer"
    )
    doc = report(info.path)
    kanon = doc["k_anonymity"]
    assert kanon["smallest"] == 3 and kanon["missing"] == []  # type: ignore[index]
    assert "editor" not in json.dumps(kanon)


def test_pseudonyms_differ_between_releases_unless_linked_on_purpose(
    world: World, tmp_path: Path
) -> None:
    def people(info_path: str) -> set[str]:
        return set(pq.read_table(Path(info_path) / "train.parquet").column("person").to_pylist())

    one = world.release(policy(DROP_TIMING), name="one")
    two = world.release(policy(DROP_TIMING), name="two")
    assert len(people(one.path)) == 3 and people(one.path).isdisjoint(people(two.path))
    key = tmp_path / "link.key"
    new_link_key(key)
    assert key.stat().st_mode & 0o777 == 0o600
    three = world.release(policy(DROP_TIMING), name="three", link_key=key)
    four = world.release(policy(DROP_TIMING), name="four", link_key=key)
    assert people(three.path) == people(four.path)
    assert "linkable" in (Path(three.path) / "README.md").read_text(encoding="utf-8")


def test_approval_researcher_view_tampering_and_who_was_included(world: World) -> None:
    info = world.release(policy(DROP_TIMING))
    blocked = world.release(policy(DROP_TIMING, kanon="k = 9\n"))
    assert [i.version for i in list_releases(world.root)] == [2, 1]
    assert list_releases(world.root, role="researcher") == []
    with pytest.raises(ReleaseError, match="no release"):
        get_release(world.root, info.id, role="researcher")
    with pytest.raises(ReleaseError, match=r"only a steward may approve.*is a researcher"):
        approve(world.root, info.id, world.researcher, world.store)
    with pytest.raises(ReleaseError, match=r"only a steward.*is a subject"):
        approve(world.root, info.id, world.subjects[0], world.store)
    approved = approve(world.root, info.id, world.steward, world.store)
    assert approved.status == "approved" and approved.approver == world.steward
    with pytest.raises(ReleaseError, match="already approved"):
        approve(world.root, info.id, world.steward, world.store)
    assert [i.id for i in list_releases(world.root, role="researcher")] == [info.id]
    card = open_release_file(world.root, info.id, "README.md", role="researcher")
    assert card.startswith(b"---")
    with pytest.raises(ReleaseError, match="not a file of release"):
        open_release_file(world.root, info.id, "../../registry.db", role="researcher")
    parquet = Path(info.path) / "train.parquet"
    assert not parquet.stat().st_mode & 0o222  # read-only
    parquet.chmod(0o644)
    parquet.write_bytes(parquet.read_bytes() + b"x")
    assert verify_release(world.root, info.id) == [
        "train.parquet: changed (SHA-256 differs from the manifest)"
    ]
    with pytest.raises(ReleaseError, match=r"was altered: train\.parquet: changed"):
        open_release_file(world.root, info.id, "README.md", role="researcher")
    including = releases_including(world.root, world.subjects[1])
    assert [i.id for i in including] == [info.id, blocked.id]
    assert releases_including(world.root, world.steward) == []
    actions = [(e.action, e.target) for e in world.store.audit_entries()]
    assert ("release.create", info.id) in actions and ("release.approve", info.id) in actions
    assert world.store.verify_audit().ok


def test_a_writing_release_anonymises_edit_times_and_masks_typed_secrets(tmp_path: Path) -> None:
    world = make_world(tmp_path, titles=("report",) * 5)  # the anonymiser pools ≥ 5 people
    info = world.release(policy(kanon="k = 5\n"), kind="writing", name="essays")
    assert info.status == "pending", info.reasons
    data = pq.read_table(Path(info.path) / "train.parquet")
    assert len(set(data.column("person").to_pylist())) == 5
    edits = data.column("edits").to_pylist()
    first = next(e for e in edits if "".join(x["inserted"] for x in e).startswith("mail"))
    typed = "".join(x["inserted"] for x in first)
    assert PLANTED_EMAIL not in typed and "▒" * len(PLANTED_EMAIL) in typed
    assert all(x["t"] is not None for x in first)
    # person 0 typed at a constant 80 ms, the others at 110–200 ms: released key intervals are
    # redrawn from other people's, so person 0's own rhythm is gone
    gaps = [b["t"] - a["t"] for a, b in itertools.pairwise(first)]
    assert gaps and set(gaps) != {typing_interval_ns(0)}
    assert sum(gaps) / len(gaps) > typing_interval_ns(0) * 1.1
    finals = data.column("final_text").to_pylist()
    assert any("<EMAIL_" in t for t in finals)
    card = (Path(info.path) / "README.md").read_text(encoding="utf-8")
    assert "anonymize_keystrokes" in card
    assert planted_bytes(world.root) == []


def test_a_writing_release_is_blocked_when_the_timing_anonymiser_refuses(world: World) -> None:
    info = world.release(policy(), kind="writing", name="essays")
    assert info.status == "blocked"
    assert info.reasons[0].startswith("timing: timing anonymiser: 3 people")


def test_an_actions_release_with_default_timing_anonymises_mouse_paths(world: World) -> None:
    """The default policy keeps mouse paths, re-synthesised: endpoints stay, the way between
    is not the recorded one (every session moved along x = 10 + i, y = 20 + 2i, then clicked)."""
    info = world.release(policy(), name="paths")
    assert info.status == "pending", info.reasons
    card = (Path(info.path) / "README.md").read_text(encoding="utf-8")
    assert "anonymize_mouse_paths" in card
    data = pq.read_table(Path(info.path) / "train.parquet")
    recorded = {(10 + i, 20 + 2 * i) for i in range(5)} | {(30, 40)}
    paths = [
        list(zip(x, y, strict=True))
        for x, y in zip(
            data.column("path_x").to_pylist(), data.column("path_y").to_pylist(), strict=True
        )
        if len(x) >= 3
    ]
    assert paths
    for points in paths:
        assert points[0] in recorded and points[-1] in recorded
    assert any(set(points[1:-1]) - recorded for points in paths)
