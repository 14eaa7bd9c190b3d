"""The rules of a complaint case (seed 001, 客户服务部 工作流程 2.(1) C): its transitions, who
may take each, the customer's answer and what a complaint must say when it comes in."""

from __future__ import annotations

import pytest

from mktflow.domain.actors import Actor, Target, authorize
from mktflow.domain.complaints import (
    COMPLAINT_FORMS,
    CUSTOMER_SERVICE,
    FORM_NAMES,
    StepKind,
    check_customer_answer,
    check_opening,
    complaint_rule,
    parse_step_key,
    step_key,
)
from mktflow.domain.errors import BadInput, NotAuthorized, TransitionRefused


def test_a_round_goes_open_handed_over_answered_and_closes_or_reopens() -> None:
    path = [("hand_over", "open"), ("answer", "handed_over")]
    assert [complaint_rule(a, s, ref="C-1").target for a, s in path] == ["handed_over",
                                                                        "answered"]
    assert complaint_rule("close", "answered", ref="C-1").target == "closed"
    reopen = complaint_rule("reopen", "answered", ref="C-1")
    assert (reopen.target, reopen.needs_reason) == ("open", True)
    with pytest.raises(TransitionRefused, match="cannot close complaint C-1: it is open, and "
                                                "close is allowed only when answered"):
        complaint_rule("close", "open", ref="C-1")
    for action in ("hand_over", "answer", "close", "reopen"):  # nothing leaves closed
        with pytest.raises(TransitionRefused, match="it is closed"):
            complaint_rule(action, "closed", ref="C-1")


def test_customer_service_moves_the_case_and_the_acting_department_answers() -> None:
    olga = Actor(email="olga@example.com", department=CUSTOMER_SERVICE)
    raj = Actor(email="raj@example.com", department="supply")
    case = Target(ref="C-1", department=CUSTOMER_SERVICE, offering=CUSTOMER_SERVICE)
    authorize(olga, complaint_rule("hand_over", "open", ref="C-1"), case)
    with pytest.raises(NotAuthorized):
        authorize(raj, complaint_rule("hand_over", "open", ref="C-1"), case)
    acting = Target(ref="C-1", department="supply", offering=CUSTOMER_SERVICE)
    authorize(raj, complaint_rule("answer", "handed_over", ref="C-1"), acting)
    with pytest.raises(NotAuthorized):
        authorize(olga, complaint_rule("answer", "handed_over", ref="C-1"), acting)


def test_not_satisfied_needs_a_note_and_satisfied_does_not() -> None:
    assert check_customer_answer(True, "") == (True, None)
    assert check_customer_answer(False, " still broken ") == (False, "still broken")
    with pytest.raises(BadInput, match="note: a customer who is not satisfied needs a note"):
        check_customer_answer(False, "  ")
    with pytest.raises(BadInput, match="satisfied: say whether"):
        check_customer_answer(None, "fine")


def test_a_complaint_names_the_customer_and_what_they_complain_of() -> None:
    assert check_opening(customer=" CUST-1 ", text="late\nagain", order="") == (
        "CUST-1", "late\nagain", None)
    with pytest.raises(BadInput, match="customer: must not be empty"):
        check_opening(customer="", text="late")
    with pytest.raises(BadInput, match="order: must not contain a line break"):
        check_opening(customer="C", text="late", order="SO-1\nSO-2")


def test_each_step_has_its_form_and_a_key_per_round() -> None:
    assert step_key(StepKind.CUSTOMER, 2) == "customer-2"
    schema = COMPLAINT_FORMS[StepKind.CUSTOMER].model_json_schema()
    assert schema["then"] == {"properties": {"note": {"minLength": 1}}, "required": ["note"]}
    assert COMPLAINT_FORMS[StepKind.RESPOND].model_json_schema()["properties"]["to"]["enum"] \
        == ["production", "supply", "finance"]
    assert len(set(FORM_NAMES.values())) == 3


def test_a_hand_back_keys_the_rounds_steps_apart_and_parses_back() -> None:
    assert step_key(StepKind.RESPOND, 1, 1) == "respond-1-back-1"
    assert [parse_step_key(k) for k in ("act-2", "respond-1-back-3")] == [
        (StepKind.ACT, 2, 0), (StepKind.RESPOND, 1, 3)]
    for other in (None, "", "handoff-1", "plan-1-retry-2", "act-x"):  # no case step's key
        assert parse_step_key(other) is None


def test_the_acting_department_hands_a_case_back_with_a_reason() -> None:
    back = complaint_rule("hand_back", "handed_over", ref="C-1")
    assert (back.target, back.needs_reason) == ("open", True)
    acting = Target(ref="C-1", department="supply", offering=CUSTOMER_SERVICE)
    authorize(Actor(email="raj@example.com", department="supply"), back, acting)
    with pytest.raises(NotAuthorized):
        authorize(Actor(email="tom@example.com", department="tech"), back, acting)
    with pytest.raises(TransitionRefused, match="hand back is allowed only when handed over"):
        complaint_rule("hand_back", "answered", ref="C-1")
