"""Texts that processes and cycles write, kept as a message and its values so every reader reads
them in their own language (issue 25; docs: "Languages").

A title a flow gives a step (``Plan campaign SPRING``), a budget line's flag, a description a
cycle writes: each is a ``Phrase``, made with ``phrase(msgid, **values)``. A ``Phrase`` *is*
its English text (a ``str``: every reader, comparison, search and f-string that took the
text keeps working), and it carries its ``msgid`` (English, with ``%(name)s`` placeholders) and
its ``values``. The engine stores the English text in the text's column as always and the
message beside it (``stored``: ``{"msgid": ..., "values": {...}}``, the ``words`` column of
work items and handoffs); the pages and notices word it in the reader's language
(``mktflow.i18n.words``). A text people typed is a plain ``str`` and has no message.

Values are kept as given; a value may itself be a ``Phrase`` (worded too) or a list of them
(joined with ``; ``); a ``Decimal`` is an amount of money, written ``1,234.50`` in English and
as each language groups it on the pages; a ``Number`` (``figure(1234.5)``: a quantity, a KPI's
target in a table's row) is written as the tables always wrote it in English and in the
language's format where shown (``1 234,50``). Any other number is kept as its text (a row's
number, a year, a reference's number are not grouped).

A ``Moment`` (a time), ``Dates`` (days, or a span of days) and a ``Holiday`` (a public holiday
as the holiday library names it) are written in English as the text wrote them and, where shown
in another language, as that language writes dates (in the reader's time zone) and as the
library names the holiday in that language (how a due time was counted, ``domain.calendars``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["FIELD", "Dates", "Holiday", "Moment", "Number", "Phrase", "any_of", "either", "figure",
           "from_stored", "joined", "on_field", "phrase", "reworded", "slashed", "stored", "word",
           "words_of"]

#: A stored value: text, an amount (``{"amount": "1234.50"}``), a figure (``{"number": "1234.5",
#: "english": "1,234.50", "digits": 2}``), a moment (``{"moment": "2022-09-30T09:00:00+00:00",
#: "zone": "Asia/Shanghai", "english": ...}``), dates (``{"dates": ["2022-10-08", ...], "span":
#: false, "english": ...}``), a holiday (``{"holiday": "2022-10-01", "country": "CN",
#: "subdivision": null, "english": "National Day"}``), a message, or a list of them.
Stored = str | dict[str, Any] | list[Any]


class Phrase(str):
    """A text a process wrote: the English text itself, with the message it was made from
    (``msgid``) and the ``values`` that fill it. Make one with ``phrase``."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, values: Mapping[str, Any]) -> Phrase:
        text = msgid % {k: _english(v) for k, v in values.items()} if values else msgid
        made = super().__new__(cls, text)
        made.msgid, made.values = msgid, dict(values)
        return made

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (a task's input) as the message
        return (Phrase, (self.msgid, self.values))

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, handler: Any) -> Any:
        """To pydantic a phrase is its text (a form's default, a JSON value): a ``str``."""
        return handler(str)


@dataclass(frozen=True, slots=True)
class Number:
    """A figure a text shows (a table's cell): ``value``, its decimal text (``1234.5``), written
    ``english`` in English (as the text always wrote it) and, where shown in another language,
    in that language's format with ``digits`` decimals (None: as many as it has). Make one with
    ``figure``."""

    value: str
    english: str
    digits: int | None = None

    def __str__(self) -> str:
        return self.english


@dataclass(frozen=True, slots=True)
class Moment:
    """A time a text shows: ``at`` (ISO 8601 with its offset), written ``english`` as the text
    wrote it (``Fri 30 Sep 2022 17:00``, in ``zone``); where shown in another language, as the
    pages write a time (``i18n.when``) in the reader's zone, else in ``zone``."""

    at: str
    zone: str
    english: str

    def __str__(self) -> str:
        return self.english


