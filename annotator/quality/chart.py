"""A small horizontal bar chart of kappa per finding with its 95% interval as a whisker,
drawn as inline SVG (no script: the page's CSP forbids inline scripts). Same look as
`annotator/web/plots.py`: grey frame, light grid, the project's blue."""

import math

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

BAR_COLOUR = "#0b6bcb"
WIDTH, ROW, LABEL_W, VALUE_W, TOP, AXIS_H = 560, 26, 120, 70, 8, 30

# (name, kappa or None, [low, high] or None, why kappa is undefined or None)
Bar = tuple[str, float | None, list[float] | None, str | None]


def kappa_bars_svg(bars: list[Bar]) -> SafeString:
    """Bars from 0 to each kappa, whiskers over the interval; x from a round value at or
    below the lowest interval end (and 0) to 1."""
    lows = [v for _, value, ci, _ in bars for v in (value, *(ci or [])) if v is not None]
    x_low = max(-1.0, min(0.0, math.floor(min(lows, default=0.0) * 5) / 5))
    span = WIDTH - LABEL_W - VALUE_W
    height = TOP + ROW * len(bars)

    def at(x: float) -> float:
        return round(LABEL_W + span * (x - x_low) / (1.0 - x_low), 1)

    parts = []
    for k in range(round((1.0 - x_low) * 5) + 1):
        tick = round(x_low + 0.2 * k, 1)
        parts.append(
            format_html(
                '<line x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="{c}"/>'
                '<text x="{x}" y="{ty}" font-size="11" text-anchor="middle">{v}</text>',
                x=at(tick),
                t=TOP,
                b=height + 4,
                c="#999" if tick == 0 else "#e4e4e4",
                ty=height + 16,
                v=f"{tick:.1f}",
            )
        )
    for row, (name, value, ci, undefined) in enumerate(bars):
        parts.append(_bar(TOP + ROW * row, name, value, ci, undefined, at))
    parts.append(
        format_html(
            '<text x="{x}" y="{y}" font-size="12" text-anchor="middle">'
            "Fleiss’ kappa (95% interval)</text>",
            x=LABEL_W + span / 2,
            y=height + AXIS_H - 2,
        )
    )
    return format_html(
        '<svg class="kappa-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="Fleiss’ kappa per finding with 95% intervals">{body}</svg>',
        w=WIDTH,
        h=height + AXIS_H,
        body=mark_safe("".join(parts)),  # noqa: S308 - every part comes from format_html
    )


def _bar(y: float, name: str, value, ci, undefined, at) -> SafeString:
    middle = y + ROW / 2
    label = format_html(
        '<text x="{x}" y="{y}" font-size="12" text-anchor="end">{n}</text>',
        x=LABEL_W - 8,
        y=middle + 4,
        n=name,
    )
    if value is None:
        return format_html(
            '{}<text x="{x}" y="{y}" font-size="11" fill="#666">undefined<title>{why}</title>'
            "</text>",
            label,
            x=at(0) + 6,
            y=middle + 4,
            why=undefined or "",
        )
    left, right = sorted((at(0), at(value)))
    whisker = ""
    if ci is not None:
        low, high = at(ci[0]), at(ci[1])
        whisker = format_html(
            '<line x1="{a}" y1="{m}" x2="{b}" y2="{m}" stroke="#333"/>'
            '<line x1="{a}" y1="{t}" x2="{a}" y2="{u}" stroke="#333"/>'
            '<line x1="{b}" y1="{t}" x2="{b}" y2="{u}" stroke="#333"/>',
            a=low,
            b=high,
            m=middle,
            t=middle - 5,
            u=middle + 5,
        )
    interval = f" ({ci[0]:.2f} to {ci[1]:.2f})" if ci is not None else ""
    return format_html(
        '{}<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}">'
        "<title>{n}: kappa {v}{i}</title></rect>{}"
        '<text x="{tx}" y="{ty}" font-size="11">{v}</text>',
        label,
        whisker,
        x=left,
        y=y + 6,
        w=round(max(right - left, 1.0), 1),
        h=ROW - 12,
        c=BAR_COLOUR,
        n=name,
        v=f"{value:.2f}",
        i=interval,
        tx=WIDTH - VALUE_W + 8,
        ty=middle + 4,
    )
