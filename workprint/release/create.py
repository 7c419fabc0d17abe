"""``create_release``: the store → a built, transformed, checked release directory + registry row.

1. Build the dataset from the store's raw events with the build pipeline, under this release's
   pseudonyms (fresh key, or the steward's link key), gathering each person's activity for the
   aggregates on the way.
2. Transform every field (``transforms``), then the timings (``timing``).
3. Check: a second PII/secret scan of every string (any blocking type left blocks), k-anonymity
   over the quasi-identifiers, the timing anonymiser available, the re-identification attack
   on the released key timings within ``max_reid_ratio`` (``reid``), and — only if those
   passed — the privacy-budget ledger (recording the spend, or refusing it).
4. Write: a passed release gets its data files, README card, aggregates, report and manifest; a
   blocked one only its card and report (no data leaves), so that the report says why.

Batches are held in memory until the checks are done (a blocked release writes no data), so a
release is bounded by memory; streaming to a staging directory is the way to lift that.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pyarrow as pa

from workprint.builders.pipeline import (
    Coverage,
    chosen_people,
    make_card,
    pseudonymise,
    session_stream,
    settings,
)
from workprint.errors import WorkprintError
from workprint.privacy.kanon import KAnonResult, check_k_anonymity
from workprint.privacy.ledger import PrivacyLedger, describe_refusals
from workprint.privacy.pseudonyms import ReleasePseudonyms
from workprint.privacy.redact import Surrogates
from workprint.release.aggregates import PersonActivity, observe, plan_aggregates, run_aggregates
from workprint.release.policy import ReleasePolicy
from workprint.release.registry import (
    Check,
    ReleaseError,
    ReleaseInfo,
    Status,
    connect,
    next_version,
    register,
    write_manifest,
)
from workprint.release.reid import reid_section
from workprint.release.report import dumps, render_html
from workprint.release.timing import QUANTUM_NS, release_timings
from workprint.release.transforms import ReleaseTransformer, residual_findings

if TYPE_CHECKING:
    from workprint.export.writers import FileFormat
    from workprint.store.embedded import EmbeddedStore


@dataclass
class ReleaseRequest:
    kind: str
    name: str
    policy: ReleasePolicy
    root: Path
    actor: str
    people: list[str] | None = None
    link_key: Path | None = None
    file_format: FileFormat = "parquet"
    settings: list[str] = field(default_factory=list)
    seed: int | None = None
    progress: bool = False


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    if not slug:
        raise ReleaseError(f"release name {name!r} has no letters or digits")
    return slug


def transforms_text(policy: ReleasePolicy, linked: bool, timing_ok: bool) -> list[str]:
    fields = policy.fields
    timing = (
        "mouse approach paths through workprint.privacy.timing.anonymize_mouse_paths; writing "
        "edit times through anonymize_keystrokes (bursts, pauses, revisions re-timed from them)"
        if fields.timing == "anonymise" and timing_ok
        else "mouse paths and per-edit key times dropped"
    )
    return [
        "person and session ids: keyed HMAC-SHA256 pseudonyms, "
        + (
            "under the steward's link key (linkable with releases made with the same key)"
            if linked
            else "under a fresh random key for this release (not linkable)"
        ),
        f"apps: {len(policy.apps.allowlist)} allowlisted names kept; others → their category "
        "from the steward's map, or 'other'",
        "URLs: scheme + host + templated path (numbers, UUIDs, hashes, ids, personal data → "
        "placeholders); no userinfo, port, fragment or query except a redacted search query",
        f"window titles: {fields.titles}",
        f"typed text: {fields.text} (writing edits scanned as the typed stream, findings masked)",
        "every other string: PII/secret scan, findings replaced by per-release surrogates",
        f"timings: {timing}; every time relative to its session's start, rounded to "
        f"{QUANTUM_NS // 1_000_000} ms",
        f"k-anonymity: k = {policy.kanon.k} over ({', '.join(policy.kanon.quasi_identifiers)})",
        f"aggregates: OpenDP, ε = {policy.dp.epsilon:g} per release, per-person contribution "
        "bounded",
    ]


def _pii_check(residual: dict[str, Any], blocking: tuple[str, ...]) -> Check:
    bad = [
        f"{kind} in {path} ({n})"
        for path, counts in sorted(residual.items())
        for kind, n in sorted(counts.items())
        if kind in blocking
    ]
    if bad:
        return Check(name="pii", passed=False, reason="still found: " + ", ".join(bad))
    return Check(name="pii", passed=True, reason=f"no {', '.join(blocking)} left in any field")


def _kanon_json(result: KAnonResult) -> dict[str, Any]:
    doc: dict[str, Any] = msgspec.to_builtins(result)
    doc["violations"] = doc["violations"][:50]
    return doc


def create_release(store: EmbeddedStore, request: ReleaseRequest) -> ReleaseInfo:
    """Build, transform, check and write one release; register it (blocked or pending)."""
    from workprint.events import SCOPES
    from workprint.export import write_dataset
    from workprint.export.card import CardStats, render_card

    policy, root = request.policy, request.root
    slug = _slug(request.name)
    db = connect(root)
    try:
        version = next_version(db, request.name)
        release_id = f"{slug}-v{version}"
        directory = root / slug / f"v{version}"
        if directory.exists():
            raise ReleaseError(f"{directory} exists but is not in the registry; move it away")
        names = (
            ReleasePseudonyms.from_link_key(request.link_key)
            if request.link_key
            else ReleasePseudonyms.fresh()
        )
        step, used = settings(request.kind, request.settings)
        transformer = ReleaseTransformer(policy, Surrogates.new())
        people = chosen_people(store, request.people)
        owner = {names.person(p.id): p.id for p in people}
        coverage = Coverage()
        activity: dict[str, PersonActivity] = {}
        built_batches: list[tuple[pa.Table, str]] = []
        timing_error = ""
        for table, raw, session, person in session_stream(
            store, people, request.actor, names, coverage
        ):
            observe(activity.setdefault(owner[person], PersonActivity()), table, policy)
            built = transformer.apply(pseudonymise(step(table), raw, session, person))
            built_batches.append((built, person))
        try:
            timings = release_timings(built_batches, policy.fields.timing, request.seed)
        except WorkprintError as exc:  # the anonymiser refused (too few people, bad input)
            timing_error = f"timing anonymiser: {exc}"
            timings = release_timings(built_batches, "drop")
        batches = timings.batches
        reid, reid_check = reid_section(request.kind, policy, timings, timing_error, request.seed)
        data = pa.concat_tables(batches) if batches else pa.table({"person": pa.array([], "str")})
        residual = residual_findings(data)
        kanon = check_k_anonymity(
            data,
            policy.kanon.quasi_identifiers,
            policy.kanon.k,
            opaque=lambda v: names.opaque("kclass", v),
        )
        checks = [
            _pii_check(residual, policy.fields.block_types),
            Check(name="k_anonymity", passed=kanon.ok, reason=kanon.reason()),
            Check(
                name="timing",
                passed=not timing_error,
                reason=timing_error or f"timings {policy.fields.timing}d",
            ),
            reid_check,
        ]
        included = sorted(coverage.people)
        plan = plan_aggregates(included, policy)
        epsilon = max((c.epsilon for c in plan.charges if c.kind == "person"), default=0.0)
        aggregates: list[dict[str, Any]] = []
        if all(c.passed for c in checks):
            with PrivacyLedger(root / "ledger.db") as ledger:
                refused = ledger.record(
                    release_id,
                    plan.charges,
                    {"person": policy.dp.person_total, "team": policy.dp.team_total},
                )
            reason = describe_refusals(refused) or f"ε {epsilon:g} recorded for each person"
            checks.append(Check(name="privacy_budget", passed=not refused, reason=reason))
            if not refused:
                results = run_aggregates(plan, activity, policy)
                aggregates = [msgspec.to_builtins(r) for r in results]
        else:
            checks.append(
                Check(name="privacy_budget", passed=False, reason="not reached: a check failed")
            )
        status: Status = "pending" if all(c.passed for c in checks) else "blocked"
        reasons = tuple(f"{c.name}: {c.reason}" for c in checks if not c.passed)
        if status == "blocked":
            epsilon = 0.0
        card = make_card(request.kind, used)
        card.name = f"workprint {request.kind} release {request.name} v{version}"
        card.people = len(included)
        card.hours = round(coverage.ns / 3.6e12, 3)
        card.scopes = tuple(s for s in SCOPES if s in coverage.scopes)
        card.privacy_transforms = tuple(transforms_text(policy, names.linked, not timing_error))
        card.extra = {"release": release_id, "version": version, "status_at_creation": status}
        directory.mkdir(parents=True)
        rows = data.num_rows
        if status == "pending":
            write_dataset(
                iter(batches), directory, request.file_format, card, progress=request.progress
            )
            (directory / "aggregates.json").write_text(dumps({"aggregates": aggregates}))
        else:
            text = render_card(card, CardStats(), [], "none (blocked: no data written)")
            (directory / "README.md").write_text(text, encoding="utf-8")
        report: dict[str, Any] = {
            "id": release_id,
            "name": request.name,
            "version": version,
            "kind": request.kind,
            "status": status,
            "rows": rows,
            "people": len(included),
            "checks": [msgspec.to_builtins(c) for c in checks],
            "reasons": list(reasons),
            "redactions": {
                "found": {k: dict(v) for k, v in transformer.found.items()},
                "generalised": dict(transformer.generalised),
            },
            "residual": {k: dict(v) for k, v in residual.items()},
            "k_anonymity": _kanon_json(kanon),
            "reidentification": {
                "max_risk (1 / smallest class)": round(1 / kanon.smallest, 4)
                if kanon.smallest
                else 0,
                "classes below k": len(kanon.violations),
                "people in the release": len(included),
                "chance of guessing a person (1 / people)": round(1 / len(included), 4)
                if included
                else 0,
                **reid,
            },
            "dp": {"epsilon": epsilon, "aggregates": aggregates, "skipped": plan.skipped},
            "transforms": list(card.privacy_transforms),
            "policy": msgspec.to_builtins(policy) | {"teams": sorted(policy.teams)},
        }
        (directory / "privacy-report.json").write_text(dumps(report), encoding="utf-8")
        (directory / "privacy-report.html").write_text(render_html(report), encoding="utf-8")
        manifest = write_manifest(directory)
        info = ReleaseInfo(
            id=release_id,
            name=request.name,
            version=version,
            kind=request.kind,
            status=status,
            checks=tuple(checks),
            reasons=reasons,
            epsilon=epsilon,
            created_by=request.actor,
            created_ns=time.time_ns(),
            approver=None,
            approved_ns=None,
            path=str(directory.resolve()),
        )
        register(db, info, included, manifest)
    finally:
        db.close()
    store.audit(
        request.actor,
        "release.create",
        release_id,
        f"status={status} rows={rows} people={len(included)} epsilon={epsilon:g}",
    )
    return info
