"""The planning meetings' rules (seed 001, 市场营销部 工作流程 1.(1) A): which period names which
meeting, when minutes may be sent, who they go to, and a decision's state from its work."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mktflow.domain import clock
from mktflow.domain.errors import BadInput
from mktflow.domain.meetings import (
    Decision,
    decision_state,
    decisions_of,
    meeting_kind,
    minutes_problems,
    recipients,
)

TODAY = clock.today()  # passed to the rules as today: any day will do
MEMBERS: dict[str, str | None] = {"olga@x.example": "marketing", "tom@x.example": "tech",
                                  "gone@x.example": None}
DEPARTMENTS = {"marketing", "tech", "sales", "management"}


def _minutes(**changes: object) -> dict[str, object]:
    decision = {"text": "Book the fair", "owner": "olga@x.example",
                "due": (TODAY + timedelta(days=7)).isoformat(), "departments": ["sales"]}
    return {"held_on": TODAY.isoformat(), "decisions": [decision], **changes}


def _problems(data: dict[str, object]) -> list[tuple[str, str]]:
    return minutes_problems(data, today=TODAY, members=MEMBERS, departments=DEPARTMENTS)


def test_a_quarter_names_the_quarterly_meeting_and_a_year_the_annual_one() -> None:
    assert meeting_kind("2027-Q1") == "quarterly" and meeting_kind(" 2027 ") == "annual"
    for bad in ("2027-11", "2027-H1", "Q1", "2027-Q5"):
        with pytest.raises(BadInput, match=r"^period: .* is no meeting period \(a quarter"):
            meeting_kind(bad)


def test_minutes_that_pass_and_each_broken_rule_named_by_its_field() -> None:
    assert _problems(_minutes()) == []
    later = (TODAY + timedelta(days=1)).isoformat()
    assert _problems(_minutes(held_on=later)) == [
        ("held_on", f"{later} is after today ({TODAY.isoformat()}): minutes are of a meeting "
                    "held")]
    assert _problems(_minutes(decisions=[])) == [
        ("decisions", "the minutes record at least one decision")]
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    bad = {"text": " ", "owner": "gone@x.example", "due": yesterday, "departments": ["moon"]}
    assert _problems(_minutes(held_on=yesterday, decisions=[bad])) == [
        ("decisions.0.text", "must say what was decided"),
        ("decisions.0.owner", "gone@x.example is not an active member"),
        ("decisions.0.due", f"{yesterday} has passed (today is {TODAY.isoformat()})"),
        ("decisions.0.departments", "unknown department 'moon'")]
    early = {"text": "x", "owner": "tom@x.example", "due": "2000-01-01", "departments": []}
    assert _problems(_minutes(decisions=[early])) == [
        ("decisions.0.due", f"2000-01-01 is before the meeting ({TODAY.isoformat()})")]


def test_the_minutes_go_to_management_and_every_department_named_with_the_owners() -> None:
    made = decisions_of(_minutes(decisions=[
        {"text": "a", "owner": "olga@x.example", "due": TODAY.isoformat(),
         "departments": ["sales"]},
        {"text": "b", "owner": "Tom@x.example", "due": TODAY.isoformat(), "departments": []}]),
        MEMBERS)
    assert made[1] == Decision("b", "tom@x.example", TODAY, ("tech",))
    assert made[0].departments == ("sales", "marketing")
    assert recipients(made) == ["management", "sales", "tech"]  # marketing holds the meeting


def test_a_decision_is_done_when_its_work_is_or_its_handoff_is_confirmed() -> None:
    assert [decision_state("work", s) for s in ("open", "claimed", "done", "cancelled")] == [
        "open", "in hand", "done", "dropped"]
    assert [decision_state("handoff", s) for s in (
        "offered", "accepted", "delivered", "returned", "confirmed", "rejected")] == [
        "open", "in hand", "in hand", "in hand", "done", "dropped"]
