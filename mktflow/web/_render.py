"""Jinja2 templates of the pages (shipped in ``mktflow/web/templates``), with the filters they
use: times in the organisation's time zone, priority bands, labels of states and actions,
descriptions from Markdown (``_markdown``: raw HTML off, only safe links), drafts without
their blank answers; a comment's link is an anchor only when it passes the input rule for
links (``is acceptable_link``: http, https, mailto), so a row stored before that rule never
becomes a ``javascript:`` anchor.

Priority (0-100, 50 when nobody set one) reads in four bands: 0-29 *Low*, 30-69 *Normal*
(the default 50 is normal: most work is), 70-89 *High*, 90-100 *Urgent*.

Each language has its own environment (``jinja2.ext.i18n`` with the catalogue of
``mktflow.i18n``, new-style: ``{{ _("Due %(when)s", when=...) }}`` escapes what it fills);
times, numbers and money are written as the language writes them (filters ``when``,
``number``, ``money``); labels of states, bands and departments are translated, and so are
the titles and texts processes wrote (filter ``said``: ``{{ item|said("title") }}``, from the
row's ``words``, ``mktflow.i18n.words``; the moments in them, how a due time was counted, in
the organisation's zone); what people typed is not.
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
from mktflow.i18n import (
    DEFAULT,
    N_,
    NAMES,
    amount,
    fixed,
    money,
    number,
    percent,
    translations,
    when,
)
from mktflow.i18n.notices import DEPARTMENT_NAMES
from mktflow.i18n.notices import department as department_name
from mktflow.i18n.words import in_language, said
from mktflow.web._markdown import markdown

__all__ = ["BANDS", "DEPARTMENT_NAMES", "band", "department_name", "environment",
           "render", "zone_of"]

#: Priority 0-100 as people read it: (lowest value of the band, its name), highest first
#: (``domain.desk.PRIORITY_BANDS``, which the queue's priority filter reads too).
BANDS = tuple((low, name.capitalize()) for name, (low, _) in PRIORITY_BANDS.items())
_STATE_LABELS = {"delegated": N_("delegated (pending review)"), "open": N_("open"),
                 "claimed": N_("claimed"), "done": N_("done"), "cancelled": N_("cancelled"),
                 "offered": N_("offered"), "accepted": N_("accepted"),
                 "rejected": N_("rejected"), "delivered": N_("delivered"),
                 "confirmed": N_("confirmed"), "returned": N_("returned"),
                 "running": N_("running"), "completed": N_("completed"),
                 "failed": N_("failed"), "blocked": N_("blocked"),
                 # a campaign's (the campaign dashboard)
                 "draft": N_("draft"), "planned": N_("planned"), "rework": N_("rework"),
                 "evaluated": N_("evaluated")}
_LEAD_STATES = {"gathered": N_("gathered"), "qualified": N_("qualified"),
                "disqualified": N_("disqualified"), "won": N_("won"), "lost": N_("lost")}
_COMPLAINT_STATES = {"open": N_("open"), "handed_over": N_("handed over"),
                     "answered": N_("answered"), "closed": N_("closed"),
                     "cancelled": N_("cancelled")}
_ROLE_LABELS = {"head": N_("head"), "deputy": N_("deputy"), "specialist": N_("specialist")}
_BAND_LABELS = (N_("Low"), N_("Normal"), N_("High"), N_("Urgent"))
def zone_of(settings: Settings) -> ZoneInfo:
    """The organisation's time zone (``web_timezone``, else ``schedule_tz``; UTC if unknown)."""
    return zone_named(settings.web_timezone, settings.schedule_tz)


def _when(value: str | datetime | None, zone: ZoneInfo, lang: str = DEFAULT) -> Markup:
    """``<time datetime="…">Mon 30 Nov 2026, 17:00 CET</time>`` in the organisation's zone, as
    the language writes it (``2026年11月30日 周一 17:00 CET``)."""
    if not value:
        return Markup("—")
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(),
                                                     when(moment, zone, lang))


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


def _state(value: str | None, lang: str = DEFAULT) -> Markup:
    name = str(value or "")
    label = _STATE_LABELS.get(name)
    return Markup('<span class="state state-{}">{}</span>').format(
        escape(name), translations(lang).gettext(label) if label else name)


@lru_cache(maxsize=32)
def _environment(zone_name: str, lang: str = DEFAULT) -> Environment:
    env = Environment(loader=PackageLoader("mktflow.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    catalogue = translations(lang)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    zone = ZoneInfo(zone_name)
    env.filters["when"] = lambda value: _when(value, zone, lang)
    env.filters["band"] = lambda value: catalogue.gettext(band(value))
    env.filters["state_name"] = lambda value: str(value) if lang == DEFAULT else (
        catalogue.gettext(_STATE_LABELS.get(str(value), str(value))))
    env.filters["dept"] = lambda code: department_name(code, lang)
    # a title or text a process wrote, worded in the language; a typed one as typed
    env.filters["said"] = lambda row, field="title": said(row, field, lang, zone=zone)
    # a text the engine made as a message (a calendar's label: calendar hours), worded
    env.filters["phrased"] = lambda text: in_language(text, lang)
    env.filters["role"] = lambda role: catalogue.gettext(_ROLE_LABELS.get(str(role), str(role)))
    env.filters["lead_state"] = lambda value: str(value) if lang == DEFAULT else (
        catalogue.gettext(_LEAD_STATES.get(str(value), str(value))))
    env.filters["complaint_state"] = lambda value: str(value).replace("_", " ") \
        if lang == DEFAULT else catalogue.gettext(_COMPLAINT_STATES.get(str(value), str(value)))
    env.filters["number"] = lambda value: number(value, lang)
    env.filters["percent"] = lambda value: percent(value, lang)
    env.filters["money"] = lambda value, currency: money(value, currency, lang)
    env.filters["amount"] = lambda value: amount(value, lang)
    env.filters["fixed"] = lambda value, digits=1: fixed(value, digits, lang)
    env.filters["markdown"] = markdown
    env.filters["filled"] = _filled
    env.filters["words"] = _words if lang == DEFAULT else (
        lambda value: catalogue.gettext(_words(value)))
    env.filters["state"] = lambda value: _state(value, lang)
    env.tests["acceptable_link"] = is_acceptable_link  # a stored link shown as an anchor
    env.globals["zone"] = zone_name
    env.globals["lang"] = lang
    env.globals["language_names"] = NAMES
    # the dashboards' link in the menu: this year's, by the one clock (domain.clock)
    env.globals["this_year"] = lambda: clock.now().astimezone(zone).year
    return env


def environment(settings: Settings, lang: str = DEFAULT) -> Environment:
    """The template environment for the organisation's time zone and a language."""
    return _environment(zone_of(settings).key, lang)


def render(settings: Settings, template: str, *, lang: str = DEFAULT, **context: Any) -> str:
    """A page rendered from ``template`` (autoescaped) in language ``lang``."""
    return environment(settings, lang).get_template(template).render(**context)
