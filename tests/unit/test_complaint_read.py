"""The complaint run's read of its case (``mktflow.prefect.tasks.complaints.read_case``): a read
that straddled another door's commit (the case before, its steps after: a live case with no
step) is taken again, so the run never ends on a case that is still going."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from mktflow.prefect.tasks import complaints as tasks


@dataclass
class _View:
    state: str
    step: Any


def _reads(monkeypatch: pytest.MonkeyPatch, views: list[_View]) -> list[_View]:
    given: list[_View] = []

    def show(_uow: Any, _id: int) -> _View:
        given.append(views[len(given)])
        return given[-1]

    monkeypatch.setattr(tasks.complaints, "show_complaint", show)
    monkeypatch.setattr(tasks, "uow", lambda: None)
    monkeypatch.setattr(tasks.time, "sleep", lambda _s: None)
    return given


def test_a_live_case_read_without_its_step_is_read_again(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    given = _reads(monkeypatch, [_View("answered", None), _View("closed", None)])
    assert tasks.read_case(1).state == "closed"
    assert len(given) == 2


def test_an_ended_case_or_a_case_with_its_step_is_read_once(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    for first in (_View("cancelled", None), _View("answered", object())):
        given = _reads(monkeypatch, [first])
        assert tasks.read_case(1) is first
        assert len(given) == 1
