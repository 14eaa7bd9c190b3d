"""Plan balance: present vs future shares computed from the items, gaps, and the plan chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mktflow.domain.planning import (
    Horizon,
    PlanFileInvalid,
    balance,
    horizon_of,
    parse_plan_items,
)
from mktflow.engine.planfile import read_plan_file

SEED_000 = Path(__file__).parents[2] / "docs" / "examples" / "plan-seed-000.csv"


def items(*rows: dict[str, Any]) -> Any:
    return parse_plan_items(list(enumerate(rows, start=1)), "plan.yaml", unit="entry")


def test_seed_000_example_is_83_3_and_16_7_percent_not_27() -> None:
    result = balance(read_plan_file(SEED_000), floor=0.25).as_dict()
    assert (result["total"], result["present"], result["future"]) == (30, 25, 5)
    assert result["future_share"] == pytest.approx(0.1667)
    assert result["present_share"] == pytest.approx(0.8333)
    assert result["below_floor"] is True
    assert any("16.7%" in w and "5 of 30" in w for w in result["warnings"])
    lacking = {m["item"]: m["lacks"] for m in result["missing"]}
    assert lacking == {
        "Monthly sales strategy meeting with sales": ["resources"],
        "Regional action plans": ["resources"],
        "Key account visits": ["owner"],
        "Dealer conference": ["goal"],
        "Sales incentive scheme support": ["resources"],
        "Distributor stock check": ["resources"],
        "Sales presentation deck": ["resources"],
    }
    assert result["chain_checked"] is True
    assert [(c["kind"], c["item"]) for c in result["chain_issues"]] == [
        ("broken-link", "Loyalty card promotion (row 31)")]


@pytest.mark.parametrize(("category", "horizon"), [
    ("3-5 year plan", Horizon.FUTURE), ("Long-term plan", Horizon.FUTURE),
    ("Annual business plan", Horizon.FUTURE), ("strategy_selection", Horizon.FUTURE),
    ("Product line planning", Horizon.FUTURE), ("new-product plan", Horizon.FUTURE),
    ("sales support", Horizon.PRESENT), ("promotion plan", Horizon.PRESENT),
    ("marketing plan", Horizon.PRESENT), ("anything else", Horizon.PRESENT),
])
def test_horizon_is_derived_from_the_category(category: str, horizon: Horizon) -> None:
    assert horizon_of(category) == horizon


def test_explicit_horizon_wins_over_the_category() -> None:
    plan = items({"title": "Brand study", "category": "sales support", "horizon": "future",
                  "owner": "a", "goal": "g", "resources": "r"})
    assert plan[0].horizon == Horizon.FUTURE


def test_floor_is_not_a_warning_when_future_share_reaches_it() -> None:
    plan = items(*[{"title": f"t{i}", "category": "new-product plan" if i < 1 else "sales",
                    "owner": "o", "goal": "g", "resources": "r"} for i in range(4)])
    result = balance(plan, floor=0.25)
    assert result.future_share == 0.25 and result.warnings == []


def test_file_errors_name_the_source_the_entry_and_the_field() -> None:
    with pytest.raises(PlanFileInvalid) as info:
        items({"title": "ok", "category": "sales"},
              {"title": "", "category": "sales"},
              {"title": "x", "category": "sales", "horizon": "someday"},
              {"title": "y", "categroy": "sales"},
              "not a mapping")
    problems = info.value.problems
    assert "plan.yaml entry 2: field 'title': missing or empty" in problems
    assert any(p.startswith("plan.yaml entry 3: field 'horizon': 'someday'") for p in problems)
    assert any(p.startswith("plan.yaml entry 4: field 'categroy': unknown field")
               for p in problems)
    assert "plan.yaml entry 4: field 'category': missing or empty" in problems
    assert any(p.startswith("plan.yaml entry 5: expected a mapping") for p in problems)
    assert info.value.exit_code == 2


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(PlanFileInvalid, match="entry 2: field 'title': 'a' is already used"):
        items({"title": "a", "category": "s"}, {"title": "a", "category": "s"})


def _chain(*rows: tuple[str, str, str]) -> list[tuple[str, str]]:
    plan = items(*[{"title": t, "category": c, "parent": p, "owner": "o", "goal": "g",
                    "resources": "r"} for t, c, p in rows])
    return [(i.kind, i.item.split(" (")[0]) for i in balance(plan, floor=0).chain_issues]


def test_a_full_chain_has_no_issues() -> None:
    assert _chain(("Strategy", "strategy", ""),
                  ("Mkt strategy", "marketing strategy", "Strategy"),
                  ("Mkt plan", "marketing plan", "Mkt strategy"),
                  ("Spring promo", "promotion plan", "Mkt plan")) == []


def test_chain_problems_are_named() -> None:
    assert _chain(("Strategy", "strategy", ""),
                  ("Orphan plan", "marketing plan", ""),  # no parent, not a strategy
                  ("Promo under orphan", "promotion plan", "Orphan plan"),
                  ("Lost promo", "promotion plan", "Nowhere"),
                  ("Upside down", "marketing strategy", "Promo under orphan"),
                  ("Loop A", "promotion plan", "Loop B"),
                  ("Loop B", "promotion plan", "Loop A")) == [
        ("no-strategy", "Orphan plan"),
        ("no-strategy", "Promo under orphan"),
        ("broken-link", "Lost promo"),
        ("out-of-order", "Upside down"),
        ("no-strategy", "Upside down"),
        ("cycle", "Loop A"),
        ("cycle", "Loop B"),
    ]


def test_flat_plan_has_no_chain_to_check() -> None:
    result = balance(items({"title": "a", "category": "sales"}), floor=0)
    assert result.chain_checked is False and result.chain_issues == []


def test_yaml_and_csv_files(tmp_path: Path) -> None:
    yml = tmp_path / "plan.yaml"
    yml.write_text("items:\n  - {title: A, category: 3-5 year plan, resources: [team, money]}\n"
                   "  - {title: B, category: sales support, owner: o}\n")
    plan = read_plan_file(yml)
    assert [i.horizon for i in plan] == [Horizon.FUTURE, Horizon.PRESENT]
    assert plan[0].resources == "team, money"
    csv = tmp_path / "plan.csv"
    csv.write_text("title,category,owner\nA,sales,o\n,,\nB,,o\n")
    with pytest.raises(PlanFileInvalid, match=r"plan.csv row 4: field 'category'"):
        read_plan_file(csv)


# --- the balance of important and urgent work (seed 000) ---------------------------------


def test_each_pair_of_importance_and_urgency_is_a_quadrant() -> None:
    from mktflow.domain.planning import Quadrant, quadrant_of

    assert [quadrant_of(i, u) for i, u in ((True, True), (True, False), (False, True),
                                            (False, False))] == list(Quadrant)


def test_a_department_below_the_important_not_urgent_floor_is_a_finding() -> None:
    from mktflow.domain.planning import Quadrant, quadrant_balance

    rows = [(True, False)] + [(False, True)] * 6 + [(True, True)] * 2 + [(None, None)] * 3 \
        + [(True, None)]  # one said only "important": not urgent
    b = quadrant_balance(rows, floor=0.25)
    assert b.counts == {"important-urgent": 2, "important-not-urgent": 2,
                        "urgent-not-important": 6, "neither": 0}
    assert (b.classified, b.unclassified) == (10, 3)
    assert b.share(Quadrant.IMPORTANT_NOT_URGENT) == 0.2 and b.below_floor
    assert b.finding is not None and "20.0%" in b.finding and "2 of 10" in b.finding
    assert not quadrant_balance(rows, floor=0.2).below_floor  # at the floor: not below
    nothing = quadrant_balance([(None, None)], floor=0.5)
    assert not nothing.below_floor and nothing.finding is None  # nothing classified


def test_a_plan_item_says_yes_or_no_or_takes_its_horizons_quadrant() -> None:
    from mktflow.domain.planning import PlanFileInvalid, parse_flag, parse_plan_items

    items = parse_plan_items([
        (2, {"title": "Five-year plan", "category": "long-term plan"}),
        (3, {"title": "Dealer visit", "category": "sales support"}),
        (4, {"title": "Fix the site", "category": "sales support", "important": "Yes",
             "urgent": "x"}),
        (5, {"title": "Brand book", "category": "branding", "important": "1", "urgent": "no"}),
    ], "plan.csv")
    assert [str(i.quadrant) for i in items] == [
        "important-not-urgent", "urgent-not-important", "important-urgent",
        "important-not-urgent"]
    assert parse_flag("", field="urgent") is None and parse_flag(False, field="urgent") is False
    with pytest.raises(PlanFileInvalid) as refused:
        parse_plan_items([(2, {"title": "T", "category": "c", "urgent": "soon"})], "plan.csv")
    assert "plan.csv row 2: field 'urgent': 'soon' is not yes or no" in str(refused.value)
