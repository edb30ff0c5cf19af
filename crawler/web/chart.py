"""A small SVG chart of captures per day per site, drawn on the server (pure; no JavaScript, no
CDN: the UI works offline). Every text in it is escaped."""

from __future__ import annotations

from datetime import date
from html import escape

PALETTE = ("#1b6ca8", "#d1495b", "#edae49", "#00798c", "#30638e", "#8f2d56", "#66a182", "#7b5ea7")


def captures_chart(days: list[date], series: dict[str, list[int]], *, width: int = 720, height: int = 220) -> str:
    """Stacked bars: one bar a day, one colour a site, with a legend and the day axis."""
    left, right, top, bottom = 36, 12, 12, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    peak = max([*totals, 1])
    step = plot_w / max(len(days), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Captures per day, last {len(days)} days">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10">{peak}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>']
    for i, day in enumerate(days):
        x = left + i * step
        y = float(top + plot_h)
        for n, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / peak
            y -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(name)} {day.isoformat()}: '
                         f'{values[i]}</title></rect>')
        if i % 7 == 0 or i == len(days) - 1:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_h + 12}" text-anchor="middle" '
                         f'font-size="10">{day:%m-%d}</text>')
    for n, name in enumerate(series):
        x = left + (n % 4) * (plot_w / 4)
        y = height - 20 + (n // 4) * 12
        parts.append(f'<rect x="{x:.1f}" y="{y - 8}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>'
                     f'<text x="{x + 14:.1f}" y="{y + 1}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
