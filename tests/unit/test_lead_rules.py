"""The lead rules without a database: fields, outcomes, the transition table, the funnel
(seed 001, 市场营销部 工作流程 1.(2))."""

from __future__ import annotations

import pytest

from mktflow.domain.errors import BadInput, TransitionRefused
from mktflow.domain.leads import (
    FUNNEL_KPIS,
    LEAD_RULES,
    LeadOutcome,
    check_outcome,
    funnel,
    lead_problems,
    lead_rule,
)
from mktflow.domain.model import Party


def test_a_lead_names_company_contact_and_channel_on_one_line_each() -> None:
    assert lead_problems({"company": "Acme", "contact": "x@acme.example", "channel": "fair",
                          "notes": "two\nlines"}) == []
    assert lead_problems({"company": " ", "contact": "a\nb", "channel": "c" * 65,
                          "colour": "red"}) == [
        ("colour", "unknown field (the fields are: company, contact, channel, campaign, "
                   "region, notes, owner)"),
        ("company", "must not be empty"),
        ("contact", "must not contain a line break (this field is a single line)"),
        ("channel", "must be at most 64 characters, got 65"),
    ]


@pytest.mark.parametrize(("data", "field"), [
    (None, "outcome"), ({"outcome": "maybe"}, "outcome"), ({"outcome": "won"}, "order"),
    ({"outcome": "won", "order": "a\nb"}, "order"), ({"outcome": "lost"}, "reason"),
    ({"outcome": "lost", "reason": "x" * 2001}, "reason"),
])
def test_an_outcome_names_what_it_lacks(data: dict[str, str] | None, field: str) -> None:
    with pytest.raises(BadInput, match=f"^{field}: "):
        check_outcome(data)


def test_a_sound_outcome() -> None:
    assert check_outcome({"outcome": "Won", "order": " SO-1 "}) == (LeadOutcome.WON, "SO-1", None)
    assert check_outcome({"outcome": "lost", "reason": "price"}) == (
        LeadOutcome.LOST, None, "price")


def test_the_table_gives_marketing_the_lead_and_sales_the_outcome() -> None:
    who = {r.action: r.who for r in LEAD_RULES}
    assert who["gather"] == who["qualify"] == who["disqualify"] == (Party.MEMBER,)
    assert who["win"] == who["lose"] == (Party.RECEIVING,)
    assert who["reopen"] == (Party.OFFERING,)
    assert lead_rule("qualify", "gathered", ref="L-1").target == "qualified"
    with pytest.raises(TransitionRefused, match="cannot qualify lead L-1: it is won, and "
                                                "qualify is allowed only when gathered"):
        lead_rule("qualify", "won", ref="L-1")
    assert lead_rule("lose", "qualified", ref="L-1").needs_reason


def test_the_funnel_counts_each_stage_and_its_conversions() -> None:
    rows = [
        {"campaign": "C1", "channel": "fair", "state": "won", "accepted": True,
         "rejected": False},
        {"campaign": "C1", "channel": "web", "state": "qualified", "accepted": False,
         "rejected": True},
        {"campaign": "C1", "channel": "web", "state": "disqualified", "accepted": False,
         "rejected": False},
        {"campaign": None, "channel": "web", "state": "gathered", "accepted": False,
         "rejected": False},
    ]
    by_campaign = funnel(rows, by="campaign")
    assert list(by_campaign) == ["", "C1"]
    c1 = by_campaign["C1"].as_dict()
    assert {k: c1[k] for k in ("gathered", "qualified", "accepted", "won", "disqualified",
                               "rejected", "lost")} == {
        "gathered": 3, "qualified": 2, "accepted": 1, "won": 1, "disqualified": 1,
        "rejected": 1, "lost": 0}
    assert c1["rates"] == {"qualified": 0.6667, "accepted": 0.5, "won": 1.0, "overall": 0.3333}
    assert by_campaign[""].as_dict()["rates"]["accepted"] is None  # nothing qualified
    assert set(FUNNEL_KPIS.values()) == {"gathered", "qualified", "accepted", "won"}
