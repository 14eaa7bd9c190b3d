"""Daily digests on both databases with a real webhook receiver: a member who chose one gets
no notice per change but one digest a working day at their time, once, with a link to each of
their items; heads get their department's part; going back to each sends what was held."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from mktflow.domain.errors import BadInput, Refused
from mktflow.engine import digests, handoffs, work
from mktflow.notify.outbox import retry_message
from tests.dates import date_ahead
from tests.integration.notify_support import HEAD, OLGA, TOM, channel, relay_for, rows

ENV = {"MKTFLOW_TEST_HOOK_SECRET": "s3cret"}


def _monday(clock: Any) -> datetime:
    """Freeze the clock at 08:00 UTC on a Monday a week or more ahead (a working day of the
    demo organisation's default working day: Monday to Friday, UTC)."""
    day = date_ahead(7)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return clock.set(datetime.combine(day, time(8), tzinfo=UTC))


def _bodies(rx: Any) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in rx.requests]


def test_a_daily_member_gets_one_digest_a_day_at_their_time_instead_of_each_notice(
        db: Any, clock: Any, links_api: str) -> None:
    from mktflow.notify.testing import WebhookReceiver

    monday = _monday(clock)
    with WebhookReceiver() as rx:
        hook = channel(db, "marketing", url=f"{rx.url}/hooks/marketing")
        chosen = digests.set_choice(db.uow(), OLGA, mode="daily", at="17:30")
        assert (chosen.mode, chosen.at, chosen.zone) == ("daily", "17:30", "UTC")
        late = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                     title="Fair booth plan", assignee=OLGA,
                                     due_at=monday + timedelta(hours=2))
        soon = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                     title="Brochure copy", assignee=OLGA,
                                     due_at=monday + timedelta(days=1, hours=4))
        queue = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                      title="Press list")  # the department's: told as before
        held = rows(db, recipient_email=OLGA)
        assert [m.status for m in held] == ["held", "held"]
        with relay_for(db, env=ENV) as relay:
            assert relay.drain().sent == 1  # only the department's notice went out
        assert [b["ref"] for b in _bodies(rx)] == [f"W-{queue.id}"]
        with pytest.raises(Refused, match="daily digest"):
            retry_message(db.uow(), held[0].id)  # not sent past the member's choice

        clock.set(monday.replace(hour=17, minute=29))
        assert digests.send_due(db.uow()) == []  # not before her time
        clock.set(monday.replace(hour=17, minute=31))
        (written,) = digests.send_due(db.uow())
        assert written == {"member": OLGA, "day": monday.date().isoformat(), "messages": 1,
                           "entries": 2, "changes": 2}
        with relay_for(db, env=ENV) as relay:
            assert relay.drain().sent == 1
        clock.set(monday.replace(hour=17, minute=46))  # the next run the same day
        channel(db, "marketing", "slack")  # a channel added since: still not a second one
        assert digests.send_due(db.uow()) == []
        with relay_for(db, env=ENV) as relay:
            assert relay.drain().claimed == 0

    *_, body = _bodies(rx)
    assert len(rx.requests) == 2 and body["event"] == "digest.daily"
    assert body["subject"] == (f"Your mktflow digest {monday.date()}: 1 overdue, 1 due soon, "
                               "0 open, 2 changes")
    (digest,) = rows(db, event="digest.daily")
    assert (digest.channel_id, digest.status, body["id"]) == (hook.id, "sent", digest.id)
    assert rx.keys()[-1] == digest.id  # its Idempotency-Key: the member, the day, the channel
    text = body["text"]
    assert f"Overdue (1)\n- W-{late.id} Fair booth plan" in text
    assert f"Due soon (1)\n- W-{soon.id} Brochure copy" in text
    assert f"{links_api}/work/{late.id}" in text and f"{links_api}/my-work" in text
    assert "Changes held for this digest (2)" in text
    assert [m.status for m in rows(db, recipient_email=OLGA, event="work.created")] == [
        "digested", "digested"]


