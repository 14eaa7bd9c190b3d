"""The rules of the work reports upward (``mktflow.domain.work_reports``; seed 001,
市场部管理制度 4): the set form, periods, when a report is due, who owes one, the missing,
what a weekly report gathers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mktflow.domain.calendars import WorkingCalendar
from mktflow.domain.clock import FrozenClock
from mktflow.domain.errors import BadInput
from mktflow.domain.work_reports import (
    GATHERED_MAX,
    TEXT_MAX,
    DailyEntry,
    ReportKind,
    check_texts,
    default_working_day,
    gather,
    missing,
    owes_reports,
    parse_period,
    period_label,
    period_span,
    previous_working_day,
    report_due,
)


def a_monday(clock: FrozenClock) -> date:
    today = clock.today()
    return today + timedelta(days=7 - today.weekday())


def test_the_set_form_strips_and_refuses_naming_the_field() -> None:
    assert check_texts("  did it \n", None, "next\tstep") == ("did it", "", "next\tstep")
    with pytest.raises(BadInput, match=r"^done: must not be empty"):
        check_texts(" \n ", "x", "y")
    with pytest.raises(BadInput, match=rf"^problems: must be at most {TEXT_MAX} characters"):
        check_texts("x", "p" * (TEXT_MAX + 1), "")
    with pytest.raises(BadInput, match=r"^next: must not contain a control character"):
        check_texts("x", "", "a\x07b")


def test_periods_and_their_names(clock: FrozenClock) -> None:
    monday = a_monday(clock)
    wednesday = monday + timedelta(days=2)
    year, week, _ = monday.isocalendar()
    assert parse_period(ReportKind.WEEKLY, wednesday.isoformat(), wednesday) == monday
    assert parse_period("weekly", f"{year}-W{week:02d}", wednesday) == monday
    assert parse_period("daily", None, wednesday) == wednesday
    first = wednesday.replace(day=1)
    assert parse_period("monthly", f"{first:%Y-%m}", wednesday) == first
    assert period_label(ReportKind.WEEKLY, monday) == f"{year}-W{week:02d}"
    assert period_label(ReportKind.MONTHLY, first) == f"{first:%Y-%m}"
    assert period_span(ReportKind.WEEKLY, wednesday) == (monday, monday + timedelta(days=7))
    december = date(monday.year, 12, 9)
    assert period_span(ReportKind.MONTHLY, december) == (date(monday.year, 12, 1),
                                                         date(monday.year + 1, 1, 1))
    with pytest.raises(BadInput, match=r"^period: '2026-13' is not a monthly period"):
        parse_period("monthly", "2026-13", wednesday)
    with pytest.raises(BadInput, match=r"^kind: 'hourly' is not a report kind"):
        parse_period("hourly", None, wednesday)


def test_due_at_the_end_of_the_working_day_in_the_members_calendar(clock: FrozenClock) -> None:
    monday = a_monday(clock)
    assert report_due(default_working_day("UTC"), monday) == datetime.combine(
        monday, datetime.min.time(), tzinfo=UTC) + timedelta(hours=18)
    shanghai = WorkingCalendar(label="hq, CN", zone="Asia/Shanghai", start=9 * 60,
                               end=17 * 60 + 30)
    assert report_due(shanghai, monday).isoformat() == f"{monday.isoformat()}T09:30:00+00:00"
    madrid = default_working_day("Europe/Madrid")
    assert report_due(madrid, monday).hour in (16, 17)  # 18:00 local, summer or winter


def test_who_owes_a_report_and_on_which_days(clock: FrozenClock) -> None:
    assert owes_reports("marketing", "specialist", True)
    assert owes_reports("sales", "deputy", True)
    assert not owes_reports("marketing", "head", True)
    assert not owes_reports("management", "deputy", True)
    assert not owes_reports("marketing", "specialist", False)
    monday = a_monday(clock)
    week = default_working_day("UTC")
    assert previous_working_day(week, monday) == monday - timedelta(days=3)  # Friday
    assert previous_working_day(week, monday + timedelta(days=1)) == monday
    holiday = WorkingCalendar(label="x", days_off={monday - timedelta(days=3): "company day"})
    assert previous_working_day(holiday, monday) == monday - timedelta(days=4)
    assert not week.is_working_day(monday - timedelta(days=1))  # Sunday owes none
    assert missing(["b@x", "a@x", "c@x"], ["c@x"]) == ["a@x", "b@x"]


def test_a_week_gathers_the_days_in_order_and_is_cut_when_too_long(clock: FrozenClock) -> None:
    monday = a_monday(clock)
    tuesday = monday + timedelta(days=1)
    done, problems, nxt = gather([DailyEntry(tuesday, "T", "", "Wed plan"),
                                  DailyEntry(monday, "M", "rain", "Tue plan")])
    assert done == f"{monday:%a %d %b}: M\n{tuesday:%a %d %b}: T"
    assert (problems, nxt) == (f"{monday:%a %d %b}: rain", "Wed plan")
    many = [DailyEntry(monday + timedelta(days=i), "x" * TEXT_MAX, "", "") for i in range(20)]
    long_done = gather(many)[0]
    assert len(long_done) == GATHERED_MAX and long_done.endswith("read the daily reports "
                                                                 "for the rest)")
    with pytest.raises(BadInput, match=r"^period: no daily report to gather"):
        gather([])
