"""Working calendars and due times in working time (issue 25): the arithmetic, the grammar,
and the organisation file's calendar rules.

The dates are frozen at years whose facts the ``holidays`` library (0.108) knows: China's
National Day 2022 (1-7 Oct off, Sat 8 and Sun 9 Oct make-up working days; Fri 30 Sep the
Friday before) and the Comunidad de Madrid's Madrid Day 2022 (Mon 2 May). 2027's make-up days
are not published yet, so the library has none for that year.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mktflow.domain.calendars import (
    CALENDAR_HOURS,
    WorkingCalendar,
    WorkingDue,
    due_in_working_time,
    parse_due,
)
from mktflow.domain.errors import BadInput, OrganisationInvalid
from mktflow.domain.inputs import REASON_MAX
from mktflow.domain.organisation import parse_organisation
from mktflow.domain.words import Phrase, stored
from mktflow.domain.work_reports import default_working_day
from mktflow.engine.calendars import calendar_from, known_countries
from mktflow.i18n.words import in_language, said, worded

SHANGHAI = ZoneInfo("Asia/Shanghai")
MADRID = ZoneInfo("Europe/Madrid")
MOSCOW = ZoneInfo("Europe/Moscow")
UTC_ZONE = ZoneInfo("UTC")
HQ = calendar_from("hq", {"country": "CN", "time_zone": "Asia/Shanghai"})
NORTH = calendar_from("north", {"country": "ES", "subdivision": "MD",
                                "time_zone": "Europe/Madrid"})
#: The Friday before China's National Day 2022, 17:00 in Shanghai.
BEFORE_NATIONAL_DAY = datetime(2022, 9, 30, 17, 0, tzinfo=SHANGHAI)
#: The Friday before Madrid Day 2022 (Mon 2 May), 17:00 in Madrid.
BEFORE_MADRID_DAY = datetime(2022, 4, 29, 17, 0, tzinfo=MADRID)


def _due(text: str, now: datetime, calendar: WorkingCalendar) -> tuple[datetime, str]:
    due = parse_due(text)
    assert isinstance(due, WorkingDue)
    return due_in_working_time(due, now, calendar)


def test_the_library_knows_the_facts_these_tests_stand_on() -> None:
    assert not HQ.is_working_day(date(2022, 10, 3))  # National Day
    assert not HQ.is_working_day(date(2022, 10, 7))  # a day off moved by law
    assert HQ.is_working_day(date(2022, 10, 8))  # Saturday, a make-up working day
    assert HQ.is_working_day(date(2022, 10, 9))  # Sunday, too
    assert not NORTH.is_working_day(date(2022, 5, 2))  # Madrid Day, the region's
    assert calendar_from("x", {"country": "ES", "time_zone": "Europe/Madrid"}
                         ).is_working_day(date(2022, 5, 2))  # not a holiday elsewhere in Spain


def test_three_working_days_in_shanghai_skip_national_day_and_count_the_make_up_days() -> None:
    end, basis = _due("3 working days", BEFORE_NATIONAL_DAY, HQ)
    assert end.astimezone(SHANGHAI) == datetime(2022, 10, 10, 17, 0, tzinfo=SHANGHAI)
    assert basis == ("3 working days from Fri 30 Sep 2022 17:00 Asia/Shanghai (hq, CN): "
                     "skips 1-7 Oct (National Day); counts Sat 8 Oct, Sun 9 Oct (make-up "
                     "working day) → Mon 10 Oct 2022 17:00")


def _worded(basis: str, lang: str, zone: ZoneInfo | None = SHANGHAI) -> str:
    """``basis`` as a page in ``lang`` shows it after the row kept it (JSON, as stored)."""
    assert isinstance(basis, Phrase)
    return worded(json.loads(json.dumps(stored(basis))), lang, zone=zone)


#: How the Shanghai step due "3 working days" from the Friday before National Day reads in
#: each language (the page's zone: Shanghai's); the holiday as the library names it, in the
#: library's default (Chinese) where it has no such language for China.
SHANGHAI_BASIS = {
    "en": "3 working days from Fri 30 Sep 2022 17:00 Asia/Shanghai (hq, CN): skips 1-7 Oct "
          "(National Day); counts Sat 8 Oct, Sun 9 Oct (make-up working day) → Mon 10 Oct "
          "2022 17:00",
    "zh": "自 2022年9月30日 周五 17:00 CST 起 3 个工作日（日历：hq, CN，时区：Asia/Shanghai）："
          "跳过 10月1日至7日（国庆节）; 计入 10月8日周六和10月9日周日（调休上班日） → 2022年10月"
          "10日 周一 17:00 CST",
    "es": "3 días laborables desde el vie 30 sept 2022, 17:00 CST (calendario: hq, CN, zona "
          "Asia/Shanghai): omite 1–7 oct (国庆节); cuenta sáb, 8 oct y dom, 9 oct (día laborable "
          "de recuperación) → lun 10 oct 2022, 17:00 CST",
    "ru": "3 раб. дн. с пт 30 сент. 2022, 17:00 CST (календарь: hq, CN, часовой пояс "
          "Asia/Shanghai): пропуск: 1—7 окт. (国庆节); засчитано: сб, 8 окт. и вс, 9 окт. "
          "(рабочий день по переносу) → пн 10 окт. 2022, 17:00 CST",
}
#: What may stay in Latin letters in a Chinese or Russian text: codes.
CODES = ("hq", "CN", "Asia/Shanghai", "CST")


@pytest.mark.parametrize("lang", sorted(SHANGHAI_BASIS))
def test_how_a_due_time_was_counted_reads_in_each_language(lang: str) -> None:
    _end, basis = _due("3 working days", BEFORE_NATIONAL_DAY, HQ)
    assert _worded(basis, lang) == SHANGHAI_BASIS[lang]
    if lang in ("zh", "ru"):
        rest = _worded(basis, lang)
        for code in CODES:
            rest = rest.replace(code, "")
        assert re.findall(r"[A-Za-z]+", rest) == []


def test_a_long_span_sums_up_its_last_days_and_fits_its_column() -> None:
    # 999 working days from 2022 cross four years of holidays: told one by one, the English
    # explanation ran past the column's 2,000 characters (the row was refused)
    end, basis = _due("999 working days", BEFORE_NATIONAL_DAY, HQ)
    assert len(basis) <= REASON_MAX
    more = re.search(r"; and (\d+) more → (.+)$", basis)
    assert more and int(more.group(1)) > 0, basis
    assert more.group(2) == f"{end.astimezone(SHANGHAI):%a %-d %b %Y %H:%M}"
    assert re.search(r"另有 \d+ 项", _worded(basis, "zh"))


def test_the_holidays_are_named_by_the_library_in_the_readers_language() -> None:
    _end, madrid = _due("3 working days", BEFORE_MADRID_DAY, NORTH)
    assert "omite lun, 2 may (Fiesta de la Comunidad de Madrid)" in _worded(madrid, "es")
    south = calendar_from("south", {"country": "RU", "time_zone": "Europe/Moscow"})
    _end, moscow = _due("2 working days", datetime(2022, 3, 4, 17, 0, tzinfo=MOSCOW), south)
    assert _worded(moscow, "ru", MOSCOW).endswith(
        "засчитано: сб, 5 мар. (рабочий день, перенесённый по закону); пропуск: 7—8 мар. "
        "(Международный женский день) → ср 9 мар. 2022, 17:00 MSK")
    assert "跳过 3月7日至8日（国际妇女节）" in _worded(moscow, "zh")  # the library has Chinese
    assert "(International Women's Day)" in _worded(moscow, "en")


def test_the_moments_are_in_the_readers_zone_and_the_calendars_stay_named() -> None:
    _end, basis = _due("2 working hours", BEFORE_NATIONAL_DAY + timedelta(hours=2), HQ)
    shown = _worded(basis, "es", MADRID)
    assert shown.startswith("2 horas laborables desde el vie 30 sept 2022, 13:00 CEST "
                            "(calendario: hq, CN, zona Asia/Shanghai), contados desde el sáb 8 "
                            "oct 2022, 03:00 CEST: omite")
    assert shown.endswith("→ sáb 8 oct 2022, 05:00 CEST")
    assert _worded(basis, "zh", None).startswith(  # no reader's zone: the calendar's
        "自 2022年9月30日 周五 19:00 CST 起 2 个工作小时")


def test_the_default_calendars_labels_are_messages() -> None:
    _end, basis = _due("1 working day", datetime(2022, 3, 4, 17, 0, tzinfo=UTC), CALENDAR_HOURS)
    assert basis == ("1 working day from Fri 4 Mar 2022 17:00 UTC (calendar hours) → Sat 5 Mar "
                     "2022 17:00")
    assert _worded(basis, "ru", UTC_ZONE) == (
        "1 рабочий день с пт 4 мар. 2022, 17:00 UTC (календарь: круглосуточно, часовой пояс "
        "UTC) → сб 5 мар. 2022, 17:00 UTC")
    default = default_working_day("Europe/Madrid")
    assert default.label == "default working day, Europe/Madrid"
    assert in_language(default.label, "zh") == "默认工作日，Europe/Madrid"
    assert in_language(default.label, "es") == "jornada laboral por defecto, Europe/Madrid"


def test_an_explanation_without_its_message_reads_as_written() -> None:
    row = {"due_basis": SHANGHAI_BASIS["en"], "words": None}
    assert said(row, "due_basis", "zh", zone=MADRID) == SHANGHAI_BASIS["en"]


def test_three_working_days_in_madrid_skip_the_regional_holiday() -> None:
    end, basis = _due("3 working days", BEFORE_MADRID_DAY, NORTH)
    assert end.astimezone(MADRID) == datetime(2022, 5, 5, 17, 0, tzinfo=MADRID)
    assert "skips Mon 2 May (Madrid Day)" in basis
    assert "Sun 1 May" not in basis  # Labour Day on a Sunday skips nothing


def test_two_working_days_in_moscow_count_the_transferred_saturday() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    south = calendar_from("south", {"country": "RU", "time_zone": "Europe/Moscow"})
    end, basis = _due("2 working days", datetime(2022, 3, 4, 17, 0, tzinfo=moscow), south)
    # Fri 17:00-18:00, Sat 5 Mar (worked by law), Mon 7 and Tue 8 Mar off, Wed 9 Mar 09:00-17:00
    assert end.astimezone(moscow) == datetime(2022, 3, 9, 17, 0, tzinfo=moscow)
    assert basis.endswith(": counts Sat 5 Mar (working day moved by law); skips 7-8 Mar "
                          "(International Women's Day) → Wed 9 Mar 2022 17:00")


def test_working_hours_and_the_end_of_the_working_day() -> None:
    end, _ = _due("2 working hours", BEFORE_NATIONAL_DAY, HQ)
    assert end.astimezone(SHANGHAI) == datetime(2022, 10, 8, 10, 0, tzinfo=SHANGHAI)
    end, _ = _due("end of the working day", BEFORE_NATIONAL_DAY, HQ)
    assert end.astimezone(SHANGHAI) == datetime(2022, 9, 30, 18, 0, tzinfo=SHANGHAI)
    evening = BEFORE_NATIONAL_DAY + timedelta(hours=3)  # after hours: the next working day's
    end, _ = _due("by end of the working day", evening, HQ)
    assert end.astimezone(SHANGHAI) == datetime(2022, 10, 8, 18, 0, tzinfo=SHANGHAI)


def test_counting_starts_at_the_next_working_hour_when_given_after_hours() -> None:
    evening = datetime(2022, 9, 30, 20, 0, tzinfo=SHANGHAI)
    end, basis = _due("1 working day", evening, HQ)
    assert end.astimezone(SHANGHAI) == datetime(2022, 10, 8, 18, 0, tzinfo=SHANGHAI)
    assert ", counted from Sat 8 Oct 09:00" in basis
    assert HQ.next_working_moment(evening) == datetime(2022, 10, 8, 1, 0, tzinfo=UTC)
    assert not HQ.is_working_moment(evening)


def test_working_time_between_counts_only_working_hours() -> None:
    due = datetime(2022, 9, 30, 18, 0, tzinfo=SHANGHAI)
    later = datetime(2022, 10, 10, 12, 0, tzinfo=SHANGHAI)
    # Sat 8 and Sun 9 Oct (9 h each) and Mon 10 Oct 09:00-12:00
    assert HQ.working_time_between(due, later) == timedelta(hours=21)
    assert HQ.working_time_between(later, due) == timedelta(0)


def test_calendar_hours_count_every_hour() -> None:
    now = datetime(2022, 9, 30, 9, 0, tzinfo=UTC)
    end, basis = _due("3 working days", now, CALENDAR_HOURS)
    assert end == now + timedelta(days=3)
    assert basis == "3 working days from Fri 30 Sep 2022 09:00 UTC (calendar hours) → " \
                    "Mon 3 Oct 2022 09:00"
    assert _due("end of the working day", now, CALENDAR_HOURS)[0] == datetime(
        2022, 10, 1, tzinfo=UTC)
    assert CALENDAR_HOURS.working_time_between(now, end) == timedelta(days=3)


class _Book:
    """A fake holiday book: one holiday and one moved working day."""

    def day_off(self, day: date) -> str | None:
        return "Founders' Day" if day == date(2030, 1, 7) else None

    def moved_working_day(self, day: date) -> str | None:
        return "moved Saturday" if day == date(2030, 1, 12) else None


def test_company_days_and_hours_override_the_book() -> None:
    calendar = WorkingCalendar(
        label="test", zone="UTC", start=8 * 60, end=16 * 60, book=_Book(),
        days_off={date(2030, 1, 8): "Company retreat"},
        working_days={date(2030, 1, 7): "Stocktaking"})
    monday = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # the book's holiday, worked by the company
    end, basis = due_in_working_time(WorkingDue("day", 3), monday, calendar)
    # Mon 7 (worked), Tue 8 off, Wed 9, Thu 10: three 8-hour days end Thu 16:00
    assert end == datetime(2030, 1, 10, 16, 0, tzinfo=UTC)
    assert "skips Tue 8 Jan (Company retreat)" in basis
    assert "counts Mon 7 Jan (Stocktaking)" in basis  # worked on the book's holiday
    assert calendar.is_working_day(date(2030, 1, 12))  # the book's moved Saturday


@pytest.mark.parametrize("text", ["3 working days", "3 Working Days", " in 3  working days ",
                                  "within 3 working days"])
def test_working_days_grammar(text: str) -> None:
    assert parse_due(text) == WorkingDue("day", 3)


def test_the_rest_of_the_grammar() -> None:
    assert parse_due("1 working hour") == WorkingDue("hour", 1)
    assert parse_due("2 working hours") == WorkingDue("hour", 2)
    for text in ("end of the working day", "by end of the working day", "EOD",
                 "by the end of working day"):
        assert parse_due(text) == WorkingDue("end-of-day"), text
    assert parse_due("2026-12-01T17:00+01:00") == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert parse_due(None) is None


@pytest.mark.parametrize(("text", "says"), [
    ("3 working weeks", "is not a due time; give an ISO 8601 time"),
    ("0 working days", "working days must be between 1 and 999"),
    ("10000 working hours", "working hours must be between 1 and 9999"),
    ("tomorrow", "'3 working days', '2 working hours', 'end of the working day'"),
])
def test_refusals_name_the_field_and_the_grammar(text: str, says: str) -> None:
    with pytest.raises(BadInput) as refused:
        parse_due(text, field="due")
    assert str(refused.value).startswith("due: ")
    assert says in str(refused.value)


def _org(calendar: object) -> dict[str, object]:
    return {
        "branches": [{"code": "hq", "name": "HQ", "hq": True, "calendar": calendar}],
        "departments": [{"code": c, "name": c} for c in (
            "marketing", "sales", "tech", "production", "supply", "finance", "management")],
        "members": [{"name": c, "email": f"{c}@example.com", "department": c, "branch": "hq",
                     "role": "head"} for c in ("marketing", "sales", "tech", "production",
                                               "supply", "finance", "management")],
    }


def _problems(calendar: object) -> list[str]:
    with pytest.raises(OrganisationInvalid) as refused:
        parse_organisation(_org(calendar), "org.yaml", countries=known_countries())
    return list(refused.value.problems)


def test_a_branch_calendar_in_the_organisation_file() -> None:
    spec = parse_organisation(_org({
        "country": "ES", "subdivision": "MD", "time_zone": "Europe/Madrid",
        "week": ["mon", "tue", "wed", "thu", "fri"], "hours": {"start": "08:30", "end": "17:30"},
        "days_off": [{"date": "2022-12-24", "name": "Christmas Eve"}],
        "working_days": [{"date": "2022-12-31"}]}), "org.yaml", countries=known_countries())
    calendar = spec.branches[0].calendar
    assert calendar is not None and calendar.subdivision == "MD"
    built = calendar_from("hq", calendar.model_dump(mode="json", exclude_defaults=True))
    assert (built.start, built.end, built.zone) == (510, 1050, "Europe/Madrid")
    assert not built.is_working_day(date(2022, 12, 24))
    assert built.is_working_day(date(2022, 12, 31))  # a Saturday the company works


@pytest.mark.parametrize(("calendar", "problem"), [
    ({"country": "CN"}, "calendar.time_zone: a branch with a country needs its IANA time zone"),
    ({"country": "XX", "time_zone": "UTC"}, "calendar.country: 'XX' is not a country"),
    ({"country": "ES", "subdivision": "ZZ", "time_zone": "Europe/Madrid"},
     "calendar.subdivision: 'ZZ' is not a region of ES"),
    ({"subdivision": "MD"}, "calendar.subdivision: a region needs its country"),
    ({"time_zone": "Mars/Olympus"}, "calendar.time_zone: 'Mars/Olympus' is not an IANA time zone"),
    ({"hours": {"start": "18:00", "end": "09:00"}},
     "calendar.hours: the end (09:00) must be after the start (18:00)"),
    ({"hours": {"start": "9am"}}, "calendar.hours.start: '9am' is not a time of day"),
    ({"week": ["mon", "funday"]}, "calendar.week: 'funday' not a weekday"),
    ({"days_off": [{"date": "2022-12-31"}], "working_days": [{"date": "2022-12-31"}]},
     "calendar.days_off: 2022-12-31 is also in working_days"),
])
def test_calendar_refusals_name_the_branch_the_field_and_the_rule(
        calendar: dict[str, object], problem: str) -> None:
    problems = _problems(calendar)
    assert len(problems) == 1, problems
    assert problems[0].startswith("org.yaml: branches[0] (hq): ")
    assert problem in problems[0]


def test_an_unknown_calendar_key_is_refused_by_name() -> None:
    problems = _problems({"country": "CN", "time_zone": "Asia/Shanghai", "holidays": "all"})
    assert any("holidays" in p and "calendar" in p for p in problems), problems


def test_the_guide_example_calendars_keep_every_rule() -> None:
    import re
    from pathlib import Path

    import yaml

    from mktflow.domain.organisation import CalendarSpec, calendar_problems

    guide = Path(__file__).parents[2] / "docs" / "guide" / "working-calendars.md"
    example = re.search(r"```yaml\n(.*?)```", guide.read_text("utf-8"), re.S)
    assert example is not None
    branches = yaml.safe_load(example.group(1))["branches"]
    assert [b["calendar"].get("country") for b in branches] == ["CN", "ES", "RU"]
    for b in branches:
        assert calendar_problems(CalendarSpec.model_validate(b["calendar"]),
                                 known_countries()) == [], b["code"]


def test_flow_parameters_take_working_time_only() -> None:
    from datetime import timedelta

    from pydantic import TypeAdapter, ValidationError

    from mktflow.prefect.steps import WorkingTime, due_arguments, step_due

    adapter = TypeAdapter(WorkingTime)
    assert adapter.validate_python("3 working days") == "3 working days"
    with pytest.raises(ValidationError, match="is a time; give working time"):
        adapter.validate_python("2030-01-01")
    assert step_due(72, None) == timedelta(hours=72)
    assert step_due(72, "end of the working day") == "end of the working day"
    assert due_arguments("2 working hours") == {"due_in_hours": None,
                                                "due_working": "2 working hours"}
    assert due_arguments(timedelta(hours=3)) == {"due_in_hours": 3.0, "due_working": None}
