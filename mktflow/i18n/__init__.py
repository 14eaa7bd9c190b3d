"""The languages mktflow speaks on its pages and in its notices: English (the source), Simplified
Chinese, Spanish and Russian (docs: "Languages").

Texts are gettext messages: English msgids in the sources (``_("...")`` in Python,
``{{ _("...") }}`` in the templates, ``N_("...")`` for tables of texts translated later),
catalogues in ``mktflow/i18n/locale/<code>/LC_MESSAGES/messages.po``, read from the ``.po`` at
first use (``babel.messages.pofile.read_po``), so there is no compiled ``.mo`` to build or
commit. Placeholders are named, ``%(name)s``, and filled after translation.

* ``LANGUAGES``: the codes (``en``, ``zh``, ``es``, ``ru``); ``NAMES``: each in its own
  language, as the switch shows it.
* ``translations(code)``: the catalogue (``babel.support.Translations``; English: the
  msgids themselves).
* ``gettext(code, message, **fill)``: one message in a language, filled.
* ``negotiate(accept_language)``: the first of the four a browser's ``Accept-Language``
  asks for (``zh-CN``, ``zh-Hans``, ``zh`` → ``zh``), else None.
* ``when``, ``number``, ``percent``, ``money``, ``amount``: a moment, a number, a share, an
  amount with or without its currency in the language's format (``babel.dates`` /
  ``babel.numbers``).

Texts people typed (titles, reasons, comments, names) are never translated.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

from mktflow.domain.organisation import LANGUAGES

__all__ = ["DEFAULT", "LANGUAGES", "LOCALE_DIR", "NAMES", "N_", "amount", "fixed", "gettext",
           "locale", "money",
           "negotiate", "normal", "number", "percent", "translations", "when"]

#: The language of the sources, and of everything when nothing else is known.
DEFAULT = "en"
#: Where the catalogues are: ``<code>/LC_MESSAGES/messages.po``.
LOCALE_DIR = Path(__file__).parent / "locale"
#: Each language by its own name (the switch on the pages).
NAMES = {"en": "English", "zh": "中文", "es": "Español", "ru": "Русский"}


def N_(message: str) -> str:
    """``message`` unchanged: marks a text for the catalogue where it is defined in a table;
    it is translated where it is shown."""
    return message


def normal(code: str | None) -> str | None:
    """``code`` if it is one of ``LANGUAGES`` (any case), else None."""
    low = (code or "").strip().lower()
    return low if low in LANGUAGES else None


@lru_cache(maxsize=len(LANGUAGES))
def translations(code: str) -> NullTranslations:
    """The catalogue of ``code`` read from its ``.po`` (English and unknown codes: the msgids).
    Fuzzy entries are not used (``read_po`` drops them from the translations)."""
    if normal(code) in (None, DEFAULT):
        return NullTranslations()
    path = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=code, ignore_obsolete=True)
    found = Translations()
    for message in catalog:
        if message.id and message.string and not message.fuzzy:
            key = message.id if isinstance(message.id, str) else message.id[0]
            text = message.string if isinstance(message.string, str) else message.string[0]
            found._catalog[key] = text
    return found


def gettext(code: str | None, message: str, **fill: object) -> str:
    """``message`` in language ``code`` (English when unknown), its ``%(name)s`` filled."""
    text = translations(normal(code) or DEFAULT).gettext(message)
    return text % fill if fill else text


def negotiate(accept_language: str | None) -> str | None:
    """The first of ``LANGUAGES`` an ``Accept-Language`` header asks for, by its weights
    (``ru;q=0.9, en;q=0.8`` → ``ru``); None when it asks for none of them or is garbled."""
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:50]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        code = normal(tag.strip().replace("_", "-").split("-")[0])
        if code and weight > 0:
            wanted.append((-weight, i, code))
    return min(wanted)[2] if wanted else None


@lru_cache(maxsize=len(LANGUAGES))
def locale(code: str | None) -> Locale:
    """The babel locale of ``code`` (``zh``: Simplified Chinese, ``zh_Hans_CN``)."""
    try:
        return Locale.parse({"zh": "zh_Hans_CN"}.get(code or "", code or DEFAULT))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def when(moment: datetime, zone: ZoneInfo, code: str | None) -> str:
    """``moment`` in ``zone`` as the language writes a date and time with its zone:
    ``Mon 30 Nov 2026, 17:00 CET`` in English (as the pages always wrote it),
    ``2026年11月30日 周一 17:00 CET`` in Chinese, ``lun 30 nov 2026, 17:00 CET`` ..."""
    local = moment.astimezone(zone)
    if normal(code) in (None, DEFAULT):
        return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"
    pattern = {"zh": "y年M月d日 EEE HH:mm"}.get(str(code), "EEE d MMM y, HH:mm")
    return f"{format_datetime(local, pattern, locale=locale(code))} {local.tzname()}"


def number(value: float | int | Decimal, code: str | None) -> str:
    """``value`` with the language's grouping and decimal sign (``1,234.5``; ``1 234,5`` ...)."""
    return format_decimal(value, locale=locale(code))


def percent(share: float | Decimal, code: str | None) -> str:
    """A share (0.5) as the language writes a whole percentage (``50%``, ``50 %``)."""
    return format_percent(share, locale=locale(code))


def fixed(value: float | int | Decimal, digits: int, code: str | None) -> str:
    """``value`` with ``digits`` decimals and no grouping, with the language's decimal sign:
    ``1370.2`` in English (as the pages always wrote it), ``1370,2`` in Spanish and Russian."""
    if normal(code) in (None, DEFAULT):
        return f"{value:.{digits}f}"
    return format_decimal(value, "0." + "0" * digits if digits else "0", locale=locale(code))


def amount(value: float | int | Decimal, code: str | None) -> str:
    """An amount without its currency, two decimals, grouped as the language groups it:
    ``1,234.50`` (English, as the dashboards always wrote it), ``1.234,50``, ``1 234,50``."""
    if normal(code) in (None, DEFAULT):
        return f"{value:,.2f}"
    return format_decimal(value, "#,##0.00", locale=locale(code))


def money(value: float | int | Decimal, currency: str, code: str | None) -> str:
    """An amount in ``currency`` (ISO 4217) as the language writes it (``CN¥1,234.50``,
    ``1234,50 CNY`` ...)."""
    return format_currency(value, currency, locale=locale(code))
