"""PII/secret scan throughput, MB/s per core, side by side with presidio's pattern recognizers.

The text is a realistic mix: workprint's own corpus of what people type at work (chat, mail,
search boxes, terminals, code and config, forms) and presidio-research's synthetic sentences,
half of the bytes each, repeated to at least ``--mb`` megabytes (UTF-8). Both scanners run in
this one process on one core over the same texts, after a warm-up pass (word lists loaded,
regexes compiled); MB/s is UTF-8 megabytes per CPU second of this process.

presidio-analyzer (a dev extra) is used only as a baseline: its default English recognizers
minus the spaCy NER one (which would need a model), each called with ``nlp_artifacts=None``;
its e-mail recognizer's ``tldextract`` is pointed at the suffix list bundled with tldextract,
so nothing is fetched from the network.

    .venv/bin/python bench/pii_scan.py [--mb 10] [--presidio-mb 10] [--json out.json]

``--person-ablation`` instead measures what each source of PERSON evidence adds (recall and
precision of PERSON on both corpora's held-out parts): context cues and capitalisation alone,
then with Faker's given/family-name gazetteers, then with family-name endings (the default).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workprint.privacy import redact_column, scan_texts  # noqa: E402
from workprint.privacy.corpus import load_marked, load_presidio  # noqa: E402

DATA = ROOT / "tests" / "data" / "pii"


def mixed_texts(megabytes: float) -> list[str]:
    """Own corpus and synthetic set, equal bytes of each, repeated to ``megabytes``."""
    own = [
        e.text
        for name in ("workprint_dev.txt", "workprint_test.txt")
        for e in load_marked(DATA / name)
    ]
    synthetic = [e.text for e in load_presidio(DATA / "synth_dataset_v2.json")]
    size = lambda texts: sum(len(t.encode()) for t in texts)  # noqa: E731
    own_repeat = max(1, round(size(synthetic) / size(own)))
    unit = own * own_repeat + synthetic
    texts: list[str] = []
    while size(texts) < megabytes * 1e6:
        texts.extend(unit)
    return texts


def timed(run: Callable[[], Any]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds)."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def presidio_scanner() -> tuple[Callable[[Sequence[str]], int], str] | None:
    """A function running presidio's pattern recognizers over texts (returns #results)."""
    try:
        import tldextract
        from presidio_analyzer import RecognizerRegistry
        from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    except ImportError:
        return None
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    email_recognizer.tldextract = types.SimpleNamespace(extract=offline)  # type: ignore[attr-defined]
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"])
    recognizers = [r for r in registry.recognizers if type(r).__name__ != "SpacyRecognizer"]

    def run(texts: Sequence[str]) -> int:
        found = 0
        for text in texts:
            for recognizer in recognizers:
                found += len(recognizer.analyze(text, recognizer.supported_entities, None))
        return found

    from importlib.metadata import version as package_version

    names = ", ".join(type(r).__name__.removesuffix("Recognizer") for r in recognizers)
    return run, f"presidio-analyzer {package_version('presidio-analyzer')} ({names})"


