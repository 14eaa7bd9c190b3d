"""What each channel allows (issue 11): e-mail headers are one line, Slack sections at most
3,000 characters with the link kept. Real SMTP server and webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

from mktflow.notify.senders import SmtpMailer
from mktflow.notify.testing import SmtpReceiver, WebhookReceiver
from mktflow.store.tables import OutboxMessage
from tests.integration.notify_support import channel, relay_for, rows

LINK = "http://127.0.0.1:8787/work/7"
SLACK_SECTION_MAX = 3000  # Slack answers 400 above it


def _message(db: Any, channel_id: int | None, *, subject: str, **payload: Any) -> str:
    with db.uow() as u:
        m = u.outbox(OutboxMessage(
            id="", event="work.rejected", subject=subject, channel_id=channel_id,
            department="tech", payload={"ref": "W-7", "for": "tech", **payload}, link=LINK))
        u.commit()
        return m.id


def test_a_title_with_a_line_break_is_mailed_without_an_extra_header(db: Any) -> None:
    with SmtpReceiver() as smtp:
        mail = channel(db, "tech", "email", to="tech-team@example.com")
        mid = _message(db, mail.id, subject="W-7 returned: Flyer\nBcc: x@example.com")
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=5)
        with relay_for(db, env={}, mailer=mailer) as relay:
            summary = relay.drain()
    assert (summary.sent, summary.retrying, summary.dead) == (1, 0, 0), summary.errors
    (got,) = smtp.mails
    assert got.rcpt_tos == ["tech-team@example.com"]  # nobody was added as a recipient
    assert got.message["Bcc"] is None
    assert got.message["Subject"] == "W-7 returned: Flyer Bcc: x@example.com"
    assert got.message["Message-ID"] == f"<{mid}@mktflow>"
    assert f"Act: {LINK}" in got.message.get_content()
    (msg,) = rows(db, id=mid)
    assert (msg.status, msg.attempts) == ("sent", 1)


def test_a_long_reason_makes_slack_sections_of_at_most_3000_characters_with_the_link(
        db: Any) -> None:
    reason = ("The artwork uses the old logo & the wrong <legal> line. " * 60)[:3280]
    assert len(reason) == 3280
    with WebhookReceiver(lambda r: (400 if any(
            len(b["text"]["text"]) > SLACK_SECTION_MAX
            for b in json.loads(r.body)["blocks"]) else 200, 0.0)) as rx:
        slack = channel(db, "tech", "slack", url=f"{rx.url}/services/T1/B2/x")
        mid = _message(db, slack.id, subject="W-7 rejected by tech: Flyer", reason=reason)
        with relay_for(db, env={}) as relay:
            summary = relay.drain()
    assert summary.sent == 1, summary.errors
    (req,) = rx.requests
    body = json.loads(req.body)
    for block in body["blocks"]:
        assert len(block["text"]["text"]) <= SLACK_SECTION_MAX
        assert block["text"]["text"].endswith(f"<{LINK}|Open W-7>")
    assert len(body["text"]) <= SLACK_SECTION_MAX and f"<{LINK}|Open W-7>" in body["text"]
    section = body["blocks"][0]["text"]["text"]
    assert section.startswith("*W-7 rejected by tech: Flyer*\nFor: tech\nReason: The artwork")
    assert "…\n<" in section  # the reason was cut, visibly
    assert "&amp;" in section and "&lt;legal&gt;" in section
    assert rows(db, id=mid)[0].status == "sent"


def test_a_long_reason_and_title_still_make_a_valid_email(db: Any) -> None:
    # RFC 5322 lines end by 998 characters: a 3,280-character line in the body and a long
    # title are encoded and folded, and arrive whole
    reason = "r" * 3280
    title = "W-7 rejected by tech: " + "Flyer " * 45  # 292 characters: folded past 78
    with SmtpReceiver() as smtp:
        mail = channel(db, "tech", "email", to="tech-team@example.com")
        _message(db, mail.id, subject=title, reason=reason)
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=5)
        with relay_for(db, env={}, mailer=mailer) as relay:
            assert relay.drain().sent == 1
    (got,) = smtp.mails
    assert got.message["Subject"] == title.strip()
    body = got.message.get_content().replace("\r\n", "\n")
    assert f"Reason: {reason}\n" in body
    assert f"Act: {LINK}" in got.message.get_content()
