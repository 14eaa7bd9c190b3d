"""The desk's rules (``mktflow.domain.desk``): who sees and changes a saved view, a view's name
and due band, and what a bulk request must be before any item is tried."""

from __future__ import annotations

import pytest

from mktflow.domain.actors import Actor
from mktflow.domain.desk import (
    BULK_MAX,
    PRIORITY_BANDS,
    check_bulk,
    check_due_band,
    check_filter_text,
    check_priority_band,
    check_view_name,
    may_change_view,
    may_see_view,
)
from mktflow.domain.errors import BadInput, NotAuthorized

OWNER = Actor(email="olga@example.com", department="marketing")
COLLEAGUE = Actor(email="sofia@example.com", department="marketing")
HEAD = Actor(email="ana@example.com", department="marketing", role="head",
             leads=frozenset({"marketing"}))
OTHER = Actor(email="tom@example.com", department="tech")


@pytest.mark.parametrize(("actor", "shared", "sees", "changes"), [
    (OWNER, False, True, True), (COLLEAGUE, False, False, False), (HEAD, False, False, False),
    (OWNER, True, True, True), (COLLEAGUE, True, True, False), (HEAD, True, True, True),
    (OTHER, True, False, False),
])
def test_who_sees_and_changes_a_view(actor: Actor, shared: bool, sees: bool,
                                     changes: bool) -> None:
    view = {"owner": OWNER.email, "department": "marketing", "shared": shared}
    assert may_see_view(actor, **view) is sees
    if changes:
        may_change_view(actor, ref="V-1", **view)
    else:
        with pytest.raises(NotAuthorized, match="V-1: a saved view is its owner's"):
            may_change_view(actor, ref="V-1", **view)


def test_a_view_s_name_and_due_band() -> None:
    assert check_view_name("  Late work ") == "Late work"
    for bad, message in ((" ", "needs a name"), ("a\nb", "must not contain"),
                         ("x" * 81, "at most 80")):
        with pytest.raises(BadInput, match=f"name: .*{message}"):
            check_view_name(bad)
    assert (check_due_band(""), check_due_band("overdue")) == (None, "overdue")
    with pytest.raises(BadInput, match="due: must be one of overdue, on-time, got 'late'"):
        check_due_band("late")


def test_the_priority_band_and_title_words_filters() -> None:
    assert [check_priority_band(b) for b in ("", "urgent", "low")] == [None, (90, 100), (0, 29)]
    covered = sorted(v for low, high in PRIORITY_BANDS.values() for v in range(low, high + 1))
    assert covered == list(range(101))  # every priority falls in exactly one band
    with pytest.raises(BadInput, match="priority: must be one of urgent, high, normal, low"):
        check_priority_band("top")
    assert (check_filter_text("  "), check_filter_text(" fair ")) == (None, "fair")
    with pytest.raises(BadInput, match="text: must be at most 100 characters"):
        check_filter_text("x" * 101)


def test_a_bulk_request_names_a_bulk_action_and_1_to_200_items() -> None:
    check_bulk("claim", ["W-1"])
    with pytest.raises(BadInput, match="action: 'delegate' is not a bulk action"):
        check_bulk("delegate", ["W-1"])
    with pytest.raises(BadInput, match="items: name at least one"):
        check_bulk("claim", [])
    with pytest.raises(BadInput, match=f"items: at most {BULK_MAX} work items"):
        check_bulk("claim", ["W-1"] * (BULK_MAX + 1))
