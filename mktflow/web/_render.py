"""Jinja2 templates of the pages (shipped in ``mktflow/web/templates``), with the filters they
use: times in the organisation's time zone, priority bands, labels of states and actions."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from mktflow.config import Settings

__all__ = ["environment", "render"]

#: Priority 0-100 as people read it (Camunda's bands).
_BANDS = ((75, "Critical"), (50, "High"), (25, "Medium"), (0, "Low"))
_STATE_LABELS = {"delegated": "delegated (pending review)", "open": "open",
                 "claimed": "claimed", "done": "done", "cancelled": "cancelled"}


def zone_of(settings: Settings) -> ZoneInfo:
    """The organisation's time zone (``web_timezone``, else ``schedule_tz``; UTC if unknown)."""
    for name in (settings.web_timezone, settings.schedule_tz, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _when(value: str | datetime | None, zone: ZoneInfo) -> Markup:
    """``<time datetime="…">Mon 30 Nov 2026, 17:00 CET</time>`` in the organisation's zone."""
    if not value:
        return Markup("—")
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    local = moment.astimezone(zone)
    text = f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(), text)


def _band(priority: int | None) -> str:
    value = 50 if priority is None else priority
    return next(name for low, name in _BANDS if value >= low)


def _words(value: Any) -> str:
    """``budget_lines`` / ``CampaignPlan`` as people read it: ``Budget lines``, ``Campaign
    plan``."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(value or ""))
    text = text.replace("_", " ").replace("-", " ")
    return text[:1].upper() + text[1:].lower() if text != text.upper() else text


def _state(value: str | None) -> Markup:
    name = str(value or "")
    return Markup('<span class="state state-{}">{}</span>').format(
        escape(name), _STATE_LABELS.get(name, name))


@lru_cache(maxsize=8)
def _environment(zone_name: str) -> Environment:
    env = Environment(loader=PackageLoader("mktflow.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    zone = ZoneInfo(zone_name)
    env.filters["when"] = lambda value: _when(value, zone)
    env.filters["band"] = _band
    env.filters["words"] = _words
    env.filters["state"] = _state
    env.globals["zone"] = zone_name
    return env


def environment(settings: Settings) -> Environment:
    """The template environment for the organisation's time zone."""
    return _environment(zone_of(settings).key)


def render(settings: Settings, template: str, **context: Any) -> str:
    """A page rendered from ``template`` (autoescaped)."""
    return environment(settings).get_template(template).render(**context)
