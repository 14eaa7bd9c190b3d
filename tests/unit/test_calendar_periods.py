"""The campaign calendar's periods (``mktflow.domain.campaign_calendar``): months and quarters
across a year's end, the default month, the feed's window, and the words for a period that is
none. Years count from the clock (next year), so no date here can pass."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mktflow.domain import clock
from mktflow.domain.campaign_calendar import (
    FEED_DAYS_AHEAD,
    FEED_DAYS_BACK,
    feed_window,
    period_of,
)
from mktflow.domain.errors import BadInput

Y = clock.today().year + 1


def test_months_and_quarters_cross_the_year_end() -> None:
    today = date(Y, 3, 14)
    december = period_of(month=f"{Y}-12", today=today)
    assert (december.start, december.end, december.previous, december.next) == (
        date(Y, 12, 1), date(Y + 1, 1, 1), f"{Y}-11", f"{Y + 1}-01")
    assert len(december.days()) == 31
    first = period_of(quarter=f"{Y}-q1", today=today)
    assert (first.label, first.start, first.end, first.previous, first.next) == (
        f"{Y}-Q1", date(Y, 1, 1), date(Y, 4, 1), f"{Y - 1}-Q4", f"{Y}-Q2")
    assert period_of(today=today).label == f"{Y}-03"
    assert feed_window(today) == (today - timedelta(days=FEED_DAYS_BACK),
                                  today + timedelta(days=FEED_DAYS_AHEAD + 1))


@pytest.mark.parametrize(("asked", "words"), [
    ({"month": f"{Y}-13"}, f"month: '{Y}-13' is not a month (YYYY-MM"),
    ({"month": f"{Y}-5"}, "month: "),
    ({"month": "9999-12"}, "month: "),
    ({"quarter": f"{Y}-Q0"}, "quarter: "),
    ({"quarter": f"{Y}-05"}, "quarter: "),
    ({"month": f"{Y}-05", "quarter": f"{Y}-Q2"}, "not both"),
])
def test_a_period_that_is_none_is_refused_naming_the_field(asked: dict[str, str],
                                                           words: str) -> None:
    with pytest.raises(BadInput, match=words.replace("(", r"\(")):
        period_of(today=clock.today(), **asked)  # type: ignore[arg-type]


def test_a_feed_url_passes_the_shared_token_check_as_the_pages_do() -> None:
    """A calendar client sends no header: in SSO-proxy mode the feed passes the shared-token
    middleware (its secret proves it), and so do the calendar page's GET and form posts."""
    from mktflow.web import is_page_request

    form = "application/x-www-form-urlencoded"
    assert is_page_request("GET", "/calendar/cal_abc.ics", None, None, False)
    assert is_page_request("GET", "/calendar", "text/html", None, True)
    assert is_page_request("POST", "/calendar", "text/html", form, True)
    assert not is_page_request("GET", "/calendar", "application/json", None, False)
    assert not is_page_request("POST", "/calendar/feeds", "application/json",
                               "application/json", False)
