"""The daily digest's rules (``mktflow.domain.digests``) and its text (``notify.render``):
due at the chosen time in the member's zone, on working days only; one id per member per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mktflow.domain.calendars import WorkingCalendar
from mktflow.domain.digests import (
    DigestMode,
    digest_day,
    digest_id,
    digest_mode,
    due_soon_until,
    format_at,
    parse_at,
)
from mktflow.domain.errors import BadInput
from mktflow.notify.render import Envelope, email_message, slack_payload, text_of

#: A branch in Madrid (UTC+1 in December) working Monday to Friday, with a company day off.
MADRID = WorkingCalendar(label="es", zone="Europe/Madrid",
                         days_off={date(2026, 12, 8): "Inmaculada Concepción"})
MONDAY = date(2026, 12, 7)  # a Monday; the 8th is the company's day off


def _at(day: date, hh: int, mm: int, zone: str = "Europe/Madrid") -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo(zone))


def test_the_digest_is_due_from_the_chosen_time_in_the_members_zone() -> None:
    at = parse_at("17:30")
    assert digest_day(MADRID, at, _at(MONDAY, 17, 29)) is None
    assert digest_day(MADRID, at, _at(MONDAY, 17, 30)) == MONDAY
    assert digest_day(MADRID, at, _at(MONDAY, 23, 59)) == MONDAY
    # 16:30 UTC is 17:30 in Madrid: the member's zone counts, not UTC's
    assert digest_day(MADRID, at, datetime(2026, 12, 7, 16, 30, tzinfo=UTC)) == MONDAY
    assert digest_day(MADRID, at, datetime(2026, 12, 7, 16, 29, tzinfo=UTC)) is None
    # 23:30 UTC on Monday is already Tuesday 00:30 in Madrid: before Tuesday's time
    assert digest_day(MADRID, parse_at("08:00"),
                      datetime(2026, 12, 7, 23, 30, tzinfo=UTC)) is None


def test_no_digest_on_a_weekend_or_a_day_off() -> None:
    at = parse_at("09:00")
    assert digest_day(MADRID, at, _at(MONDAY + timedelta(days=1), 12, 0)) is None  # day off
    assert digest_day(MADRID, at, _at(MONDAY + timedelta(days=5), 12, 0)) is None  # Saturday
    assert digest_day(MADRID, at, _at(MONDAY + timedelta(days=2), 12, 0)) == date(2026, 12, 9)


def test_due_soon_reaches_to_the_end_of_the_next_working_day() -> None:
    friday = date(2026, 12, 11)
    # Friday's digest counts what is due by Monday 18:00 Madrid (17:00 UTC)
    assert due_soon_until(MADRID, friday) == datetime(2026, 12, 14, 17, 0, tzinfo=UTC)
    # Monday's skips Tuesday's day off: Wednesday's end
    assert due_soon_until(MADRID, MONDAY) == datetime(2026, 12, 9, 17, 0, tzinfo=UTC)


def test_a_time_and_a_mode_are_checked_naming_the_field() -> None:
    assert (parse_at(None), parse_at(""), parse_at(" 7:05 ")) == (17 * 60, 17 * 60, 425)
    assert format_at(425) == "07:05"
    for bad in ("24:00", "7.30", "12:60", "noon"):
        with pytest.raises(BadInput, match=r"^at: .* is not a time of day \(HH:MM"):
            parse_at(bad)
    assert digest_mode(" Daily ") is DigestMode.DAILY
    with pytest.raises(BadInput, match=r"^mode: 'weekly' is not a digest mode"):
        digest_mode("weekly")


def test_one_id_per_member_day_and_channel() -> None:
    first = digest_id("Olga@example.com", MONDAY, 3)
    assert first == digest_id("olga@example.com", MONDAY, 3)  # the same every run
    assert first != digest_id("olga@example.com", MONDAY + timedelta(days=1), 3)
    assert first != digest_id("olga@example.com", MONDAY, 4)
    assert first.startswith("digest-20261207-") and len(first) <= 64


def _digest_envelope() -> Envelope:
    entry = {"ref": "W-12", "kind": "work", "title": "Campaign plan", "state": "claimed",
             "band": "overdue", "due": "2026-12-04T17:00:00Z", "department": "marketing",
             "holder": "olga@example.com", "link": "http://mktflow.test/work/12"}
    digest = {"member": "ana@example.com", "day": "2026-12-07", "zone": "Europe/Madrid",
              "counts": {"overdue": 1, "due soon": 0, "open": 0, "changes": 1},
              "entries": [entry],
              "changes": [{"ref": "W-12", "subject": "W-12 assigned to ana: Campaign plan",
                           "at": "2026-12-07T09:00:00Z", "link": "http://mktflow.test/work/12"}],
              "department": {"department": "marketing",
                             "counts": {"overdue": 1, "due soon": 0, "open": 0,
                                        "unassigned": 0},
                             "entries": [entry],
                             "by_member": [{"email": "olga@example.com", "name": "Olga Petrova",
                                            "role": "member", "held": 1, "overdue": 1}]},
              "link": "http://mktflow.test/my-work"}
    return Envelope(id="digest-20261207-abc", event="digest.daily",
                    subject="Your mktflow digest 2026-12-07: 1 overdue", link=digest["link"],
                    payload={"ref": "My work", "digest": digest},
                    created_at=datetime(2026, 12, 7, 16, 0, tzinfo=UTC), attempt=1,
                    to="ana@example.com")


def test_the_digest_reads_as_text_with_a_link_to_each_item() -> None:
    text = text_of(_digest_envelope())
    assert text.splitlines()[0] == "Your mktflow digest 2026-12-07: 1 overdue"
    assert "Overdue (1)\n- W-12 Campaign plan (claimed, due 2026-12-04 17:00 UTC): " \
           "http://mktflow.test/work/12" in text
    assert "Changes held for this digest (1)" in text
    assert "Department marketing: 1 overdue" in text
    assert "- Olga Petrova: 1 held, 1 overdue" in text
    assert text.endswith("Act: http://mktflow.test/my-work")
    mail = email_message(_digest_envelope(), sender="mktflow@example.com")
    assert "http://mktflow.test/work/12" in mail.get_content()
    slack = slack_payload(_digest_envelope())["text"]
    assert slack.endswith("<http://mktflow.test/my-work|Open My work>")
