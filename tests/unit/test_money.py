"""The one money rule (mktflow.domain.money): exact decimals, half up to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mktflow.domain.errors import BadInput
from mktflow.domain.money import money, money_json, money_sum, money_text
from mktflow.domain.reviews import budget_verdict


@pytest.mark.parametrize(("given", "amount"), [
    (2.675, "2.68"), ("2.675", "2.68"), (1 * 2.675, "2.68"), (2.665, "2.67"), (-2.675, "-2.68"),
    (1.005, "1.01"), (0.125, "0.13"), (10, "10.00"), (Decimal("0.005"), "0.01"),
    ("999999999999.99", "999999999999.99"),
])
def test_money_rounds_half_up_to_the_cent(given: object, amount: str) -> None:
    assert money(given) == Decimal(amount) and str(money(given)) == amount


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1e400", True, None, "ten",
                                 "1000000000000.00"])
def test_money_refuses_what_is_no_amount_naming_the_field(bad: object) -> None:
    with pytest.raises(BadInput, match=r"^unit_price: "):
        money(bad, "unit_price")


def test_sums_round_once_and_json_and_text_show_the_two_places() -> None:
    assert money_sum([0.1] * 10) == Decimal("1.00")
    assert money_sum(["0.004"] * 3) == Decimal("0.00")  # each is 0.00 when made an amount
    assert money_sum([Decimal("0.004")] * 3) == Decimal("0.01")  # exact decimals: once
    assert repr(money_json(Decimal("999999999999.99"))) == "999999999999.99"
    assert repr(money_json(Decimal("2.68"))) == "2.68"
    assert money_text(Decimal("1234.5")) == "1,234.50"


def test_budget_tolerance_is_compared_exactly() -> None:
    # plan to date 1,000.00, tolerance 10 %: the limit is 1,100.00; one cent above is flagged
    # (the percentage rounded to 10.0 % let 1,100.04 pass before)
    args = {"planned": Decimal(5000), "allocated": Decimal(5000),
            "planned_to_date": Decimal(1000), "tolerance_pct": 10.0, "key_project_min": 0}
    assert not budget_verdict(spent=Decimal("1100.00"), **args).flagged
    assert budget_verdict(spent=Decimal("1100.01"), **args).flagged
