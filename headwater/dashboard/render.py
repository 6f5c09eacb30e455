"""Jinja2 environment of the dashboard: templates from the package, filters for times and numbers."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from connectors.registry import connector_meta
from storage.models import utcnow


def _dt(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def ago(value: datetime | str | None) -> str:
    """'12s ago', '5 min ago', '3 h ago', '2 d ago'; '—' when there is no time."""
    dt = _dt(value)
    if dt is None:
        return "—"
    secs = (utcnow() - dt).total_seconds()
    if secs < 0:
        return "just now"
    if secs < 60:
        return f"{int(secs)}s ago"
    if secs < 3600:
        return f"{int(secs // 60)} min ago"
    if secs < 86400:
        return f"{int(secs // 3600)} h ago"
    return f"{int(secs // 86400)} d ago"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


def stamp(value: datetime | str | None) -> str:
    dt = _dt(value)
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else "—"


def clock(value: datetime | str | None) -> str:
    dt = _dt(value)
    return dt.strftime("%H:%M:%S.%f")[:-3] if dt else "—"


def number(value: int | float | None) -> str:
    return "—" if value is None else f"{value:,}"


def provider(kind: str) -> str:
    """The kind's display name, from its connector (``ConnectorMeta``)."""
    return connector_meta(kind).display_name


def badge_color(kind: str) -> str:
    """The kind's badge colour, from its connector (a checked hex colour)."""
    return connector_meta(kind).badge_color


def secret_names(kind: str) -> list[str]:
    """The secrets a connector takes, for the source's "Reconnect" form (retired ones left out)."""
    from connectors.describe import describe

    try:
        props = describe(kind)["secrets"].get("properties", {})
    except ValueError:
        return []
    return [name for name in props if name != "app_password"]


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("headwater.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ago=ago, duration=duration, stamp=stamp, clock=clock, number=number, provider=provider)
    env.filters.update(badge_color=badge_color)
    env.filters.update(secret_names=secret_names)
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