def test_the_digest_goes_by_e_mail_through_the_members_own_channel(
        db: Any, clock: Any, links_api: str) -> None:
    from mktflow.notify.senders import SmtpMailer
    from mktflow.notify.testing import SmtpReceiver

    monday = _monday(clock)
    channel(db, "marketing")  # the department's, not used: she has her own
    channel(db, "marketing", "email", to="olga.home@example.com", member=OLGA)
    digests.set_choice(db.uow(), OLGA, mode="daily", at="09:00")
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Sample order", assignee=OLGA)
    clock.set(monday.replace(hour=9, minute=10))
    assert [w["member"] for w in digests.send_due(db.uow())] == [OLGA]
    with SmtpReceiver() as smtp:
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=5)
        with relay_for(db, env=ENV, mailer=mailer) as relay:
            assert relay.drain().sent == 1
    (mail,) = smtp.mails
    (row,) = rows(db, event="digest.daily")
    assert mail.rcpt_tos == ["olga.home@example.com"]
    assert mail.message["Idempotency-Key"] == row.id
    assert str(mail.message["Subject"]).strip() == (
        f"Your mktflow digest {monday.date()}: 0 overdue, 0 due soon, 1 open, 1 change")
    body = mail.message.get_content().replace("\r\n", "\n")  # as sent: CRLF lines
    assert f"Open (1)\n- W-{item.id} Sample order (claimed): {links_api}/work/{item.id}" in body


def test_no_digest_on_a_day_off_and_a_head_gets_the_departments_part(
        db: Any, clock: Any) -> None:
    monday = _monday(clock)
    channel(db, "marketing")
    digests.set_choice(db.uow(), HEAD, mode="daily", at="09:00")
    work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                          title="Fair booth plan", assignee=OLGA,
                          due_at=monday + timedelta(hours=3))
    handoffs.offer(db.uow(), actor_email=HEAD, from_department="marketing",
                   to_department="tech", title="Prototype", due_at=monday + timedelta(days=9))
    clock.set(monday - timedelta(days=1) + timedelta(hours=4))  # Sunday noon
    assert digests.send_due(db.uow()) == []
    clock.set(monday + timedelta(hours=4))  # Monday noon: overdue since 11:00
    (written,) = digests.send_due(db.uow())
    assert written["member"] == HEAD and written["entries"] == 1  # her handoff
    (row,) = rows(db, event="digest.daily")
    part = row.payload["digest"]["department"]
    assert part["counts"] == {"overdue": 1, "due soon": 0, "open": 1, "unassigned": 0}
    olga = next(m for m in part["by_member"] if m["email"] == OLGA)
    assert (olga["held"], olga["overdue"]) == (1, 1)  # who holds what
    assert [e["ref"][:2] for e in part["entries"]] == ["W-", "H-"]


def test_going_back_to_each_sends_the_held_notices_and_bad_input_names_the_field(
        db: Any, clock: Any) -> None:
    _monday(clock)
    channel(db, "tech")
    digests.set_choice(db.uow(), TOM, mode="daily", at="16:00")
    work.create_work_item(db.uow(), actor_email="hana.kim@example.com", department="tech",
                          title="Spec review", assignee=TOM)
    assert [m.status for m in rows(db, recipient_email=TOM)] == ["held"]
    with pytest.raises(BadInput, match=r"^at: '25:00' is not a time of day"):
        digests.set_choice(db.uow(), TOM, mode="each", at="25:00")
    assert digests.show_choice(db.uow(), TOM).mode == "daily"  # nothing half-written
    assert [m.status for m in rows(db, recipient_email=TOM)] == ["held"]
    assert digests.set_choice(db.uow(), TOM, mode="each", at="16:00").mode == "each"
    assert [m.status for m in rows(db, recipient_email=TOM)] == ["pending"]
    assert digests.send_due(db.uow()) == []
