"""`workprint release create|show|approve|list` through the real entry point, on a real store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.release_support import BASE_POLICY, PLANTED_KEY, make_world
from tests.store_support import master_path


def run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    store = ["--store", str(tmp / "data")]
    key = ["--master-key", str(master_path(tmp))]
    needs_key = args[0] in ("create", "approve")
    return subprocess.run(
        [sys.executable, "-m", "workprint", "release", *args, *store, *(key if needs_key else [])],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(tmp)},
    )


def test_create_list_approve_show_and_tampering_through_the_cli(tmp_path: Path) -> None:
    world = make_world(tmp_path, titles=(f"ci {PLANTED_KEY}", "b", "c"))
    steward, researcher = world.steward, world.researcher
    world.store.close()
    good = tmp_path / "policy.toml"
    good.write_text(BASE_POLICY + '[fields]\ntiming = "drop"\n', encoding="utf-8")
    weak = tmp_path / "weak.toml"
    weak.write_text(BASE_POLICY + '[fields]\ntiming = "drop"\ntitles = "keep"\n', "utf-8")

    blocked = run(tmp_path, "create", "actions", "--name", "ci", "--policy", str(weak), "--json")
    assert blocked.returncode == 1, blocked.stderr
    info = json.loads(blocked.stdout)
    assert info["status"] == "blocked" and "SECRET in title" in info["reasons"][0]
    refused = run(tmp_path, "approve", info["id"], "--as", steward)
    assert refused.returncode == 2
    assert refused.stderr.startswith("workprint: error: release ci-v1 is blocked and cannot")
    assert refused.stderr.count("\n") == 1

    made = run(tmp_path, "create", "actions", "--name", "ci", "--policy", str(good))
    assert made.returncode == 0, made.stderr
    assert "ci-v2" in made.stdout and "pending" in made.stdout and "✓ pii" in made.stdout
    not_steward = run(tmp_path, "approve", "ci-v2", "--as", researcher)
    assert "only a steward may approve" in not_steward.stderr and not_steward.returncode == 2
    ok = run(tmp_path, "approve", "ci-v2", "--as", steward)
    assert ok.returncode == 0 and ok.stdout.startswith("approved ci-v2")

    listed = json.loads(run(tmp_path, "list", "--json").stdout)
    assert [(r["id"], r["status"]) for r in listed] == [("ci-v2", "approved"), ("ci-v1", "blocked")]
    seen = json.loads(run(tmp_path, "list", "--researcher", "--json").stdout)
    assert [r["id"] for r in seen] == ["ci-v2"]
    shown = run(tmp_path, "show", "ci-v2", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["intact"] is True

    card = Path(listed[0]["path"]) / "README.md"
    card.chmod(0o644)
    card.write_text(card.read_text("utf-8") + "edited\n", "utf-8")
    tampered = run(tmp_path, "show", "ci-v2")
    assert tampered.returncode == 1 and "TAMPERED" in tampered.stdout
    assert "README.md: changed" in tampered.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text("[kanon]\nk = 0\n", encoding="utf-8")
    broken = run(tmp_path, "create", "actions", "--name", "x", "--policy", str(bad))
    assert broken.returncode == 2
    assert broken.stderr == f"workprint: error: {bad}: kanon.k: must be ≥ 1, got 0\n"
    unknown = run(tmp_path, "show", "nope-v1")
    assert unknown.stderr == "workprint: error: no release 'nope-v1'\n"


def test_create_without_policy_uses_the_stewards_policy_in_the_data_directory(
    tmp_path: Path,
) -> None:
    """The portal's policy editor keeps DATA/release-policy.toml; `create` follows it."""
    world = make_world(tmp_path)
    world.store.close()
    strict = BASE_POLICY.replace("k = 2\n", "k = 50\n") + '[fields]\ntiming = "drop"\n'
    (tmp_path / "data" / "release-policy.toml").write_text(strict, encoding="utf-8")
    blocked = run(tmp_path, "create", "actions", "--name", "kept", "--json")
    assert blocked.returncode == 1, blocked.stderr
    reasons = json.loads(blocked.stdout)["reasons"]
    assert any(r.startswith("k_anonymity:") and "fewer than 50 people" in r for r in reasons)
    relaxed = tmp_path / "relaxed.toml"
    relaxed.write_text(BASE_POLICY + '[fields]\ntiming = "drop"\n', encoding="utf-8")
    passed = run(tmp_path, "create", "actions", "--name", "kept", "--policy", str(relaxed))
    assert passed.returncode == 0, passed.stderr  # an explicit --policy wins
