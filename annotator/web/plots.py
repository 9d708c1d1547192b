"""Small inline SVG plots for server-rendered pages (no script, so the CSP stays strict)."""

import math
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

SIZE = 160
PAD = 20


def roc_svg(curve: dict) -> SafeString:
    """An ROC curve with its chance diagonal; empty when the curve is undefined."""
    fpr, tpr = curve.get("fpr") or [], curve.get("tpr") or []
    if not fpr:
        return mark_safe("<p class='muted'>not enough positives and negatives</p>")  # noqa: S308
    span = SIZE - 2 * PAD
    points = " ".join(
        f"{PAD + x * span:.1f},{SIZE - PAD - y * span:.1f}" for x, y in zip(fpr, tpr, strict=True)
    )
    return format_html(
        '<svg class="roc" viewBox="0 0 {s} {s}" width="{s}" height="{s}" role="img" '
        'aria-label="ROC curve">'
        '<rect x="{p}" y="{p}" width="{w}" height="{w}" fill="none" stroke="#999"/>'
        '<line x1="{p}" y1="{b}" x2="{e}" y2="{p}" stroke="#ccc" stroke-dasharray="3 3"/>'
        '<polyline points="{points}" fill="none" stroke="#0b6bcb" stroke-width="2"/>'
        '<text x="{p}" y="{t}" font-size="9">FPR →</text>'
        "</svg>",
        s=SIZE,
        p=PAD,
        w=span,
        b=SIZE - PAD,
        e=SIZE - PAD,
        t=SIZE - 4,
        points=points,
    )


@dataclass(frozen=True)
class Line:
    """One curve of a chart: its legend name, its (x, y) points in order, and its look."""

    name: str
    points: list[tuple[float, float]]
    colour: str
    dashed: bool = False
    highlight: int | None = None  # index of a point to ring, e.g. the promoted version
    highlight_name: str = ""


CHART_W, CHART_H = 560, 300
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 12, 44
LEGEND_ROW = 18


def learning_svg(lines: list[Line], x_label: str, y_label: str) -> SafeString:
    """Learning curves in one chart: y from a round value at or below 0.5 up to 1, x from 0;
    each point carries a title with its values; a legend under the axes."""
    points = [p for line in lines for p in line.points]
    if not points:
        return format_html("<p class='muted'>{}</p>", "no points to draw")
    x_ticks = _ticks(0, max(x for x, _ in points) or 1)
    y_low = max(0.0, math.floor(min(0.5, *(y for _, y in points)) * 10) / 10)
    y_ticks = [round(y_low + 0.1 * k, 1) for k in range(round((1.0 - y_low) * 10) + 1)]
    x_high, span_w, span_h = x_ticks[-1], CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM

    def at(x: float, y: float) -> tuple[float, float]:
        px = LEFT + span_w * x / x_high
        py = TOP + span_h * (1.0 - (y - y_low) / (1.0 - y_low))
        return round(px, 1), round(py, 1)

    bottom = TOP + span_h
    parts = [
        format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>',
            LEFT,
            TOP,
            span_w,
            span_h,
        )
    ]
    for x in x_ticks:
        px, _ = at(x, y_low)
        parts.append(
            format_html(
                '<line x1="{x}" y1="{b}" x2="{x}" y2="{t}" stroke="#666"/>'
                '<text x="{x}" y="{ty}" font-size="11" text-anchor="middle">{v}</text>',
                x=px,
                b=bottom,
                t=bottom + 4,
                ty=bottom + 16,
                v=f"{x:g}",
            )
        )
    for y in y_ticks:
        _, py = at(0, y)
        parts.append(
            format_html(
                '<line x1="{l}" y1="{y}" x2="{r}" y2="{y}" stroke="#e4e4e4"/>'
                '<text x="{tx}" y="{ty}" font-size="11" text-anchor="end">{v}</text>',
                l=LEFT,
                r=LEFT + span_w,
                y=py,
                tx=LEFT - 6,
                ty=round(py + 4, 1),
                v=f"{y:.1f}",
            )
        )
    parts.append(
        format_html(
            '<text x="{cx}" y="{bx}" font-size="12" text-anchor="middle">{xl}</text>'
            '<text x="12" y="{cy}" font-size="12" text-anchor="middle" '
            'transform="rotate(-90 12 {cy})">{yl}</text>',
            cx=LEFT + span_w / 2,
            bx=bottom + 34,
            cy=TOP + span_h / 2,
            xl=x_label,
            yl=y_label,
        )
    )
    legend_y = CHART_H + 4
    for line in lines:
        parts.append(_line(line, at))
        parts.append(_legend(line, legend_y))
        legend_y += LEGEND_ROW
        if line.highlight is not None and line.highlight_name:
            parts.append(
                format_html(
                    '<circle cx="{x}" cy="{y}" r="6" fill="none" stroke="{c}" stroke-width="2"/>'
                    '<text x="{tx}" y="{ty}" font-size="12">{n}</text>',
                    x=LEFT + 12,
                    y=legend_y,
                    c=line.colour,
                    tx=LEFT + 32,
                    ty=legend_y + 4,
                    n=line.highlight_name,
                )
            )
            legend_y += LEGEND_ROW
    height = legend_y + 4
    return format_html(
        '<svg class="learning-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}">{body}</svg>',
        w=CHART_W,
        h=height,
        label=f"{y_label} against {x_label}",
        body=_joined(parts),
    )


def _line(line: Line, at) -> SafeString:
    xy = [at(x, y) for x, y in line.points]
    dash = "6 4" if line.dashed else "none"
    dots = _joined(
        format_html(
            '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}</title></circle>',
            px,
            py,
            line.colour,
            f"{line.name}: {x:g} labels, macro AUROC {y:.3f}",
        )
        for (px, py), (x, y) in zip(xy, line.points, strict=True)
    )
    ring = ""
    if line.highlight is not None and 0 <= line.highlight < len(xy):
        px, py = xy[line.highlight]
        ring = format_html(
            '<circle cx="{}" cy="{}" r="7" fill="none" stroke="{}" stroke-width="2"/>',
            px,
            py,
            line.colour,
        )
    return format_html(
        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" '
        'stroke-dasharray="{}"/>{}{}',
        " ".join(f"{px},{py}" for px, py in xy),
        line.colour,
        dash,
        dots,
        ring,
    )


def _legend(line: Line, y: float) -> SafeString:
    return format_html(
        '<line x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="{c}" stroke-width="2" '
        'stroke-dasharray="{d}"/><text x="{t}" y="{ty}" font-size="12">{n}</text>',
        a=LEFT,
        b=LEFT + 24,
        y=y,
        c=line.colour,
        d="6 4" if line.dashed else "none",
        t=LEFT + 32,
        ty=y + 4,
        n=line.name,
    )


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from `low` through at least `high`, about `count` steps apart."""
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    steps = math.ceil((high - low) / step - 1e-9)
    return [round(low + i * step, 10) for i in range(steps + 1)]


def _joined(parts) -> SafeString:
    # Every part comes from format_html, which escaped what it was given.
    return mark_safe("".join(parts))  # noqa: S308
