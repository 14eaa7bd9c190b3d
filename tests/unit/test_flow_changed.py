"""A waiting run resumed on changed flow code whose form refuses the stored answer fails with a
message naming the step, both forms and ``mktflow process migrate`` (issue 20, item 8), not a
validation traceback."""

from __future__ import annotations

import pytest

from mktflow.domain.errors import FlowChanged, Refused
from mktflow.prefect.steps import StepForm, StepHandle, _answer
from tests.views import work_item


class Plan(StepForm):
    """The plan as the new code has it: a channel list is now required."""

    budget: float
    channels: list[str]


def _handle() -> StepHandle[Plan]:
    return StepHandle(item_id=12, key="plan-1", form=Plan, title="Confirm the plan",
                      department="marketing", description="")


def test_an_answer_the_new_form_refuses_is_a_clear_refusal() -> None:
    view = work_item(state="done", form_name="Plan", data={"budget": 1200.0},
                     completed_by="olga.petrova@example.com")
    with pytest.raises(FlowChanged) as caught:
        _answer(_handle(), view)
    assert isinstance(caught.value, Refused)
    assert str(caught.value) == (
        "W-12 (Confirm the plan) was answered with the form it was created with (Plan), and "
        "the flow code running now checks it with another Plan that refuses it (channels: "
        "Field required): the flow was changed while this run waited; see `mktflow process "
        "migrate`")


def test_an_answer_the_form_takes_is_the_answer() -> None:
    view = work_item(state="done", form_name="Plan", completed_by="olga.petrova@example.com",
                     data={"budget": 1200.0, "channels": ["radio"]})
    answer = _answer(_handle(), view)
    assert (answer.form.channels, answer.by, answer.ref) == (
        ["radio"], "olga.petrova@example.com", "W-12")
