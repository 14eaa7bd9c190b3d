"""How a notice reads in each language: its subject's phrase per event, its body's labels.

The engine writes each notice's subject in English (``engine.notices``, from ``PHRASES``) and
the recipient member's language into its payload (``language``; none for a department's
channel: English); the relay renders the text (``notify.render.text_of``) in that language
with ``subject`` and ``LABELS``. The title, reason and names people typed stay as typed.
"""

from __future__ import annotations

from typing import Any

from mktflow.i18n import DEFAULT, N_, gettext, normal, translations

__all__ = ["LABELS", "PHRASES", "SUBJECT_KEYS", "department", "subject"]

#: How a subject says what happened; ``{member}``, ``{to}``, ``{from}``, ``{due}``, ... are filled
#: from the item and the recipient. Events not listed say their verb.
PHRASES = {
    "work.created": N_("new in the {department} inbox"),
    "work.created/member": N_("for {member}"),
    "work.assigned": N_("assigned to {member}"),
    "work.reassigned": N_("reassigned to {member}"),
    "work.delegated": N_("delegated to {member}"),
    "work.resolved": N_("handed back to {member}"),
    "work.taken_back": N_("back in the {department} queue"),
    "work.overdue": N_("overdue since {due}"),
    "work.escalated": N_("escalated to {escalated_to}, overdue since {due}"),
    "handoff.offered": N_("offered to {to} by {from}"),
    "handoff.accepted": N_("accepted by {to}"),
    "handoff.rejected": N_("rejected by {to}"),
    "handoff.delivered": N_("delivered by {to}, awaits confirmation by {from}"),
    "handoff.confirmed": N_("confirmed by {from}"),
    "handoff.returned": N_("returned by {from}"),
    "handoff.cancelled": N_("cancelled by {from}"),
    "handoff.overdue": N_("overdue since {due}"),
    "handoff.escalated": N_("escalated to {escalated_to}, overdue since {due}"),
}

#: The payload entries a notice's subject is said from in another language (a daily digest keeps
#: them for each notice it gathered: ``engine.digests``, ``notify.render.subject_of``).
SUBJECT_KEYS = ("ref", "title", "words", "department", "recipient", "due", "reason",
                "to_department", "from_department", "escalated_to", "level")

_SUBJECT = N_("%(ref)s %(phrase)s: %(title)s")

#: The body's labels (``For: …``), translated as a whole line with its value.
LABELS = {"for": N_("For: %(value)s"), "due": N_("Due: %(value)s"),
          "escalation": N_("Escalation: level %(level)s (%(to)s)"),
          "reason": N_("Reason: %(value)s"), "act": N_("Act: %(value)s"),
          "department": N_("the %(department)s department"),
          "away": N_("%(member)s (for %(head)s, away)"),
          "open": N_("Open %(ref)s")}

#: The departments every organisation has, as each language names them (English: the code).
DEPARTMENT_NAMES = {"marketing": N_("Marketing"), "sales": N_("Sales"), "tech": N_("Tech"),
                    "production": N_("Production"), "supply": N_("Supply"),
                    "finance": N_("Finance"), "management": N_("Management")}


def department(code: str | None, lang: str | None) -> str:
    """A department as language ``lang`` names it: its code in English (``marketing``, as the
    pages and notices always wrote it), ``市场营销部`` in Chinese; an unknown code as it is."""
    name = DEPARTMENT_NAMES.get(str(code or ""))
    lang = normal(lang) or DEFAULT
    return translations(lang).gettext(name) if name and lang != DEFAULT else str(code or "")


def subject(lang: str, ref: str, event: str, fill: dict[str, Any], title: str) -> str:
    """The subject of ``event`` on item ``ref`` in language ``lang``: ``W-12 assigned to
    olga@example.com: Spring brochure``; the phrase's ``{member}``, ``{department}`` …
    filled from ``fill`` (departments by their names in the language), the title as typed,
    the reason after a dash; at most 300 characters."""
    key = f"{event}/member" if fill.get("member") and f"{event}/member" in PHRASES else event
    verb = event.split(".", 1)[-1].replace("_", " ")
    named = {**fill, **{k: department(fill.get(k), lang) for k in ("department", "to", "from")
                        if fill.get(k)}}
    try:
        phrase = (gettext(lang, PHRASES[key]).format(**named) if key in PHRASES
                  else gettext(lang, verb))
    except (KeyError, IndexError):
        phrase = gettext(lang, verb)
    text = gettext(lang, _SUBJECT, ref=ref, phrase=phrase, title=title)
    if fill.get("reason"):
        text += f" — {fill['reason']}"
    return text if len(text) <= 300 else text[:299] + "…"
