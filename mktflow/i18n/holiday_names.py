"""Public holidays named in the reader's language, as the ``holidays`` library names them
(issue 25; docs: "Languages", "Working calendars").

A due time counted in working time says which holidays it skipped (``domain.calendars``); the
engine keeps each holiday's country, region and day with its English name
(``domain.words.Holiday``). ``holiday_name`` asks the library for that day's name in the
reader's language where it has it for the country (``holidays.list_localized_countries()``:
with 0.108, China in Simplified Chinese, Spain in Spanish, Russia in Russian and Simplified
Chinese, each in English), else in the library's default language for the country, its own
(China's holidays in Chinese for a Spanish or Russian reader, Spain's in Spanish for a Chinese
or Russian reader); None where the library cannot say, and the page shows the English name as
stored.
"""

from __future__ import annotations

import threading
from datetime import date
from functools import cache
from typing import Any

__all__ = ["LIBRARY_LANGUAGE", "holiday_name"]

#: The library's code for each of mktflow's languages.
LIBRARY_LANGUAGE = {"en": "en_US", "zh": "zh_CN", "es": "es", "ru": "ru"}
_LOCK = threading.Lock()  # the library fills a year on first use; the pages answer in threads


@cache
def _book(country: str, subdivision: str | None, language: str) -> Any:
    import holidays

    known = holidays.list_localized_countries().get(country, ())
    return holidays.country_holidays(
        country, subdiv=subdivision,
        language=language if language in known else holidays.country_holidays(
            country).default_language)


def holiday_name(country: str, subdivision: str | None, day: date, lang: str) -> str | None:
    """The name of ``country``'s (region ``subdivision``'s) holiday on ``day`` in language
    ``lang`` (``zh``: ``国庆节``), else in the country's own (see the module); None when the
    library has no holiday then (a country or region it no longer knows included)."""
    language = LIBRARY_LANGUAGE.get(lang)
    if language is None:
        return None
    try:
        with _LOCK:
            book = _book(country, subdivision, language)
            name = book.get(day)
    except (NotImplementedError, KeyError, ValueError):
        return None
    return str(name) if name else None
