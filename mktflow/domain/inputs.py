"""What mktflow accepts as input, declared once: text limits, JSON, times, ids and e-mails.

Every door (CLI options and ``--data``, API bodies and paths, the organisation and plan files)
reads its values through these functions, and the store checks every row it writes against
the same limits (``mktflow.store.checks``), so a value that would break a reader, a sender or
one of the two databases is refused when it arrives, naming the field, never stored.

The rules (docs: "What mktflow accepts"):

- text: at most the column's ``max_length`` characters (the limits below, used by the tables);
  no NUL, no lone surrogate; single-line fields (names, titles, codes, e-mails) have no control
  character or line break at all; multi-line fields (descriptions, criteria, reasons, comments)
  may hold line breaks and tabs only;
- JSON (``--data``, API bodies, form data): UTF-8 (a BOM is allowed), no ``NaN``/``Infinity``
  or number too large for a double (``1e400``), integers within 64 bits, nesting at most
  ``JSON_DEPTH_MAX`` deep;
- times: ISO 8601, converted to UTC, between ``TIME_MIN`` and ``TIME_MAX``; every time leaving
  mktflow is UTC, written ``2026-12-01T16:00:00Z`` (``format_time``) or, for people,
  ``2026-12-01 16:00 UTC`` (``human_time``; in the organisation's zone when it is given,
  ``2026-12-01 17:00 CET``, the zone named by ``zone_named``);
- ids: 1 to ``ID_MAX`` (a larger number names nothing: NotFound);
- e-mails: compared and stored in Unicode NFC, lower-case;
- links (comments' ``links``): ``http``, ``https`` or ``mailto`` only (``LINK_SCHEMES``), at
  most ``LINK_MAX`` characters, one line, no spaces; ``javascript:``, ``data:``, ``vbscript:``,
  a path without a scheme and anything else are refused (``check_links``), and a page shows a
  stored link as an anchor only when it passes the same rule (``is_acceptable_link``).

Pure standard library; a value that breaks a rule raises ``BadInput`` naming the field.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.words import Phrase, on_field, phrase

__all__ = [
    "CODE_MAX",
    "EMAIL_MAX",
    "ID_MAX",
    "INT_MAX",
    "JSON_DEPTH_MAX",
    "KEY_MAX",
    "LINKS_MAX",
    "LINK_MAX",
    "LINK_SCHEMES",
    "NAME_MAX",
    "REASON_MAX",
    "TEXT_MAX",
    "TIME_MAX",
    "TIME_MIN",
    "TITLE_MAX",
    "check_email",
    "check_id",
    "check_json",
    "check_link",
    "check_links",
    "check_text",
    "due_ahead",
    "format_time",
    "human_time",
    "is_acceptable_link",
    "link_refusal",
    "load_json",
    "normalise_email",
    "parse_date",
    "parse_time",
    "plain_error",
    "rule_in_words",
    "zone_named",
]

_Due = TypeVar("_Due")

#: Codes of departments, branches; flow run ids.
CODE_MAX = 64
#: Names of people, departments, branches; form names; business keys; step keys.
NAME_MAX = 200
KEY_MAX = 200
#: Titles of work items and handoffs; notification subjects.
TITLE_MAX = 300
#: An e-mail address (RFC 5321's 64 + 1 + 255, rounded up as the tables always had it).
EMAIL_MAX = 320
#: Why something was rejected, returned, cancelled (multi-line).
REASON_MAX = 2_000
#: A description, acceptance criteria, a comment (multi-line).
TEXT_MAX = 10_000
#: Nesting of a JSON value (form data, schemas, deliverables).
JSON_DEPTH_MAX = 32
#: Integers in JSON data: what a 64-bit signed integer holds.
INT_MAX = 2**63 - 1
#: Item ids (W-n, H-n, P-n): the tables' integer keys.
ID_MAX = 2**31 - 1


def check_id(number: int, name: str) -> int:
    """``number`` if it can name a row (1 to ``ID_MAX``); NotFound ``"<name> does not exist"``
    otherwise (``name``: how people name that row, e.g. ``token 5``, ``P-5``). Nothing larger
    is ever stored, and the databases cannot even compare it: SQLite overflows, PostgreSQL
    refuses an integer beyond 2**31 - 1."""
    if not 0 < number <= ID_MAX:
        raise NotFound(phrase("%(ref)s does not exist", ref=name))
    return number
#: Times mktflow keeps (due, follow-up): well inside what both databases and Python hold.
TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(3000, 1, 1, tzinfo=UTC)

#: What no text may hold, and what only multi-line text may hold besides: found by one regex
#: search each (C speed: these run on every value a unit of work writes).
_NEVER_IN_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_NEVER_IN_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
#: The same rules as JSON Schema ``pattern`` values (ECMA-262, Rust ``regex`` and Python ``re``
#: alike), for the API's OpenAPI document: what a client may send, stated where it is checked.
#: Lone surrogates are left out: no regex engine of a JSON Schema tool takes them, and UTF-8
#: JSON cannot carry one but as an escape, which the checks above refuse.
ONE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
MULTILINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


def _problem_char(text: str, multiline: bool) -> str | None:
    """What is wrong with the first character of ``text`` the field may not hold, or None."""
    found = (_NEVER_IN_MULTILINE if multiline else _NEVER_IN_ONE_LINE).search(text)
    if found is None:
        return None
    ch = found.group()
    code = ord(ch)
    if code == 0:
        return phrase("a NUL character")
    if 0xD800 <= code <= 0xDFFF:
        return phrase("a lone surrogate (text that is not valid Unicode)")
    if ch in "\r\n\x85\u2028\u2029" and not multiline:
        return phrase("a line break (this field is a single line)")
    return phrase("a control character (U+%(code)s)", code=f"{code:04X}")


def check_text(value: str, *, field: str, max_length: int | None,
               multiline: bool = False) -> str:
    """``value`` if it fits a text field: at most ``max_length`` characters, no NUL, no lone
    surrogate, and no control character (``multiline``: line breaks and tabs allowed).

    Raises BadInput naming ``field`` and the rule.
    """
    if max_length is not None and len(value) > max_length:
        raise BadInput(on_field(field, phrase("must be at most %(n)s characters, got %(got)s",
                                              n=max_length, got=len(value))))
    bad = _problem_char(value, multiline)
    if bad:
        raise BadInput(on_field(field, phrase("must not contain %(what)s", what=bad)))
    return value


def check_json(value: Any, *, field: str) -> Any:
    """``value`` if it is plain JSON mktflow can store and send on both databases.

    Objects with text keys, arrays, text (no NUL, no lone surrogate), finite numbers, integers
    within 64 bits, booleans and null, nested at most ``JSON_DEPTH_MAX`` deep. Raises BadInput
    naming the path of the first offending value (e.g. ``data.lines[2].price``).
    """
    stack: list[tuple[Any, str, int]] = [(value, field, 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > JSON_DEPTH_MAX:
            raise BadInput(f"{path}: nested more than {JSON_DEPTH_MAX} levels deep")
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise BadInput(f"{path}: keys must be text, got {type(key).__name__}")
                check_text(key, field=f"{path} (a key)", max_length=NAME_MAX, multiline=True)
                stack.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(node, list | tuple):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(node))
        elif isinstance(node, str):
            bad = _problem_char(node, multiline=True)
            if bad:
                raise BadInput(on_field(path, phrase("must not contain %(what)s", what=bad)))
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not -INT_MAX - 1 <= node <= INT_MAX:
                raise BadInput(f"{path}: integers must fit in 64 bits "
                               f"(between {-INT_MAX - 1} and {INT_MAX})")
        elif isinstance(node, float | Decimal):
            if not (node.is_finite() if isinstance(node, Decimal) else math.isfinite(node)):
                raise BadInput(f"{path}: must be a finite number (NaN, Infinity and numbers "
                               "beyond about 1.8e308 are not accepted)")
        else:
            raise BadInput(f"{path}: {type(node).__name__} is not a JSON value")
    return value


#: A JSON string or one bracket: the tokens that decide how deep a JSON text nests.
#: A string left open runs to the end, so no text makes the scan go back (linear time).
_NESTING_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _nested_deeper_than(text: str, limit: int) -> bool:
    """True when the brackets of JSON ``text``, outside its strings, open more than ``limit`` deep.

    Stops at the first bracket past ``limit``, so a text of 100,000 ``[`` costs ``limit`` steps;
    a text with no more opening brackets than ``limit`` in all is not scanned.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for token in _NESTING_TOKEN.finditer(text):
        mark = token.group()
        if mark in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif mark in ("]", "}"):
            depth -= 1
    return False


def load_json(raw: str | bytes, *, field: str) -> Any:
    """Parse JSON text the one way every door does, then ``check_json`` it.

    Bytes must be UTF-8 (a leading BOM is dropped); ``NaN``, ``Infinity``, ``1e400``, integers
    of more than 4,300 digits, nesting deeper than ``JSON_DEPTH_MAX`` and binary content are
    refused with BadInput naming ``field``.
    """
    if isinstance(raw, bytes | bytearray):
        if b"\x00" in raw:
            raise BadInput(f"{field}: binary content, not JSON text")
        try:
            raw = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{field}: not UTF-8 text (byte {exc.start})") from None
    text = raw.removeprefix("\ufeff")
    if "\x00" in text:
        raise BadInput(f"{field}: binary content, not JSON text")
    if _nested_deeper_than(text, JSON_DEPTH_MAX):
        # refused before parsing: json.loads recurses once per level, and a RecursionError
        # deep in the stack can set off "Exception ignored" noise from finalizers that run there
        raise BadInput(f"{field}: nested more than {JSON_DEPTH_MAX} levels deep")
    try:
        # NaN / Infinity parse as floats so that check_json names the path that holds them
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{field}: not valid JSON ({exc.msg} at line {exc.lineno} "
                       f"column {exc.colno})") from None
    except RecursionError:
        raise BadInput(f"{field}: nested more than {JSON_DEPTH_MAX} levels deep") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise BadInput(f"{field}: not valid JSON ({exc})") from None
    return check_json(value, field=field)


def normalise_email(raw: str) -> str:
    """An e-mail as mktflow stores and compares it: trimmed, Unicode NFC, lower-case."""
    return unicodedata.normalize("NFC", raw.strip()).lower()


#: What an e-mail address looks like to mktflow: something@domain.tld, no spaces.
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME_PART = r"[^@\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+"
#: ``EMAIL_SHAPE`` on one line, as a JSON Schema ``pattern`` (the API's document).
EMAIL_PATTERN = rf"^{_NAME_PART}@{_NAME_PART}\.{_NAME_PART}$"


def check_email(raw: str, *, field: str) -> str:
    """``raw`` normalised (``normalise_email``), or BadInput ``field: 'x' is not an e-mail
    address`` when it does not look like one (name@domain.tld)."""
    if not isinstance(raw, str) or not EMAIL_SHAPE.match(raw.strip()):
        raise BadInput(on_field(field, phrase("%(given)s is not an e-mail address",
                                              given=repr(raw))))
    return normalise_email(raw)


#: The schemes a link may have: the web and e-mail. Nothing a browser would run or inline
#: (``javascript:``, ``vbscript:``, ``data:``), nor a file, nor a path without a scheme.
LINK_SCHEMES = ("http", "https", "mailto")
#: The longest link mktflow keeps (characters), and the most links one comment carries.
LINK_MAX = 2_000
LINKS_MAX = 50
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


_REST_OF_LINK = r"[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029]"
#: Links ``link_refusal`` accepts, as a JSON Schema ``pattern`` (the API's document): an http
#: or https link naming a host, or a mailto link naming an address.
LINK_PATTERN = (rf"^(?:[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?:[/?#]{_REST_OF_LINK}*)?"
                rf"|[Mm][Aa][Ii][Ll][Tt][Oo]:{_REST_OF_LINK}+)$")


def link_refusal(value: object) -> Phrase | None:
    """Why ``value`` is not a link mktflow accepts, in words (None: it is one).

    A link is one line of at most ``LINK_MAX`` characters without spaces or control
    characters, whose scheme is one of ``LINK_SCHEMES`` (compared case-insensitively): an
    ``http``/``https`` link names a host (``https://example.com/x``), a ``mailto`` link an
    address. Leading and trailing spaces are not part of the link.
    """
    if not isinstance(value, str):
        return phrase("must be text, got %(got)s", got=json_type(value))
    text = value.strip()
    if not text:
        return phrase("is empty")
    if len(text) > LINK_MAX:
        return phrase("is longer than %(n)s characters", n=LINK_MAX)
    bad = _problem_char(text, multiline=False)
    if bad:
        return phrase("must not contain %(what)s", what=bad)
    if any(ch.isspace() for ch in text):
        return phrase("must not contain spaces (write a space as %(code)s)", code="%20")
    scheme, colon, rest = text.partition(":")
    # the messages name LINK_SCHEMES (http, https and mailto) as they are
    if not colon or not _SCHEME.fullmatch(scheme):
        return phrase("has no scheme: only http, https and mailto links are accepted "
                      "(https://…)")
    if scheme.lower() not in LINK_SCHEMES:
        return phrase("uses the scheme %(scheme)s:, and only http, https and mailto links are "
                      "accepted", scheme=scheme.lower())
    if scheme.lower() == "mailto":
        return None if rest else phrase("names no address (mailto:name@example.com)")
    try:
        host = urlsplit(text).hostname
    except ValueError:
        host = None
    return None if rest.startswith("//") and host else phrase(
        "names no host (%(scheme)s://example.com/…)", scheme=scheme.lower())


def is_acceptable_link(value: object) -> bool:
    """Whether ``value`` passes the link rule (``link_refusal``): what a page may show as an
    anchor, also of rows stored before the rule."""
    return link_refusal(value) is None


def check_link(value: object, *, field: str) -> str:
    """``value`` without surrounding spaces if it is a link mktflow accepts; BadInput naming
    ``field``, the link (its first 80 characters) and the rule otherwise."""
    problem = _link_problem(value)
    if problem is not None:
        raise BadInput(on_field(field, problem))
    assert isinstance(value, str)
    return value.strip()


def _link_problem(value: object, number: int | None = None) -> Phrase | None:
    """``'javascript:x' uses the scheme …`` (``link_refusal``), of link ``number`` when given
    (``link 2, …``); None for a link mktflow accepts."""
    why = link_refusal(value)
    if why is None:
        return None
    shown = repr(value[:80] + ("…" if len(value) > 80 else "")) \
        if isinstance(value, str) else json_type(value)
    if number is None:
        return phrase("%(link)s %(why)s", link=shown, why=why)
    return phrase("link %(n)s, %(link)s %(why)s", n=number, link=shown, why=why)


def check_links(values: list[str] | None, *, field: str = "links") -> list[str]:
    """Every link of ``values`` checked (``check_link``), at most ``LINKS_MAX`` of them; the
    refusal names ``field`` and which link: ``links: link 2, 'javascript:x' uses the scheme
    javascript:, and only http, https and mailto links are accepted``."""
    values = list(values or [])
    if len(values) > LINKS_MAX:
        raise BadInput(on_field(field, phrase("at most %(n)s links, got %(got)s", n=LINKS_MAX,
                                              got=len(values))))
    checked = []
    for n, value in enumerate(values, 1):
        problem = _link_problem(value, n if len(values) > 1 else None)
        if problem is not None:
            raise BadInput(on_field(field, problem))
        checked.append(check_link(value, field=field))
    return checked


def due_ahead(due: _Due, now: datetime, *, field: str = "due") -> _Due:
    """A new item's due time, refused when it is already past (docs: "What mktflow
    accepts"): BadInput naming ``field``, the time and now, both UTC. A date alone means the
    end of that day (``parse_time``), so today is accepted; a due time in working time
    (``mktflow.domain.calendars.WorkingDue``) is always ahead and passes as it is."""
    def utc(value: datetime) -> datetime:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    if isinstance(due, datetime) and utc(due) < utc(now):
        raise BadInput(on_field(field, phrase(
            "%(due)s is already past (now %(now)s); give a time from now on, e.g. a date (the "
            "end of that day)", due=human_time(due), now=human_time(now))))
    return due


def _in_range(value: datetime, *, field: str, raw: str) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not TIME_MIN <= utc < TIME_MAX:
        raise BadInput(on_field(field, phrase(
            "%(given)s is out of range (times between %(start)s and %(end)s UTC)",
            given=repr(raw), start=f"{TIME_MIN:%Y-%m-%d}", end=f"{TIME_MAX:%Y-%m-%d}")))
    return utc


def parse_time(raw: str | None, *, field: str) -> datetime | None:
    """An ISO 8601 time, returned in UTC; without a zone it is UTC; a date alone means the end
    of that day (23:59:59 UTC). Refused outside ``TIME_MIN`` .. ``TIME_MAX``."""
    if raw is None:
        return None
    text = raw.strip()
    check_text(text, field=field, max_length=64)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            value = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(on_field(field, phrase(
            "%(given)s is not an ISO 8601 time (e.g. 2026-12-01 or 2026-12-01T17:00+01:00)",
            given=repr(raw)))) from None
    return _in_range(value if value.tzinfo else value.replace(tzinfo=UTC), field=field, raw=raw)


def parse_date(raw: str | None, *, field: str) -> date | None:
    """An ISO 8601 date (YYYY-MM-DD), within the years of ``TIME_MIN`` .. ``TIME_MAX``."""
    if raw is None:
        return None
    check_text(raw, field=field, max_length=64)
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise BadInput(on_field(field, phrase("%(given)s is not a date (YYYY-MM-DD)",
                                              given=repr(raw)))) from None
    if not TIME_MIN.date() <= day < TIME_MAX.date():
        raise BadInput(on_field(field, phrase(
            "%(given)s is out of range (dates between %(start)s and %(end)s)",
            given=repr(raw), start=f"{TIME_MIN:%Y-%m-%d}", end=f"{TIME_MAX:%Y-%m-%d}")))
    return day


def format_time(value: datetime | None) -> str | None:
    """The one way a time leaves mktflow for programs: UTC, ISO 8601, ``Z``
    (``2026-12-01T16:00:00Z``). A naive time is taken as UTC."""
    if value is None:
        return None
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.isoformat().replace("+00:00", "Z")


def human_time(value: datetime | str | None, zone: tzinfo | None = None) -> str | None:
    """The one way a time is shown to people: ``2026-12-01 16:00 UTC``; with ``zone`` (the
    organisation's, see ``zone_named``) in that zone, ``2026-12-01 17:00 CET``. ``value`` may
    be an ISO 8601 string (``2026-12-01T16:00:00Z``); a naive time is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if zone is None:
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    local = utc.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def zone_named(*names: str | None) -> ZoneInfo:
    """The first of ``names`` that is a known IANA time zone (``Europe/Madrid``); UTC when
    none is (the organisation's zone: ``web_timezone``, else ``schedule_tz``)."""
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


#: JSON's names for Python's types, as people who write JSON know them.
_JSON_TYPES = {"dict": "object", "list": "array", "str": "string", "int": "integer",
               "float": "number", "bool": "boolean", "NoneType": "null"}


def json_type(value: Any) -> str:
    """The JSON name of ``value``'s type: object, array, string, integer, number, boolean,
    null."""
    return _JSON_TYPES.get(type(value).__name__, type(value).__name__)


def _shown(limit: Any) -> str:
    if isinstance(limit, float) and limit.is_integer() and abs(limit) < 1e15:
        return str(int(limit))
    return str(limit)


def _count(n: Any, one: str, many: str) -> str:
    return f"{_shown(n)} {one if n == 1 else many}"


def rule_in_words(rule: str, limit: Any, value: Any) -> str | None:
    """A broken JSON-schema rule (``minLength``, ``maximum``, ``enum``, ...; pydantic's
    constraints are named the same way by ``plain_error``) as a person reads it, without the
    text itself: ``is required`` for a blank text that needs one character or more, ``must be
    at most 300 characters, got 312`` (its length), ``must have at least 2 entries, got 1``,
    ``must be at least 0, got -1`` (a number is shown), ``must be one of: approve, reject``.
    None for a rule this does not word."""
    blank = isinstance(value, str) and not value.strip()
    got = f", got {len(value)}" if isinstance(value, str | list | tuple) else ""
    characters = _count(limit, "character", "characters")
    if rule == "minLength":
        return "is required" if blank else f"must be at least {characters}{got}"
    if rule == "maxLength":
        return f"must be at most {characters}{got}"
    if rule == "minItems":
        empty = isinstance(value, list | tuple) and not value
        return "is required (at least one entry)" if empty and limit == 1 else \
            f"must have at least {_count(limit, 'entry', 'entries')}{got}"
    if rule == "maxItems":
        return f"must have at most {_count(limit, 'entry', 'entries')}{got}"
    words = {"minimum": "must be at least", "maximum": "must be at most",
             "exclusiveMinimum": "must be more than", "exclusiveMaximum": "must be less than",
             "multipleOf": "must be a multiple of", "const": "must be"}
    if rule in words:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return f"{words[rule]} {_shown(limit)}" + (f", got {_shown(value)}" if number else "")
    if rule == "enum" and isinstance(limit, list | tuple):
        return "must be one of: " + ", ".join("null" if v is None else _shown(v) for v in limit)
    if rule == "uniqueItems":
        return "must not list the same entry twice"
    return None


#: pydantic's constraint errors: (the JSON-schema rule, the ``ctx`` key holding its limit).
_PYDANTIC_RULES = {
    "string_too_short": ("minLength", "min_length"), "string_too_long": ("maxLength", "max_length"),
    "too_short": ("minItems", "min_length"), "too_long": ("maxItems", "max_length"),
    "greater_than_equal": ("minimum", "ge"), "less_than_equal": ("maximum", "le"),
    "greater_than": ("exclusiveMinimum", "gt"), "less_than": ("exclusiveMaximum", "lt"),
    "multiple_of": ("multipleOf", "multiple_of"),
}


def plain_error(err: Any, *, echo: bool = True) -> str:
    """One pydantic error (a dict of ``exc.errors()``) in words for people who write JSON:
    ``is required`` for a missing or null value (or a blank text that needs one character),
    limits as ``rule_in_words`` says them (``must be at most 300 characters``), ``'x' is not an
    e-mail address`` for the e-mail pattern (never the regex itself), a JSON object where
    pydantic says dictionary, and no ``Value error, `` prefix. ``echo=False`` leaves the
    submitted value out."""
    kind = str(err.get("type", ""))
    message = str(err.get("msg", ""))
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return "is required"
    if kind in _PYDANTIC_RULES:
        rule, key = _PYDANTIC_RULES[kind]
        numeric = not rule.endswith(("Length", "Items"))  # a length says no more than its size
        worded = rule_in_words(rule, ctx.get(key), value if echo or not numeric else None)
        if worded:
            return worded
    if kind in ("literal_error", "enum") and ctx.get("expected"):
        return f"must be {str(ctx['expected']).replace(chr(39), '')}"
    if value is None and kind.endswith("_type"):
        return "is required (got null)"
    if kind == "string_pattern_mismatch":
        shown = f"{value!r} " if echo else ""
        if ctx.get("pattern") == EMAIL_SHAPE.pattern:
            return f"{shown}is not an e-mail address"
        return f"{shown}does not match the expected form"
    if kind in ("dict_type", "model_type", "model_attributes_type", "list_type"):
        wanted = "an array" if kind == "list_type" else "a JSON object"
        return f"must be {wanted}, got {json_type(value)}"
    shown = f"{value!r} " if echo and isinstance(value, str) else ""
    parsing = {"float_parsing": "a number", "int_parsing": "a whole number",
               "bool_parsing": "true or false"}
    if kind in parsing:
        return f"{shown}is not {parsing[kind]}" if shown else f"must be {parsing[kind]}"
    if kind.startswith(("date_", "datetime_")):
        what = "a date (YYYY-MM-DD)" if kind.startswith("date_") else \
            "a date and time (ISO 8601, e.g. 2026-12-01T17:00:00Z)"
        return f"{shown}is not {what}" if shown else f"must be {what}"
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind.endswith("_type") and value is not None:
        message += f", got {json_type(value)}"
    return (message.replace("a valid dictionary", "a JSON object")
            .replace("valid list", "valid array").replace("dictionary", "object"))
