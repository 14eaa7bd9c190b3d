"""The approval step's form: a decision first, a reason only for reject and rework."""

from __future__ import annotations

from typing import Any

import pytest

from mktflow.domain.errors import FormInvalid
from mktflow.engine.forms import validate_form
from mktflow.prefect.approvals import ApprovalForm


def _refusal(data: dict[str, Any]) -> str:
    with pytest.raises(FormInvalid) as refused:
        validate_form(ApprovalForm.model_json_schema(), data, ref="W-1")
    return str(refused.value)


def test_no_decision_is_said_alone() -> None:
    said = _refusal({})
    assert "decision" in said and "reason" not in said, said


@pytest.mark.parametrize("decision", ["reject", "rework"])
def test_reject_and_rework_need_a_reason(decision: str) -> None:
    assert "reason" in _refusal({"decision": decision})
    assert "reason" in _refusal({"decision": decision, "reason": ""})
    assert validate_form(ApprovalForm.model_json_schema(),
                         {"decision": decision, "reason": "Budget too high"}, ref="W-1")


def test_approve_needs_no_reason() -> None:
    assert validate_form(ApprovalForm.model_json_schema(), {"decision": "approve"}, ref="W-1")
