"""The one authorization check knows who acts (issue 10): rows carry guards (four eyes, the
approver's role today, a proven identity), checked by ``authorize`` for every door."""

from __future__ import annotations

import pytest

from mktflow.domain.actors import SYSTEM, Actor, Approval, Target, authorize, holder_refusal
from mktflow.domain.errors import NotAuthorized
from mktflow.domain.model import DECIDING, WORK_RULES, Guard, rule_for

CLAIM = rule_for(WORK_RULES, "W-1", "claim", "open")
COMPLETE = rule_for(WORK_RULES, "W-1", "complete", "claimed")
APPROVAL = Approval("marketing", ("head", "deputy"), None, "marketing (head/deputy) x1")
HEAD = Actor("ana@x", "marketing", "head", "hq", True, frozenset({"marketing"}))
DEPUTY = Actor("li@x", "marketing", "deputy", "hq", True)
LATE = Actor("nina@x", "marketing", "specialist", "hq", True)


def test_only_taking_drafting_and_deciding_a_step_carry_the_guards() -> None:
    guarded = {r.action: r.guards for r in WORK_RULES if r.guards}
    assert guarded == {"claim": DECIDING, "complete": DECIDING, "draft": DECIDING}
    assert set(DECIDING) == set(Guard)


def test_an_approval_is_checked_against_the_actor_as_they_are_now() -> None:
    step = Target("W-1", "marketing", approval=APPROVAL, assignee="li@x")
    authorize(DEPUTY, CLAIM, step)
    authorize(DEPUTY, COMPLETE, step)
    with pytest.raises(NotAuthorized, match=r"nina@x may not claim W-1: it is an approval for "
                                            r"marketing \(head/deputy\)"):
        authorize(LATE, CLAIM, step)
    # a delegate of another department, leading marketing while its head is away
    stand_in = Actor("li@x", "sales", "specialist", "hq", True, frozenset({"marketing"}))
    assert holder_refusal(stand_in, step) is None


def test_four_eyes_and_typed_identities() -> None:
    four_eyes = Target("W-1", "marketing", excluded=frozenset({"li@x"}))
    with pytest.raises(NotAuthorized, match="four eyes"):
        authorize(DEPUTY, CLAIM, four_eyes)
    typed = Actor("ana@x", "marketing", "head", "hq", True, frozenset({"marketing"}),
                  proven=False)
    with pytest.raises(NotAuthorized, match="typed, not proven"):
        authorize(typed, CLAIM, Target("W-2", "marketing", asks_decision=True))
    authorize(typed, CLAIM, Target("W-3", "marketing"))  # a step that decides nothing
    authorize(SYSTEM, COMPLETE, Target("W-4", "marketing", approval=APPROVAL))
