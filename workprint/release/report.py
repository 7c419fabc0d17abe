"""The privacy report of a release: ``privacy-report.json`` for scripts and
``privacy-report.html`` for people — what was found and redacted per field and type, the
k-anonymity figures, the ε spent, re-identification figures, and for a blocked release exactly
which check failed and why. Plots are inline SVG: the page needs no network and no script.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

_BAR_W = 460
_ROW_H = 22


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float]) -> str:
    """A horizontal bar chart as an inline ``<svg>``."""
    if not labels:
        return f"<p><em>{html.escape(title)}: nothing to plot.</em></p>"
    top = max(max(values, default=0.0), 1e-9)
    height = _ROW_H * len(labels) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_BAR_W + 260}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 24 + i * _ROW_H
        width = max(0.0, value) / top * _BAR_W
        parts.append(
            f'<text x="150" y="{y + 14}" text-anchor="end">{html.escape(str(label))}</text>'
            f'<rect x="156" y="{y + 2}" width="{width:.1f}" height="{_ROW_H - 6}" '
            f'fill="#4a7ab5"/><text x="{160 + width:.1f}" y="{y + 14}">{value:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def accuracy_chart(
    title: str, bars: Sequence[tuple[str, float]], marks: Sequence[tuple[str, float]]
) -> str:
    """Accuracies (0–1) as horizontal bars on a fixed 0–100% axis, with dashed vertical lines
    at ``marks`` (chance, the blocking threshold), as an inline ``<svg>``."""
    height = _ROW_H * len(bars) + 48
    left = 260
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + _BAR_W + 70}" '
        f'height="{height}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        y = 24 + i * _ROW_H
        width = min(max(value, 0.0), 1.0) * _BAR_W
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{width:.1f}" height="{_ROW_H - 6}" '
            f'fill="#4a7ab5"/><text x="{left + width + 4:.1f}" y="{y + 14}">{value:.1%}</text>'
        )
    bottom = 24 + len(bars) * _ROW_H
    for j, (label, value) in enumerate(marks):
        x = left + min(max(value, 0.0), 1.0) * _BAR_W
        parts.append(
            f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{bottom}" stroke="#b00" '
            f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{bottom + 12 + 12 * j}" '
            f'fill="#b00" font-size="11">{html.escape(label)} {value:.1%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_SCENARIO_NAMES = {
    "raw": "raw (attacker trained on raw)",
    "anonymised_vs_raw_trained": "anonymised, raw-trained attacker",
    "anonymised_vs_anonymised_trained": "anonymised, anonymised-trained",
    "timing_free_floor": "timing-free floor (key sequence)",
}


def _keystroke_html(figures: dict[str, Any] | None) -> str:
    """This release's keystroke re-identification figures, or why there are none."""
    if not figures:
        return ""
    out = ["<h3>Keystroke timings: re-identification attack</h3>"]
    if not figures["measured"]:
        out.append(f"<p>Not measured on this release: {html.escape(figures['why'])}.</p>")
        reference = figures.get("reference")
        if reference:
            out.append(
                f"<p><strong>{html.escape(reference['label'])}</strong>: "
                f"{html.escape(reference['data'])}; {html.escape(reference['attack'])}; "
                f"<code>{html.escape(reference['command'])}</code> "
                f"({html.escape(reference['source'])}).</p>"
            )
            bars = [(_SCENARIO_NAMES[k], float(reference[k])) for k in _SCENARIO_NAMES]
            out.append(
                accuracy_chart(
                    "REFERENCE (fixed_text.csv), not this release: top-1 accuracy",
                    bars,
                    [("chance", float(reference["chance"]))],
                )
            )
        return "".join(out)
    chance, limit = figures["chance"], figures["max_reid_ratio"]
    out.append(
        f"<p>{html.escape(figures['data'])}. Attack: {html.escape(figures['attack'])}; "
        f"{figures['people']} people ({figures['people_in_release']} in the release), "
        f"{figures['sessions']} sessions, {figures['probes']} probes, seed {figures['seed']}. "
        f"Blocked above {limit:g}× chance.</p>"
    )
    bars = [(_SCENARIO_NAMES[k], float(figures[k]["accuracy"])) for k in _SCENARIO_NAMES]
    marks = [("chance", chance), (f"block above ({limit:g}× chance)", limit * chance)]
    out.append(accuracy_chart("top-1 identification accuracy, this release", bars, marks))
    out.append(
        _table(
            [
                (
                    _SCENARIO_NAMES[k],
                    f"{figures[k]['correct']}/{figures[k]['probes']}",
                    f"{figures[k]['accuracy']:.1%}",
                    f"{figures[k]['x_chance']:g}×",
                    "{:.1%} – {:.1%}".format(*figures[k]["ci95"]),
                )
                for k in _SCENARIO_NAMES
            ],
            ("scenario", "correct", "accuracy", "× chance", "95% interval"),
        )
    )
    utility = figures.get("utility")
    if utility:
        out.append("<h4>Utility kept (anonymised vs raw)</h4>")
        out.append(
            _table(
                [(k, "n/a" if v is None else f"{v:.4g}") for k, v in utility.items()],
                ("figure", "value"),
            )
        )
    return "".join(out)


