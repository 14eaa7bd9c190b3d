"""The transition tables and authorization rules, with nothing running (pure domain)."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from mktflow.domain.actors import SYSTEM, Actor, Target, authorize, head_is_away, leads_of
from mktflow.domain.errors import NotAuthorized, TransitionRefused
from mktflow.domain.model import (
    CREATION_RULES,
    HANDOFF_RULES,
    WORK_RULES,
    HandoffState,
    WorkState,
    creation_rule,
    rule_for,
)

# Written out by hand, independently of the rule tables: action -> {from-state: to-state}.
# Every pair not listed here must be refused.
EXPECTED_WORK = {
    "claim": {"open": "claimed"},
    "release": {"claimed": "open"},
    "assign": {"open": "claimed", "claimed": "claimed"},
    "reassign": {"claimed": "claimed", "delegated": "delegated"},
    "delegate": {"claimed": "delegated"},
    "resolve": {"delegated": "claimed"},
    "complete": {"claimed": "done"},
    "draft": {"claimed": "claimed"},
    "cancel": {"open": "cancelled", "claimed": "cancelled", "delegated": "cancelled"},
    "update": {"open": "open", "claimed": "claimed", "delegated": "delegated"},
    "comment": {"open": "open", "claimed": "claimed", "delegated": "delegated", "done": "done"},
    "take_back": {"claimed": "open", "delegated": "open"},
}
EXPECTED_HANDOFF = {
    "accept": {"offered": "accepted"},
    "reject": {"offered": "rejected"},
    "deliver": {"accepted": "delivered", "returned": "delivered"},
    "confirm": {"delivered": "confirmed"},
    "return": {"delivered": "returned"},
    "cancel": {"offered": "cancelled", "accepted": "cancelled", "returned": "cancelled"},
    "update": {s: s for s in ("offered", "accepted", "returned", "delivered")},
    "comment": {s: s for s in ("offered", "accepted", "rejected", "delivered", "returned",
                               "confirmed", "cancelled")},
}


def _cases(expected: dict[str, dict[str, str]], states: list[str]):
    for action, state in itertools.product(expected, states):
        yield pytest.param(action, state, expected[action].get(state), id=f"{action}-{state}")


@pytest.mark.parametrize(("action", "state", "to"),
                         list(_cases(EXPECTED_WORK, list(WorkState))))
def test_work_transition_table(action: str, state: str, to: str | None) -> None:
    if to is None:
        with pytest.raises(TransitionRefused, match=f"cannot {action} W-1: it is {state}"):
            rule_for(WORK_RULES, "W-1", action, state)
    else:
        rule = rule_for(WORK_RULES, "W-1", action, state)
        assert (state if rule.target == "=" else rule.target) == to


@pytest.mark.parametrize(("action", "state", "to"),
                         list(_cases(EXPECTED_HANDOFF, list(HandoffState))))
def test_handoff_transition_table(action: str, state: str, to: str | None) -> None:
    if to is None:
        with pytest.raises(TransitionRefused, match=f"cannot {action} H-1: it is {state}"):
            rule_for(HANDOFF_RULES, "H-1", action, state)
    else:
        rule = rule_for(HANDOFF_RULES, "H-1", action, state)
        assert (state if rule.target == "=" else rule.target) == to


def test_tables_name_no_action_the_expectations_miss() -> None:
    assert {r.action for r in WORK_RULES} == set(EXPECTED_WORK)
    assert {r.action for r in HANDOFF_RULES} == set(EXPECTED_HANDOFF)


def test_every_rule_says_why() -> None:
    for table in (WORK_RULES, HANDOFF_RULES):
        whys = [rule.why for rule in table]
        assert len(set(whys)) == len(whys), "two rules give the same reason"
        for rule in table:
            # a reason says who acts and what for, in words, not the action's name again
            assert rule.why.split()[0] in {"a", "the", "anyone", "either"}, rule.why
            assert len(rule.why.split()) >= 6 and rule.why != rule.action, rule.why


def test_reasons_are_required_to_reject_return_and_cancel() -> None:
    needing = {r.action for r in HANDOFF_RULES if r.needs_reason}
    assert needing == {"reject", "return", "cancel"}


OLGA = Actor("olga@x", department="marketing", branch="hq", is_hq=True)
ANA = Actor("ana@x", department="marketing", role="head", branch="hq", is_hq=True,
            leads=frozenset({"marketing"}))
TOM = Actor("tom@x", department="tech", branch="hq", is_hq=True)
MARCO = Actor("marco@x", department="marketing", branch="north", is_hq=False)


def _rule(action: str, state: str = "open"):
    return rule_for(WORK_RULES, "W-1", action, state)


def test_only_department_members_claim() -> None:
    item = Target("W-1", "marketing")
    authorize(OLGA, _rule("claim"), item)
    with pytest.raises(NotAuthorized, match=r"tom@x \(tech\) may not claim W-1 \(marketing\)"):
        authorize(TOM, _rule("claim"), item)


def test_only_the_head_or_delegate_assigns() -> None:
    item = Target("W-1", "marketing")
    authorize(ANA, _rule("assign"), item)
    with pytest.raises(NotAuthorized, match="only the head of the owning department"):
        authorize(OLGA, _rule("assign"), item)


def test_only_the_assignee_completes() -> None:
    item = Target("W-1", "marketing", assignee="olga@x")
    authorize(OLGA, _rule("complete", "claimed"), item)
    with pytest.raises(NotAuthorized, match="only the assignee may"):
        authorize(ANA, _rule("complete", "claimed"), item)


def test_only_the_organisation_load_takes_a_step_back_to_its_queue() -> None:
    held = Target("W-1", "marketing", assignee="olga@x")
    for actor in (OLGA, ANA):  # not the holder, not even the head: no door offers it
        with pytest.raises(NotAuthorized, match="only the organisation load does"):
            authorize(actor, _rule("take_back", "claimed"), held)
    authorize(SYSTEM, _rule("take_back", "delegated"), held)


def test_branch_members_act_only_within_their_branch() -> None:
    authorize(MARCO, _rule("claim"), Target("W-1", "marketing", branch="north"))
    with pytest.raises(NotAuthorized, match=r"belongs to branch south.*act only within"):
        authorize(MARCO, _rule("claim"), Target("W-1", "marketing", branch="south"))
    authorize(OLGA, _rule("claim"), Target("W-1", "marketing", branch="south"))  # HQ may


def test_offering_side_confirms_receiving_side_accepts() -> None:
    handoff = Target("H-1", "tech", offering="marketing")
    accept = rule_for(HANDOFF_RULES, "H-1", "accept", "offered")
    confirm = rule_for(HANDOFF_RULES, "H-1", "confirm", "delivered")
    authorize(TOM, accept, handoff)
    authorize(OLGA, confirm, handoff)
    with pytest.raises(NotAuthorized, match="only a member of the receiving department"):
        authorize(OLGA, accept, handoff)
    with pytest.raises(NotAuthorized, match="only a member of the offering department"):
        authorize(TOM, confirm, handoff)


def test_the_engine_itself_may_do_anything() -> None:
    south = Target("W-1", "marketing", branch="south", assignee="olga@x")
    handoff = Target("H-1", "tech", offering="marketing")
    for table, target in ((WORK_RULES, south), (HANDOFF_RULES, handoff)):
        for rule in table:
            assert authorize(SYSTEM, rule, target) is None, rule.action
    # the same step refused to a member of another department: the target does guard
    with pytest.raises(NotAuthorized, match=r"tom@x \(tech\) may not assign W-1"):
        authorize(TOM, _rule("assign"), south)


def test_delegate_leads_only_while_the_head_is_away() -> None:
    away = [("marketing", "li@x", date(2026, 11, 20), date(2026, 11, 30))]
    args = {"email": "li@x", "role": "deputy", "department": "marketing", "delegations": away}
    assert leads_of(**args, today=date(2026, 11, 25)) == {"marketing"}
    assert leads_of(**args, today=date(2026, 12, 1)) == frozenset()
    assert leads_of(**args, today=date(2026, 11, 19)) == frozenset()
    head = leads_of(email="ana@x", role="head", department="marketing", delegations=away,
                    today=date(2026, 11, 25))
    assert head == {"marketing"}


def test_head_is_away_needs_at_least_one_date() -> None:
    today = date(2026, 11, 23)
    assert not head_is_away(None, None, today)
    assert head_is_away(date(2026, 11, 1), None, today)
    assert head_is_away(None, date(2026, 11, 23), today)
    assert not head_is_away(None, date(2026, 11, 22), today)


def test_creating_work_and_offering_handoffs_are_rows_of_a_table_too() -> None:
    assert {r.action for r in CREATION_RULES} == {"create", "offer"}
    for rule in CREATION_RULES:
        assert rule.why.split()[0] in {"a", "the"} and len(rule.why.split()) >= 6, rule.why
    create, offer = creation_rule("create"), creation_rule("offer")
    for_marketing = Target("work for marketing", "marketing")
    authorize(OLGA, create, for_marketing)  # a member of the department
    authorize(ANA, create, Target("work for tech", "tech"))  # any head, in another's queue
    authorize(SYSTEM, create, Target("work for tech", "tech"))
    with pytest.raises(NotAuthorized, match="tom@x may not create work for marketing: only its "
                                            "members, a department head or the process engine"):
        authorize(TOM, create, for_marketing)
    handoff = Target("a handoff from marketing", "tech", offering="marketing")
    authorize(OLGA, offer, handoff)
    with pytest.raises(NotAuthorized, match="only a member of the offering department"):
        authorize(TOM, offer, handoff)
    with pytest.raises(TransitionRefused, match="unknown action 'adopt'"):
        creation_rule("adopt")
