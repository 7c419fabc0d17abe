"""Charts as inline SVG (no script, no external file): a bar chart with a text alternative, so a
screen reader gets the same figures as the eye."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

from markupsafe import Markup

WIDTH: Final = 640
BAR_GAP: Final = 4
COLOR: Final = "#1f5f99"  # 7:1 against white


def bar_chart(
    title: str, bars: Sequence[tuple[str, float]], *, unit: str = "", height: int = 160
) -> Markup:
    """Vertical bars, labelled under each bar, with the value on top; responsive width."""
    if not bars:
        return Markup(f'<p class="muted">{escape(title)}: nothing to show yet.</p>')
    top = max(value for _, value in bars) or 1.0
    slot = WIDTH / len(bars)
    plot_h = height - 40
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(bars):
        h = max(plot_h * value / top, 1.0 if value else 0.0)
        x = i * slot + BAR_GAP / 2
        y = 20 + plot_h - h
        w = max(slot - BAR_GAP, 1.0)
        shown = f"{value:g}{unit}"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{COLOR}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
        )
        if len(bars) <= 16:
            cx = x + w / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11">'
                f"{escape(shown)}</text>"
                f'<text x="{cx:.1f}" y="{height - 6}" text-anchor="middle" font-size="11">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
