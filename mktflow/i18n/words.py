"""Texts processes and cycles wrote, worded in the reader's language where they are shown.

The engine keeps such a text twice (``mktflow.domain.words``): its English in the text's own
column (``title``, ``description``, ``criteria``: what the API, the command line and search
read) and its message in the row's ``words`` (``{"title": {"msgid": ..., "values": {...}}}``).
``said(row, "title", lang)`` is the text in language ``lang``: the message translated and
filled, each value worded the same way (a message in a message, a list of them joined with
``; ``, an amount as the language groups it, a department by its name); a text without a
message (typed by a person, or stored before migration 0023) as it is. ``in_language`` does
the same for a text made as the engine answers, a refusal: a ``Phrase`` worded, another text
by the rules' shapes (``i18n.rules``), else whole in English, never half-translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_interval, format_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal

from mktflow.domain.words import Phrase, stored
from mktflow.i18n import DEFAULT, amount, locale, normal, translations, when
from mktflow.i18n.holiday_names import holiday_name
from mktflow.i18n.notices import department
from mktflow.i18n.rules import localize

__all__ = ["DEPARTMENT_VALUES", "dates", "figure", "in_language", "said", "worded"]

#: Values that name a department (worded by its name in the language, ``notices.department``).
DEPARTMENT_VALUES = frozenset({"department", "to", "from", "own_department"})


def _value(name: str, value: Any, lang: str, zone: ZoneInfo | None = None) -> str:
    if isinstance(value, dict) and "msgid" in value:
        return worded(value, lang, zone=zone)
    if isinstance(value, dict) and "amount" in value:
        return amount(float(value["amount"]), lang) if lang != DEFAULT \
            else f"{float(value['amount']):,.2f}"
    if isinstance(value, dict) and "number" in value:
        return figure(value, lang)
    if isinstance(value, dict) and {"moment", "dates", "holiday"} & value.keys():
        return _dated(value, lang, zone)
    if isinstance(value, list):
        return "; ".join(_value(name, v, lang, zone) for v in value)
    if name in DEPARTMENT_VALUES:
        return department(str(value), lang)
    return str(value)


def figure(kept: Mapping[str, Any], lang: str) -> str:
    """A stored figure (``domain.words.figure``) in language ``lang``: English as it was
    written; another language's format by ``babel.numbers.format_decimal`` (grouped, its
    ``digits`` decimals, else as many as it has); a value that is no number as it is."""
    english = str(kept.get("english") or kept.get("number"))
    if lang == DEFAULT:
        return english
    try:
        value = Decimal(str(kept["number"]))
    except (InvalidOperation, ValueError):
        return english
    digits = kept.get("digits")
    pattern = f"#,##0.{'0' * int(digits)}" if isinstance(digits, int) and digits > 0 else (
        "#,##0" if digits == 0 else None)
    return format_decimal(value, pattern, locale=locale(lang))


def _dated(kept: Mapping[str, Any], lang: str, zone: ZoneInfo | None) -> str:
    """A stored moment, dates or holiday in language ``lang`` (English: as written)."""
    english = str(kept.get("english") or "")
    if lang == DEFAULT:
        return english
    try:
        if "moment" in kept:
            moment = datetime.fromisoformat(str(kept["moment"]))
            return when(moment, zone or ZoneInfo(str(kept.get("zone") or "UTC")), lang)
        if "dates" in kept:
            return dates([date.fromisoformat(str(d)) for d in kept["dates"]],
                         span=bool(kept.get("span")), lang=lang)
        return holiday_name(str(kept.get("country")), kept.get("subdivision"),
                            date.fromisoformat(str(kept["holiday"])), lang) or english
    except (ValueError, KeyError, TypeError):  # a value stored askew: as it was written
        return english


def dates(days: list[date], *, span: bool, lang: str | None) -> str:
    """Days as language ``lang`` writes them: each day (``10月8日周六和10月9日周日``, ``sáb,
    8 oct y dom, 9 oct``), or with ``span`` the first to the last (``10月1日至7日``, ``1-7
    oct``), by ``babel.dates`` (``MMMEd``, an interval of ``MMMd``) and ``babel.lists``."""
    where = locale(normal(lang) or DEFAULT)
    if span and len(days) > 1:
        return format_interval(days[0], days[-1], "MMMd", locale=where)
    return format_list([format_skeleton("MMMEd", d, locale=where) for d in days], locale=where)


def worded(kept: Mapping[str, Any], lang: str | None, *, zone: ZoneInfo | None = None) -> str:
    """A stored message (``{"msgid": "Plan campaign %(code)s", "values": {"code":
    "SPRING"}}``) in language ``lang`` (English when unknown): ``策划营销活动 SPRING``; its
    moments in ``zone`` (the reader's; None: each moment's own). A translation that cannot be
    filled (a catalogue's slip) falls back to the English."""
    code = normal(lang) or DEFAULT
    values = {k: _value(k, v, code, zone) for k, v in (kept.get("values") or {}).items()}
    msgid = str(kept.get("msgid") or "")
    text = translations(code).gettext(msgid)  # (not i18n.gettext: a value may be ``code``)
    try:
        return text % values if values else text
    except (KeyError, ValueError, TypeError):
        english = {k: _value(k, v, DEFAULT) for k, v in (kept.get("values") or {}).items()}
        return msgid % english if english else msgid


def said(row: Any, field: str, lang: str | None, *, zone: ZoneInfo | None = None) -> str:
    """Column ``field`` of ``row`` (a view, a Core row or a dict with ``words``) in language
    ``lang``: worded from its message when the row keeps one (its moments in ``zone``), else
    the column as stored (English readers read the column as stored)."""
    get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name, None)
    text = str(get(field) or "")
    kept = (get("words") or {}).get(field)
    if not kept or (normal(lang) or DEFAULT) == DEFAULT:
        return text
    return worded(kept, lang, zone=zone)


def in_language(text: str, lang: str | None) -> str:
    """A text the engine makes as it answers (a refusal, a field's problem) in language
    ``lang``: a ``Phrase`` worded from its message; any other text by the rules' known shapes
    (``i18n.rules.localize``: ``must be at most 300 characters``), else whole, in English."""
    if (normal(lang) or DEFAULT) == DEFAULT:
        return str(text)
    if isinstance(text, Phrase):
        return worded(stored(text), lang)
    said = localize(str(text), lang)
    field, sep, problem = str(text).partition(": ")  # ``field: <a rule's message>``
    if said == text and sep and field.replace(".", "").replace("_", "").isalnum():
        shaped = localize(problem, lang)
        return f"{field}: {shaped}" if shaped != problem else said
    return said