def person_ablation() -> None:
    """PERSON recall/precision with the evidence switched on step by step."""
    from workprint.privacy import names
    from workprint.privacy.corpus import split_groups
    from workprint.privacy.evaluate import evaluate
    from workprint.privacy.scanner import scan_text

    corpora = {
        "synthetic test": split_groups(load_presidio(DATA / "synth_dataset_v2.json"), "test"),
        "synthetic dev": split_groups(load_presidio(DATA / "synth_dataset_v2.json"), "dev"),
        "own test": load_marked(DATA / "workprint_test.txt"),
        "own dev": load_marked(DATA / "workprint_dev.txt"),
    }
    real = (names.first_names, names.last_names, names.surname_shaped)
    empty: frozenset[str] = frozenset()
    steps = (
        ("cues + capitalisation", (lambda: empty, lambda: empty, lambda w: False)),
        ("+ Faker name gazetteers", (real[0], real[1], lambda w: False)),
        ("+ family-name endings (default)", real),
    )
    print(f"{'PERSON evidence':<34}" + "".join(f"{k:>22}" for k in corpora))
    for label, (first, last, shaped) in steps:
        names.first_names, names.last_names, names.surname_shaped = first, last, shaped  # type: ignore[assignment]
        names.kind_of.cache_clear()
        cells = []
        for examples in corpora.values():
            c = evaluate(examples, scan_text).per_type[names.EntityType.PERSON]
            cells.append(f"R {c.recall:.3f} P {c.precision:.3f}")
        print(f"{label:<34}" + "".join(f"{cell:>22}" for cell in cells))
    names.first_names, names.last_names, names.surname_shaped = real  # type: ignore[assignment]
    names.kind_of.cache_clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=10.0, help="megabytes of text (default 10)")
    parser.add_argument(
        "--presidio-mb", type=float, default=None, help="presidio on this many MB (default: all)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--join", type=int, default=1, help="scan documents of N texts joined by blank lines"
    )
    parser.add_argument("--person-ablation", action="store_true", help="see the docstring")
    args = parser.parse_args()
    if args.person_ablation:
        person_ablation()
        return 0

    texts = mixed_texts(args.mb)
    if args.join > 1:
        texts = ["\n\n".join(texts[i : i + args.join]) for i in range(0, len(texts), args.join)]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    mean = megabytes * 1e6 / len(texts)
    print(f"{len(texts):,} texts, {megabytes:.2f} MB, mean {mean:.0f} bytes/text")
    scan_texts(texts[:2000])  # warm-up: word lists, regexes
    results: dict[str, Any] = {
        "texts": len(texts),
        "megabytes": megabytes,
        "python": platform.python_version(),
    }

    cpu, wall = timed(lambda: scan_texts(texts))
    results["workprint_scan_texts"] = {
        "cpu_s": cpu,
        "wall_s": wall,
        "mb_per_cpu_s": megabytes / cpu,
    }
    column = pa.array(texts, type=pa.string())
    cpu2, wall2 = timed(lambda: redact_column(column))
    results["workprint_redact_column"] = {
        "cpu_s": cpu2,
        "wall_s": wall2,
        "mb_per_cpu_s": megabytes / cpu2,
    }

    baseline = presidio_scanner()
    if baseline is not None:
        run, label = baseline
        subset = texts
        if args.presidio_mb is not None:
            subset, size = [], 0
            for t in texts:
                if size >= args.presidio_mb * 1e6:
                    break
                subset.append(t)
                size += len(t.encode())
        sub_mb = sum(len(t.encode()) for t in subset) / 1e6
        run(subset[:200])  # warm-up
        cpu3, wall3 = timed(lambda: run(subset))
        results["presidio_patterns"] = {
            "label": label,
            "megabytes": sub_mb,
            "cpu_s": cpu3,
            "wall_s": wall3,
            "mb_per_cpu_s": sub_mb / cpu3,
        }

    print(f"{'scanner':<44} {'MB':>7} {'CPU s':>8} {'MB/s per core':>14}")
    for key, name in (
        ("workprint_scan_texts", "workprint scan_texts (all 11 types)"),
        ("workprint_redact_column", "workprint redact_column (Arrow, scan+redact)"),
        ("presidio_patterns", "presidio pattern recognizers"),
    ):
        if key in results:
            r = results[key]
            size = r.get("megabytes", megabytes)
            print(f"{name:<44} {size:>7.2f} {r['cpu_s']:>8.2f} {r['mb_per_cpu_s']:>14.2f}")
    if "presidio_patterns" in results:
        ratio = (
            results["workprint_scan_texts"]["mb_per_cpu_s"]
            / results["presidio_patterns"]["mb_per_cpu_s"]
        )
        results["speedup_vs_presidio"] = ratio
        print(f"workprint / presidio: {ratio:.1f}x   ({results['presidio_patterns']['label']})")
    else:
        print("presidio-analyzer not installed: pip install -e '.[dev]' for the baseline")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
