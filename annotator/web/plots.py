"""Small inline SVG plots for server-rendered pages (no script, so the CSP stays strict)."""

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