@dataclass(frozen=True, slots=True)
class Dates:
    """Days a text shows (ISO dates): each of ``days`` (``Sat 8 Oct, Sun 9 Oct``), or with
    ``span`` the days from the first to the last (``1-7 Oct``); written ``english`` as the text
    wrote them, and in the reader's language's date format where shown."""

    days: tuple[str, ...]
    span: bool
    english: str

    def __str__(self) -> str:
        return self.english


class Holiday(str):
    """A public holiday's name as the holiday library gives it (in English) for ``country``
    (ISO 3166 code, ``subdivision`` its region's) on ``day``: the name itself (a ``str``), and
    where shown in another language the library's name in that language when it has one."""

    country: str
    subdivision: str | None
    day: date

    def __new__(cls, name: str, *, country: str, subdivision: str | None, day: date) -> Holiday:
        made = super().__new__(cls, name)
        made.country, made.subdivision, made.day = country, subdivision, day
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (_holiday, (str(self), self.country, self.subdivision, self.day))

    def named(self, name: str) -> Holiday:
        """The same holiday under another English ``name`` (``National Day`` for
        ``National Day (observed)``)."""
        return Holiday(name, country=self.country, subdivision=self.subdivision, day=self.day)


def _holiday(name: str, country: str, subdivision: str | None, day: date) -> Holiday:
    return Holiday(name, country=country, subdivision=subdivision, day=day)


def figure(value: int | float | Decimal, *, digits: int | None = None) -> Number:
    """``value`` as a figure worded in the reader's number format where shown: English ``1000``
    (an integer), ``1,234.50`` (with ``digits`` decimals, grouped); ``1 234,50`` in Russian."""
    english = f"{value:,.{digits}f}" if digits is not None else str(value)
    return Number(value=str(value), english=english, digits=digits)


