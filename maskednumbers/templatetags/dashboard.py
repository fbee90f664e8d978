from __future__ import annotations

from django import template

from ..dashboard import CHART_HEIGHT, PoolHealth, pool_health

register = template.Library()


@register.simple_tag
def pool_health_now() -> PoolHealth:
    """Computed only when the admin index renders, not on every admin page."""
    return pool_health()


@register.simple_tag
def chart_height() -> int:
    return CHART_HEIGHT
