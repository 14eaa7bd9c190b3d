"""Jinja2 templates of the pages (shipped in ``mktflow/web/templates``), with the filters they
use: times in the organisation's time zone, priority bands, labels of states and actions,
descriptions from Markdown (``_markdown``: raw HTML off, only safe links), drafts without
their blank answers; a comment's link is an anchor only when it passes the input rule for
links (``is acceptable_link``: http, https, mailto), so a row stored before that rule never
becomes a ``javascript:`` anchor.

Priority (0-100, 50 when nobody set one) reads in four bands: 0-29 *Low*, 30-69 *Normal*
(the default 50 is normal: most work is), 70-89 *High*, 90-100 *Urgent*.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from mktflow.config import Settings
from mktflow.domain import clock
from mktflow.domain.desk import PRIORITY_BANDS
from mktflow.domain.inputs import is_acceptable_link, zone_named
from mktflow.web._markdown import markdown

__all__ = ["BANDS", "band", "environment", "render", "zone_of"]

#: Priority 0-100 as people read it: (lowest value of the band, its name), highest first
#: (``domain.desk.PRIORITY_BANDS``, which the queue's priority filter reads too).
BANDS = tuple((low, name.capitalize()) for name, (low, _) in PRIORITY_BANDS.items())
_STATE_LABELS = {"delegated": "delegated (pending review)", "open": "open",
                 "claimed": "claimed", "done": "done", "cancelled": "cancelled"}


def zone_of(settings: Settings) -> ZoneInfo:
    """The organisation's time zone (``web_timezone``, else ``schedule_tz``; UTC if unknown)."""
    return zone_named(settings.web_timezone, settings.schedule_tz)


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


def band(priority: int | None) -> str:
    """The band a priority reads as (``Normal`` for 50 or none); see ``BANDS``."""
    value = 50 if priority is None else priority
    return next((name for low, name in BANDS if value >= low), BANDS[-1][1])


def _filled(value: Any) -> Any:
    """A draft without the answers left blank (``""``, none, empty lists): what is worth
    showing of it; ``{}`` when nothing is."""
    if isinstance(value, dict):
        kept = {k: _filled(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ("", None, [], {})}
    if isinstance(value, list):
        return [v for v in (_filled(v) for v in value) if v not in ("", None, [], {})]
    return value.strip() if isinstance(value, str) else value


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
    env.filters["band"] = band
    env.filters["markdown"] = markdown
    env.filters["filled"] = _filled
    env.filters["words"] = _words
    env.filters["state"] = _state
    env.tests["acceptable_link"] = is_acceptable_link  # a stored link shown as an anchor
    env.globals["zone"] = zone_name
    # the dashboards' link in the menu: this year's, by the one clock (domain.clock)
    env.globals["this_year"] = lambda: clock.now().astimezone(zone).year
    return env


def environment(settings: Settings) -> Environment:
    """The template environment for the organisation's time zone."""
    return _environment(zone_of(settings).key)


def render(settings: Settings, template: str, **context: Any) -> str:
    """A page rendered from ``template`` (autoescaped)."""
    return environment(settings).get_template(template).render(**context)