def _english(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return "; ".join(_english(v) for v in value)
    return str(value)


def phrase(msgid: str, /, **values: Any) -> Phrase:
    """The text ``msgid`` (English, ``%(name)s`` placeholders) filled with ``values``, as a
    ``Phrase`` that remembers both: ``phrase("Plan campaign %(code)s", code="SPRING")`` is
    ``"Plan campaign SPRING"``. Mark the msgid for the catalogues by calling this function
    by its name (``make messages`` extracts ``phrase("...")``)."""
    return Phrase(msgid, values)


#: The message of ``joined``: its texts, each worded, joined with ``; `` (no catalogue entry).
JOINED = "%(texts)s"


def joined(texts: Sequence[str]) -> Phrase:
    """Texts joined with ``; `` (a budget line's flags), each worded where shown."""
    return Phrase(JOINED, {"texts": list(texts)})


#: The message of ``on_field``: a field's name (a code, as the API names it) and its problem
#: (no catalogue entry: the problem is worded, the name kept).
FIELD = "%(field)s: %(problem)s"


def on_field(field: str, problem: Phrase) -> Phrase:
    """A refusal naming the input it is about, ``reason: a lost lead needs a reason``: the
    field's name as given, the problem a message worded where shown (the pages show it beside
    its field)."""
    return Phrase(FIELD, {"field": field, "problem": problem})


def word(text: str) -> Phrase:
    """A single word or name from a table (an action, a state: ``claim``, ``done``), worded
    where shown; the catalogue tool adds the tables' words (``mktflow.i18n.catalog``)."""
    return Phrase(text, {})


def either(texts: Sequence[str]) -> Phrase:
    """``a or b or c``, each text worded where shown (``texts`` not empty)."""
    made = texts[0] if isinstance(texts[0], Phrase) else word(texts[0])
    for text in texts[1:]:
        made = phrase("%(first)s or %(second)s", first=made, second=text)
    return made


def slashed(texts: Sequence[str]) -> Phrase:
    """``a/b/c`` (roles: ``head/deputy``), each text worded where shown (``texts`` not empty)."""
    made = texts[0] if isinstance(texts[0], Phrase) else word(texts[0])
    for text in texts[1:]:
        made = phrase("%(first)s/%(second)s", first=made,
                      second=text if isinstance(text, Phrase) else word(text))
    return made


def any_of(texts: Sequence[str]) -> Phrase:
    """``a, b or c``, each text worded where shown (``texts`` not empty)."""
    made = texts[0] if isinstance(texts[0], Phrase) else word(texts[0])
    for text in texts[1:-1]:
        made = phrase("%(first)s, %(second)s", first=made, second=text)
    if len(texts) > 1:
        made = phrase("%(first)s or %(second)s", first=made, second=texts[-1])
    return made


def _stored_value(value: Any) -> Stored:
    if isinstance(value, Phrase):
        return stored(value)
    if isinstance(value, Decimal):
        return {"amount": str(value)}
    if isinstance(value, Number):
        return {"number": value.value, "english": value.english, "digits": value.digits}
    if isinstance(value, Moment):
        return {"moment": value.at, "zone": value.zone, "english": value.english}
    if isinstance(value, Dates):
        return {"dates": list(value.days), "span": value.span, "english": value.english}
    if isinstance(value, Holiday):
        return {"holiday": value.day.isoformat(), "country": value.country,
                "subdivision": value.subdivision, "english": str(value)}
    if isinstance(value, list | tuple):
        return [_stored_value(v) for v in value]
    return str(value)


def stored(text: Phrase) -> dict[str, Any]:
    """How a phrase is kept (JSON): ``{"msgid": "Plan campaign %(code)s", "values":
    {"code": "SPRING"}}``; nested phrases as the same shape, amounts as ``{"amount": "12.50"}``."""
    return {"msgid": text.msgid, "values": {k: _stored_value(v) for k, v in text.values.items()}}


def words_of(**texts: str | None) -> dict[str, Any] | None:
    """The ``words`` column of a row: each of ``texts`` that is a ``Phrase``, by its column's
    name (``{"title": {...}, "description": {...}}``); None when none is (typed texts)."""
    kept = {name: stored(text) for name, text in texts.items() if isinstance(text, Phrase)}
    return kept or None


def reworded(words: Mapping[str, Any] | None, **texts: str | None) -> dict[str, Any] | None:
    """A row's ``words`` after its columns ``texts`` changed: each that is a ``Phrase`` keeps
    its message, each other (typed, or None) loses the one it had; None when none is left."""
    kept = {name: value for name, value in (words or {}).items() if name not in texts}
    kept.update(words_of(**texts) or {})
    return kept or None


def _restored(value: Any) -> Any:
    if isinstance(value, dict) and "msgid" in value:
        return from_stored(value)
    if isinstance(value, dict) and "amount" in value:
        return Decimal(str(value["amount"]))
    if isinstance(value, dict) and "number" in value:
        return Number(value=str(value["number"]), english=str(value.get("english") or ""),
                      digits=value.get("digits"))
    if isinstance(value, dict) and "moment" in value:
        return Moment(at=str(value["moment"]), zone=str(value.get("zone") or "UTC"),
                      english=str(value.get("english") or ""))
    if isinstance(value, dict) and "dates" in value:
        return Dates(days=tuple(str(d) for d in value["dates"]), span=bool(value.get("span")),
                     english=str(value.get("english") or ""))
    if isinstance(value, dict) and "holiday" in value:
        return Holiday(str(value.get("english") or ""), country=str(value.get("country")),
                       subdivision=value.get("subdivision"),
                       day=date.fromisoformat(str(value["holiday"])))
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value


def from_stored(kept: Mapping[str, Any]) -> Phrase:
    """The phrase ``stored`` kept (its English text as it was written)."""
    values = kept.get("values") or {}
    return Phrase(str(kept["msgid"]), {k: _restored(v) for k, v in values.items()})
