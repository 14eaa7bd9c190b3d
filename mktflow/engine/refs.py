"""Item references as people write them: ``W-12``, ``H-3``, ``P-4`` (or a bare number).

A module of its own, with nothing but the domain beneath it, so that a door can parse a
reference without loading the engine's handlers.
"""

from __future__ import annotations

import re

from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.inputs import ID_MAX
from mktflow.domain.model import REF_PREFIX
from mktflow.domain.words import phrase, word

__all__ = ["parse_ref", "ref_number", "ref_pattern"]

#: The kinds a reference names, as a refusal says them (worded where shown).
_KIND_WORDS = {"work": word("work"), "handoff": word("handoff"), "process": word("process")}

_KIND_OF_PREFIX = {prefix: kind for kind, prefix in REF_PREFIX.items()}
_REF = re.compile(r"^\s*(?:(?P<prefix>[WHPwhp])-?)?(?P<id>\d{1,40})\s*$")


def parse_ref(text: str, default_kind: str | None = None) -> tuple[str, int]:
    """Split ``W-12`` / ``H-3`` / ``P-4`` (or a bare number of ``default_kind``) into parts.

    Raises BadInput for text that is no reference, NotFound for a number beyond the ids the
    tables hold (``ID_MAX``): such an item cannot exist.
    """
    match = _REF.match(text[:100])
    if not match:
        raise BadInput(phrase("%(given)s is not an item reference: expected e.g. W-12, H-3, P-4",
                              given=repr(text)))
    prefix = match["prefix"]
    kind = _KIND_OF_PREFIX[prefix.upper()] if prefix else default_kind
    if kind is None:
        raise BadInput(phrase(
            "%(given)s is ambiguous: write W-%(number)s, H-%(number)s or P-%(number)s",
            given=repr(text), number=text))
    if default_kind and kind != default_kind:
        raise BadInput(phrase("%(given)s is not a %(kind)s reference", given=repr(text),
                              kind=_KIND_WORDS.get(default_kind, default_kind)))
    number = int(match["id"])
    if not 0 < number <= ID_MAX:
        raise NotFound(phrase("%(ref)s does not exist", ref=f"{REF_PREFIX[kind]}-{number}"))
    return kind, number


def ref_number(reference: str | int, letter: str, *, dash_optional: bool = False) -> int | None:
    """The number in ``<letter>-12`` (any case) or a bare ``12``, for the references of the
    records that are not items (``L-`` leads, ``R-`` reports, ``V-`` saved views); with
    ``dash_optional`` also ``<letter>12``. None when the text is no such reference (more than
    12 digits included): the caller raises its own error naming the field."""
    text = str(reference).strip()
    if dash_optional:
        digits = text[1:].lstrip("-") if text[:1].upper() == letter else text
    else:
        digits = text[2:] if text.upper().startswith(f"{letter}-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
        return None
    return int(digits)


def ref_pattern(kind: str) -> str:
    """The references of ``kind`` that ``parse_ref(text, kind)`` reads, as a JSON Schema
    ``pattern`` (``^(?:[Ww]-?)?[0-9]{1,40}$`` for work items): what the API's document
    declares for a path's ``{item}``; a number beyond the ids the tables hold fits it and is
    answered 404."""
    letter = REF_PREFIX[kind]
    return f"^(?:[{letter}{letter.lower()}]-?)?[0-9]{{1,40}}$"
