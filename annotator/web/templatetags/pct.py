"""Template filters for reports: a ratio as a percentage, and item lookup."""

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


@register.filter
def get(container, key):
    try:
        return container[key]
    except (KeyError, IndexError, TypeError):
        return None
