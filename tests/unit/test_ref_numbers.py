"""``engine.refs.ref_number``: the one reading of the references of leads, reports and saved
views (``L-3``, ``R-3``, ``V-3``), which their engines turn into their own errors."""

from __future__ import annotations

import pytest

from mktflow.domain.errors import BadInput, NotFound
from mktflow.engine import desk, leads, work_reports
from mktflow.engine.refs import ref_number


@pytest.mark.parametrize(("text", "letter", "dash_optional", "number"), [
    ("L-3", "L", False, 3), ("l-3", "L", False, 3), (" 12 ", "R", False, 12), (7, "R", False, 7),
    ("L3", "L", False, None), ("R-3", "L", False, None), ("L-", "L", False, None),
    ("L-" + "1" * 13, "L", False, None), ("L-²", "L", False, None), ("L-٣", "L", False, None),
    ("V3", "V", True, 3), ("v-3", "V", True, 3), ("V-x", "V", True, None),
])
def test_a_reference_is_read_or_refused(text: str | int, letter: str, dash_optional: bool,
                                        number: int | None) -> None:
    assert ref_number(text, letter, dash_optional=dash_optional) == number


def test_each_record_names_its_own_field_when_refused() -> None:
    with pytest.raises(NotFound, match="lead: 'L-²' names no lead"):
        leads.lead_number("L-²")  # a digit int() cannot read: refused, not a crash
    with pytest.raises(NotFound, match="report: 'x' names no report"):
        work_reports.report_number("x")
    with pytest.raises(BadInput, match="view: 'V-x' is not a saved view's reference"):
        desk.view_number("V-x")
    assert (leads.lead_number("L-4"), work_reports.report_number("r-5"),
            desk.view_number("V6")) == (4, 5, 6)
