"""How a message reads on each channel, and how webhook bodies are signed. Pure: no I/O.

A one-time sign-in message is stored without its link (``payload["sign_in"]`` says how to
make it); ``with_sign_in_link`` makes the link with the sign-in key just before it is sent, so
only what the member receives holds the code.

A webhook receiver verifies a delivery by recomputing
``hex(HMAC-SHA256(secret, f"{X-Mktflow-Timestamp}.{raw body}"))`` and comparing it with the
``X-Mktflow-Signature: sha256=<hex>`` header in constant time (see ``verify_signature``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from mktflow.domain.errors import DeliveryFailed
from mktflow.domain.sign_in import PAYLOAD_KEY, code_for, key_id
from mktflow.i18n import DEFAULT, N_, gettext, normal, notices, when
from mktflow.i18n.words import said

__all__ = [
    "DIGEST_WORDS",
    "Envelope",
    "digest_subject",
    "digest_text",
    "email_message",
    "language_of",
    "one_line",
    "sign",
    "slack_payload",
    "subject_of",
    "text_of",
    "verify_signature",
    "webhook_body",
    "webhook_headers",
    "with_sign_in_link",
]

USER_AGENT = "mktflow-relay/0.1"

#: Longest text of one Slack section block (Slack answers 400 above it).
SLACK_SECTION_MAX = 3000

_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Envelope:
    """One claimed outbox message with its channel, as the relay hands it to a sender."""

    id: str
    event: str
    subject: str
    payload: dict[str, Any]
    link: str | None
    created_at: datetime
    attempt: int
    channel_id: int | None = None
    channel_type: str | None = None
    url: str | None = None
    to: str | None = None
    secret_env: str | None = None
    department: str | None = None
    recipient: str | None = None


def with_sign_in_link(env: Envelope, key: bytes | None) -> Envelope:
    """``env`` as it is sent: a sign-in message gets its link (``link`` and
    ``payload["link"]``), derived from the nonce it carries with the sign-in ``key``, and loses
    the nonce; any other message is returned as it is.

    Raises DeliveryFailed (permanent: the link expires long before a fix could reach it) when
    there is no key, or the key is not the one the link was made with (the link would not
    sign anyone in): the pages and the relay must share ``MKTFLOW_SIGN_IN_LINK_SECRET`` or the
    data folder's ``sign-in-link.key``.
    """
    made = env.payload.get(PAYLOAD_KEY)
    if not isinstance(made, dict):
        return env
    if key is None or made.get("key") != key_id(key):
        raise DeliveryFailed(
            "cannot make this sign-in link: this relay's sign-in key is not the one the link "
            "was made with (the pages and every relay must share MKTFLOW_SIGN_IN_LINK_SECRET, "
            "or one data folder's sign-in-link.key); the member can ask for a new link",
            permanent=True)
    link = f"{made.get('url', '')}{code_for(key, str(made.get('nonce', '')))}"
    payload = {k: v for k, v in env.payload.items() if k != PAYLOAD_KEY}
    return replace(env, link=link, payload={**payload, "link": link})


def language_of(env: Envelope) -> str:
    """The language a message is written in: its member recipient's (``payload["language"]``,
    from the organisation file), else English (a department's channel, a member without one).
    """
    return normal(str(env.payload.get("language") or "")) or DEFAULT


def subject_of(env: Envelope) -> str:
    """The subject in the message's language (English: as the engine wrote it)."""
    lang, p = language_of(env), env.payload
    if lang != DEFAULT and isinstance(p.get("digest"), dict):
        return digest_subject(p["digest"], lang)
    if lang == DEFAULT or not p.get("ref") or not str(env.event).count("."):
        return env.subject
    fill = {"department": p.get("department"), "member": p.get("recipient"),
            "due": _human_time(str(p["due"]), lang) if p.get("due") else None,
            "reason": said(p, "reason", lang) if p.get("reason") else None,
            "to": p.get("to_department"),
            "from": p.get("from_department"), "escalated_to": p.get("escalated_to"),
            "level": p.get("level")}
    return notices.subject(lang, str(p["ref"]), env.event, fill, said(p, "title", lang))


def text_of(env: Envelope) -> str:
    """The readable message in its language (``language_of``): what, for whom, due when,
    why, and the link to act (a daily digest: ``digest_text``). What people typed (title,
    reason) stays as typed."""
    p, lang = env.payload, language_of(env)
    if isinstance(p.get("digest"), dict):
        return digest_text(subject_of(env), p["digest"], lang)
    say = notices.LABELS
    who = p.get("for") or env.recipient or env.department
    if lang != DEFAULT:
        who = (gettext(lang, say["away"], member=p.get("recipient"), head=p["on_behalf_of"])
               if p.get("on_behalf_of") else p.get("recipient") or env.recipient
               or gettext(lang, say["department"],
                          department=notices.department(env.department, lang)))
    lines = [one_line(subject_of(env)), gettext(lang, say["for"], value=who)]
    if p.get("due"):
        lines.append(gettext(lang, say["due"], value=_human_time(str(p["due"]), lang)))
    if p.get("level"):
        lines.append(gettext(lang, say["escalation"], level=p["level"],
                             to=p.get("escalated_to", "")))
    if p.get("reason"):
        lines.append(gettext(lang, say["reason"], value=said(p, "reason", lang)))
    if env.link:
        lines.append(gettext(lang, say["act"], value=env.link))
    return "\n".join(lines)


def _entry_line(e: dict[str, Any], *, holder: bool = False, lang: str = DEFAULT) -> str:
    if lang != DEFAULT:
        state = gettext(lang, {"delegated": "delegated (pending review)"}.get(
            str(e.get("state")), str(e.get("state"))))  # the pages' words for the states
        due = gettext(lang, DIGEST_WORDS["due"], due=_human_time(e["due"], lang)) \
            if e.get("due") else ""
        held = gettext(lang, DIGEST_WORDS["held"], holder=e.get("holder")
                       or gettext(lang, DIGEST_WORDS["nobody"])) \
            if holder and e.get("kind") == "work" else ""
        return f"- {e.get('ref')} {one_line(said(e, 'title', lang))} ({state}{due}{held}):" \
            f" {e.get('link')}"
    due = f", due {_human_time(e['due'])}" if e.get("due") else ""
    held = f", {e.get('holder') or 'nobody holds it'}" if holder and e.get("kind") == "work" \
        else ""
    return f"- {e.get('ref')} {one_line(str(e.get('title', '')))} ({e.get('state')}{due}{held}):" \
        f" {e.get('link')}"


def _bands(entries: list[dict[str, Any]], *, holder: bool = False,
           lang: str = DEFAULT) -> list[str]:
    lines: list[str] = []
    for band in ("overdue", "due soon", "open"):
        rows = [e for e in entries if e.get("band") == band]
        if rows:
            heading = f"{band.capitalize()} ({len(rows)})" if lang == DEFAULT else gettext(
                lang, DIGEST_WORDS[band], count=len(rows))
            lines += ["", heading,
                      *(_entry_line(e, holder=holder, lang=lang) for e in rows)]
    return lines


#: A digest's headings and phrases (``digest_text``) as each language says them; English
#: keeps the text it always had.
DIGEST_WORDS = {
    "subject": N_("Your mktflow digest %(day)s: %(overdue)s overdue, %(soon)s due soon, "
                  "%(open)s open, %(changes)s changes"),
    "for": N_("For: %(member)s (the day %(day)s, %(zone)s)"),
    "nothing": N_("Nothing open in your hands."),
    "overdue": N_("Overdue (%(count)s)"), "due soon": N_("Due soon (%(count)s)"),
    "open": N_("Open (%(count)s)"),
    "due": N_(", due %(due)s"), "held": N_(", %(holder)s"), "nobody": N_("nobody holds it"),
    "changes": N_("Changes held for this digest (%(count)s)"),
    "more": N_("- and %(count)s more"),
    "department": N_("Department %(department)s: %(overdue)s overdue, %(soon)s due soon, "
                     "%(open)s open, %(unassigned)s unassigned"),
    "who": N_("Who holds what"),
    "member": N_("%(name)s: %(held)s held, %(overdue)s overdue"),
}


def digest_subject(d: dict[str, Any], lang: str) -> str:
    """A digest's subject in language ``lang`` from its counts (``Ваша сводка mktflow …``)."""
    c = d.get("counts") or {}
    return gettext(lang, DIGEST_WORDS["subject"], day=d.get("day"), overdue=c.get("overdue", 0),
                   soon=c.get("due soon", 0), open=c.get("open", 0),
                   changes=c.get("changes", 0))


def digest_text(subject: str, d: dict[str, Any], lang: str = DEFAULT) -> str:
    """A member's daily digest (in language ``lang``) as text (the e-mail's body, the
    webhook's ``text``, the Slack message). English keeps its wording below; another language
    says every heading and phrase from ``DIGEST_WORDS``, titles and names as typed."""
    if normal(lang) in (None, DEFAULT):
        return _digest_english(subject, d)
    say = DIGEST_WORDS
    lines = [one_line(subject), gettext(lang, say["for"], member=d.get("member"),
                                        day=d.get("day"), zone=d.get("zone"))]
    entries = d.get("entries") or []
    lines += _bands(entries, lang=lang) if entries else ["", gettext(lang, say["nothing"])]
    changes = d.get("changes") or []
    total = (d.get("counts") or {}).get("changes", len(changes))
    if total:
        lines += ["", gettext(lang, say["changes"], count=total)]
        lines += [f"- {_human_time(c.get('at', ''), lang)} {one_line(_change_subject(c, lang))}"
                  + (f": {c['link']}" if c.get("link") else "") for c in changes]
        if total > len(changes):
            lines.append(gettext(lang, say["more"], count=total - len(changes)))
    part = d.get("department")
    if isinstance(part, dict):
        c = part.get("counts") or {}
        lines += ["", gettext(lang, say["department"],
                              department=notices.department(part.get("department"), lang),
                              overdue=c.get("overdue", 0), soon=c.get("due soon", 0),
                              open=c.get("open", 0), unassigned=c.get("unassigned", 0))]
        lines += _bands(part.get("entries") or [], holder=True, lang=lang)
        lines += ["", gettext(lang, say["who"])]
        lines += ["- " + gettext(lang, say["member"], name=one_line(str(m.get("name"))),
                                 held=m.get("held"), overdue=m.get("overdue"))
                  for m in part.get("by_member") or []]
    lines += ["", gettext(lang, notices.LABELS["act"], value=d.get("link"))]
    return "\n".join(lines)


def _change_subject(change: dict[str, Any], lang: str) -> str:
    """The subject of a notice a digest gathered in language ``lang``, said again from what it
    was made of (``DigestChange.fill``) as the notice itself would be; as the engine wrote it
    (English) when it kept nothing to say it from (a digest written before)."""
    if not change.get("event") or not isinstance(change.get("fill"), dict):
        return str(change.get("subject", ""))
    held = Envelope(id="", event=str(change["event"]), subject=str(change.get("subject", "")),
                    payload={**change["fill"], "language": lang}, link=None,
                    created_at=datetime.fromtimestamp(0, UTC), attempt=0)  # (not read)
    return subject_of(held)


def _digest_english(subject: str, d: dict[str, Any]) -> str:
    """A member's daily digest as text (the e-mail's body, the webhook's ``text``, the Slack
    message): their items and handoffs by band (overdue, due soon, open), each with the link
    to its page; the changes held for it; for a head the department's part and who holds
    what; the link to My work last (``Act:``). ``d`` is the payload's ``digest``
    (``MemberDigest`` as a plain dict)."""
    lines = [one_line(subject), f"For: {d.get('member')} (the day {d.get('day')}, "
                                f"{d.get('zone')})"]
    entries = d.get("entries") or []
    lines += _bands(entries) if entries else ["", "Nothing open in your hands."]
    changes = d.get("changes") or []
    total = (d.get("counts") or {}).get("changes", len(changes))
    if total:
        lines += ["", f"Changes held for this digest ({total})"]
        lines += [f"- {_human_time(c.get('at', ''))} {one_line(str(c.get('subject', '')))}"
                  + (f": {c['link']}" if c.get("link") else "") for c in changes]
        if total > len(changes):
            lines.append(f"- and {total - len(changes)} more")
    part = d.get("department")
    if isinstance(part, dict):
        c = part.get("counts") or {}
        lines += ["", f"Department {part.get('department')}: {c.get('overdue', 0)} overdue, "
                      f"{c.get('due soon', 0)} due soon, {c.get('open', 0)} open, "
                      f"{c.get('unassigned', 0)} unassigned"]
        lines += _bands(part.get("entries") or [], holder=True)
        lines += ["", "Who holds what"]
        lines += [f"- {one_line(str(m.get('name')))}: {m.get('held')} held, {m.get('overdue')} "
                  "overdue" for m in part.get("by_member") or []]
    lines += ["", f"Act: {d.get('link')}"]
    return "\n".join(lines)


def _human_time(iso: str, lang: str = DEFAULT) -> str:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if lang == DEFAULT:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return when(moment, ZoneInfo("UTC"), lang)


def webhook_body(env: Envelope) -> bytes:
    """The JSON a generic webhook receives; the same bytes on every retry."""
    body = {
        "id": env.id, "event": env.event, "subject": env.subject, "text": text_of(env),
        "link": env.link, "created_at": env.created_at.isoformat(), **env.payload,
    }
    body["id"], body["event"] = env.id, env.event  # the payload may not override these
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Mktflow-Signature`` value: ``sha256=`` and the HMAC of ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is the one ``sign`` makes for this timestamp and body."""
    try:
        expected = sign(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)


def webhook_headers(env: Envelope, *, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Headers of a signed webhook delivery; ``Idempotency-Key`` is the message id."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Mktflow-Event": env.event,
        "X-Mktflow-Timestamp": str(timestamp),
        "X-Mktflow-Signature": sign(secret, timestamp, body),
        "X-Mktflow-Attempt": str(env.attempt),
        "Idempotency-Key": env.id,
    }


def slack_payload(env: Envelope) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message: one text block with the action link.

    The section holds at most ``SLACK_SECTION_MAX`` characters: a longer text (a long reason)
    is cut with ``…`` before the link, which is always kept whole at the end.
    """
    lines = text_of(env).splitlines()
    head = f"*{_slack_escape(lines[0])}*"
    act = gettext(language_of(env), notices.LABELS["act"], value=env.link or "")
    rest = [_slack_escape(x) for x in lines[1:] if x != act and not x.startswith("Act: ")]
    opens = gettext(language_of(env), notices.LABELS["open"],
                    ref=str(env.payload.get("ref", "item")))
    link = f"<{env.link}|{_slack_escape(opens)}>" if env.link else ""
    room = SLACK_SECTION_MAX - (len(link) + 1 if link else 0)
    text = _cut("\n".join([head, *rest]), room)
    if link:
        text = f"{text}\n{link}"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                                   "text": text}}]}


def _cut(text: str, room: int) -> str:
    """``text`` if it fits ``room`` characters, else its start and ``…`` (never half of an
    ``&amp;``-style escape)."""
    if len(text) <= room:
        return text
    cut = text[:max(0, room - 1)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    """``text`` as one header line: every line break (CR, LF, VT, FF, NEL, U+2028/9 …) becomes a
    space, other control characters go, runs of spaces shrink to one."""
    text = _CONTROLS.sub("", _LINE_BREAKS.sub(" ", text))
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def email_message(env: Envelope, *, sender: str) -> EmailMessage:
    """A plain-text e-mail; Message-ID carries the message id, so duplicates are recognisable.

    Header values are made single-line (``one_line``): a title with a line break can neither
    fail the message (``Header values may not contain linefeed``) nor add a header; the body
    keeps the text as written.
    """
    msg = EmailMessage()
    msg["Subject"] = one_line(subject_of(env))
    msg["From"] = one_line(sender)
    msg["To"] = one_line(env.to or "")
    msg["Message-ID"] = f"<{env.id}@mktflow>"
    msg["X-Mktflow-Event"] = one_line(env.event)
    msg["Idempotency-Key"] = env.id
    msg.set_content(text_of(env) + "\n")
    return msg
