"""Small SVG charts for reports, written by hand to need no plotting library."""

from __future__ import annotations

from html import escape

COLOURS = ("#000091", "#6a6af4", "#e1000f", "#18753c", "#b34000")  # French State palette


def grouped_bars(
    title: str,
    groups: dict[str, dict[str, float]],
    maximum: float = 1.0,
    intervals: dict[str, dict[str, tuple[float, float]]] | None = None,
    reference: float | None = None,
) -> str:
    """One group of bars per key of ``groups`` (e.g. a metric), one bar per series (a mode).

    ``{"hit@1": {"lexical": 0.45, "hybrid": 0.52}, "hit@5": {...}}`` gives two groups of
    two bars, with a legend for the series. ``intervals`` (same keys, (low, high)) draws an
    error bar on each bar; ``reference`` a dashed line across (e.g. 50 = no preference).
    """
    intervals = intervals or {}
    series = list(dict.fromkeys(s for values in groups.values() for s in values))
    bar, gap, height, left, top = 28, 24, 220, 40, 40
    width = left + len(groups) * (len(series) * bar + gap) + 140
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + top + 50}" '
        f'font-family="sans-serif" font-size="12">',
        f'<text x="{left}" y="20" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + height}" x2="{width - 140}" y2="{top + height}" '
        'stroke="#333"/>',
    ]
    for tick in (0.25, 0.5, 0.75, 1.0):
        y = top + height - tick / maximum * height
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 140}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="4" y="{y + 4:.1f}">{tick * maximum:.2f}</text>')
    x = left + gap / 2
    for group, values in groups.items():
        for i, name in enumerate(series):
            value = values.get(name, 0.0)
            h = max(0.0, value / maximum * height)
            parts.append(
                f'<rect x="{x + i * bar:.1f}" y="{top + height - h:.1f}" '
                f'width="{bar - 4}" height="{h:.1f}" fill="{COLOURS[i % 5]}">'
                f"<title>{escape(name)} {escape(group)}: {value:.3f}</title></rect>"
            )
            middle = x + i * bar + (bar - 4) / 2
            label_y = top + height - h - 4
            if (span := intervals.get(group, {}).get(name)) is not None:
                y_low = top + height - max(0.0, span[0] / maximum * height)
                y_high = top + height - max(0.0, span[1] / maximum * height)
                parts.append(
                    f'<line x1="{middle:.1f}" y1="{y_low:.1f}" x2="{middle:.1f}" '
                    f'y2="{y_high:.1f}" stroke="#161616" stroke-width="1.5"/>'
                )
                label_y = min(label_y, y_high - 4)
            parts.append(
                f'<text x="{middle:.1f}" y="{label_y:.1f}" text-anchor="middle" font-size="9">'
                f"{value:.2f}</text>"
            )
        centre = x + len(series) * bar / 2
        parts.append(
            f'<text x="{centre:.1f}" y="{top + height + 18}" text-anchor="middle">'
            f"{escape(group)}</text>"
        )
        x += len(series) * bar + gap
    if reference is not None:
        y = top + height - reference / maximum * height
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 140}" y2="{y:.1f}" '
            'stroke="#e1000f" stroke-dasharray="4 3"/>'
        )
    for i, name in enumerate(series):
        y = top + 10 + i * 20
        parts.append(
            f'<rect x="{width - 130}" y="{y}" width="12" height="12" fill="{COLOURS[i % 5]}"/>'
        )
        parts.append(f'<text x="{width - 112}" y="{y + 10}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
