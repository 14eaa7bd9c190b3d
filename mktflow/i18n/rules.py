"""The rules' messages as the pages show them in another language.

The rules word their messages in English (``domain.inputs.rule_in_words``: ``is required``,
``must be at most 300 characters, got 312``; the pages' own form reader: ``must be a
number``); the API and the CLI answer them so, for scripts. The pages show a message beside
its field in the page's language: ``localize(message, code)`` matches it against the shapes
below and fills the translated shape with the same numbers. A message of no known shape is
shown as it is (English), never half-translated.
"""

from __future__ import annotations

import re

from mktflow.i18n import DEFAULT, N_, gettext, normal

__all__ = ["SHAPES", "localize"]

_N = r"(?P<n>-?\d+(?:\.\d+)?)"
_GOT = r"(?:, got (?P<got>-?\d+(?:\.\d+)?))?"

#: (the English message's shape, its msgid without ``got``, its msgid with ``got``).
SHAPES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(rf"^{pattern}$"), plain, got) for pattern, plain, got in (
        (r"is required(?: \(got null\))?", N_("is required"), ""),
        (r"is required \(choose one\)", N_("is required (choose one)"), ""),
        (r"is required \(at least one entry\)", N_("is required (at least one entry)"), ""),
        (r"must be a whole number", N_("must be a whole number"), ""),
        (r"must be a number", N_("must be a number"), ""),
        (r"must be a finite number", N_("must be a finite number"), ""),
        (r"is not one of the choices", N_("is not one of the choices"), ""),
        (r"must not list the same entry twice", N_("must not list the same entry twice"), ""),
        (r"could not be kept as it was; reload the page",
         N_("could not be kept as it was; reload the page"), ""),
        (rf"must be at most {_N} characters?{_GOT}",
         N_("must be at most %(n)s characters"),
         N_("must be at most %(n)s characters, got %(got)s")),
        (rf"must be at least {_N} characters?{_GOT}",
         N_("must be at least %(n)s characters"),
         N_("must be at least %(n)s characters, got %(got)s")),
        (rf"must have at least {_N} (?:entry|entries){_GOT}",
         N_("must have at least %(n)s entries"),
         N_("must have at least %(n)s entries, got %(got)s")),
        (rf"must have at most {_N} (?:entry|entries){_GOT}",
         N_("must have at most %(n)s entries"),
         N_("must have at most %(n)s entries, got %(got)s")),
        (rf"must be at least {_N}{_GOT}", N_("must be at least %(n)s"),
         N_("must be at least %(n)s, got %(got)s")),
        (rf"must be at most {_N}{_GOT}", N_("must be at most %(n)s"),
         N_("must be at most %(n)s, got %(got)s")),
        (rf"must be more than {_N}{_GOT}", N_("must be more than %(n)s"),
         N_("must be more than %(n)s, got %(got)s")),
        (rf"must be less than {_N}{_GOT}", N_("must be less than %(n)s"),
         N_("must be less than %(n)s, got %(got)s")),
        (rf"must be a multiple of {_N}{_GOT}", N_("must be a multiple of %(n)s"),
         N_("must be a multiple of %(n)s, got %(got)s")),
        (r"must be one of: (?P<n>.+)", N_("must be one of: %(n)s"), ""),
    ))


def localize(message: str, code: str | None) -> str:
    """``message`` (a rule's, in English) in language ``code`` when it has a known shape
    (``must be at most 300 characters, got 312`` → ``no puede superar 300 caracteres (ahora 312)``);
    otherwise, and in English, ``message`` as it is. A ``;``-joined list is translated part by
    part."""
    lang = normal(code) or DEFAULT
    if lang == DEFAULT or not message:
        return message
    if "; " in message:
        return "; ".join(localize(part, lang) for part in message.split("; "))
    for shape, plain, with_got in SHAPES:
        found = shape.match(message.strip())
        if found:
            fill = {k: v for k, v in found.groupdict().items() if v is not None}
            return gettext(lang, with_got if "got" in fill and with_got else plain, **fill)
    return message