def _mouse_html(section: dict[str, Any] | None) -> str:
    if not section or not section.get("applies"):
        return ""
    text = html.escape(section["done"])
    if "why" in section:
        text += f". Not measured: {html.escape(section['why'])}"
    return f"<h3>Mouse paths</h3><p>{text}.</p>"


def _table(rows: Sequence[Sequence[Any]], head: Sequence[str]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


def render_html(report: dict[str, Any]) -> str:
    """The readable page for one report (the JSON document ``create`` writes)."""
    checks = report["checks"]
    status = report["status"]
    found: dict[str, dict[str, int]] = report["redactions"]["found"]
    per_type: dict[str, int] = {}
    for counts in found.values():
        for kind, n in counts.items():
            per_type[kind] = per_type.get(kind, 0) + n
    residual: dict[str, dict[str, int]] = report["residual"]
    kanon = report["k_anonymity"]
    reid = report["reidentification"]
    sections = [
        f"<h1>Privacy report: {html.escape(report['name'])} v{report['version']}</h1>",
        f"<p>Release <code>{html.escape(report['id'])}</code> — status "
        f'<strong class="{status}">{status}</strong>, {report["rows"]} rows.</p>',
        "<h2>Checks</h2>",
        _table(
            [(c["name"], "passed" if c["passed"] else "FAILED", c["reason"]) for c in checks],
            ("check", "result", "why"),
        ),
    ]
    if report["reasons"]:
        items = "".join(f"<li>{html.escape(r)}</li>" for r in report["reasons"])
        sections.append(f"<h2>Why it is blocked</h2><ul>{items}</ul>")
    sections += [
        "<h2>Found and redacted</h2>",
        bar_chart("redactions per type", list(per_type), list(per_type.values())),
        _table(
            [(f, t, n) for f, counts in sorted(found.items()) for t, n in sorted(counts.items())],
            ("field", "type", "found and redacted"),
        ),
        "<h3>Generalised or dropped</h3>",
        _table(sorted(report["redactions"]["generalised"].items()), ("field", "values")),
        "<h3>Still found after the transforms</h3>",
        _table(
            [
                (f, t, n)
                for f, counts in sorted(residual.items())
                for t, n in sorted(counts.items())
            ],
            ("field", "type", "count"),
        )
        if residual
        else "<p>Nothing.</p>",
        "<h2>k-anonymity</h2>",
        f"<p>k = {kanon['k']} over ({html.escape(', '.join(kanon['quasi_identifiers']))}); "
        f"{kanon['classes']} classes, smallest {kanon['smallest']} people, "
        f"{len(kanon['violations'])} classes below k.</p>",
        "<h2>Re-identification</h2>",
        "<h3>From the quasi-identifiers</h3>",
        _table(
            sorted((k, v) for k, v in reid.items() if not isinstance(v, dict)),
            ("figure", "value"),
        ),
        _keystroke_html(reid.get("keystroke_timing")),
        _mouse_html(reid.get("mouse_paths")),
        "<h2>Differential privacy</h2>",
        f"<p>ε spent by this release: {report['dp']['epsilon']:g} per person at most.</p>",
    ]
    for result in report["dp"]["aggregates"]:
        sections.append(
            bar_chart(
                f"{result['name']} (ε={result['epsilon']:.3g}, {result['people']} people)",
                result["labels"],
                [round(v, 1) for v in result["values"]],
            )
        )
    for note in report["dp"]["skipped"]:
        sections.append(f"<p><em>{html.escape(note)}</em></p>")
    sections += [
        "<h2>Transforms</h2>",
        "<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in report["transforms"]) + "</ul>",
    ]
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 8px}"
        ".blocked{color:#b00}.pending{color:#a60}.approved{color:#070}svg{display:block}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>privacy report {html.escape(report['id'])}</title><style>{style}</style>"
        f"</head><body>{''.join(sections)}</body></html>\n"
    )


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
