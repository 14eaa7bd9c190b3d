"""``/forecast``: what next quarter will cost the departments (issue 24, item 7). A POST
because the plan is a body, though nothing is written: the answer is the simulation of the
plan over the last complete quarter's ledger (``mktflow.engine.forecast``), for heads and
management (read rule ``forecast``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field, PlainValidator, WithJsonSchema

from mktflow.api._deps import Reader, Uow
from mktflow.api._models import _Body
from mktflow.api._schemas import problems
from mktflow.domain.campaign_calendar import QUARTER_PATTERN
from mktflow.domain.forecast import (
    MAX_STARTS_PER_MONTH,
    THRESHOLD_MAX,
    WAIT_THRESHOLD_HOURS,
    parse_plan,
)
from mktflow.engine import forecast as forecasts
from mktflow.engine.views import ForecastPublic

__all__ = ["router"]

router = APIRouter(prefix="/forecast", tags=["forecast"], responses=problems(401))


def _checker(low: float, high: float, *, whole: bool, above: bool = False
             ) -> Callable[[object], float]:
    """The check of a JSON number from ``low`` (excluded with ``above``) to ``high``, a whole one
    with ``whole``: not true or false, nor a text of digits, which pydantic would read as
    numbers though the document says a number."""
    def check(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("a number, not true, false or a text")
        if whole and not float(value).is_integer():
            raise ValueError("a whole number")
        if not (low < value if above else low <= value) or not value <= high:
            raise ValueError(f"from {low:g} to {high:g}")
        return int(value) if whole else float(value)

    return check


#: A month's starts of one kind.
Monthly = Annotated[int, PlainValidator(_checker(0, MAX_STARTS_PER_MONTH, whole=True)),
                    WithJsonSchema({"type": "integer", "minimum": 0,
                                    "maximum": MAX_STARTS_PER_MONTH})]
#: A quarter's starts of one kind.
Quarterly = Annotated[int, PlainValidator(_checker(0, 3 * MAX_STARTS_PER_MONTH, whole=True)),
                      WithJsonSchema({"type": "integer", "minimum": 0,
                                      "maximum": 3 * MAX_STARTS_PER_MONTH})]
#: A kind's starts: the quarter's (spread over its months) or three counts, one per month.
Starts = Annotated[
    Quarterly | Annotated[list[Monthly], Field(min_length=3, max_length=3)],
    Field(description="The quarter's starts (spread over its three months) or three counts, "
                      "one per month.")]
SEED_MAX = 2**31 - 1
Seed = Annotated[int, PlainValidator(_checker(0, SEED_MAX, whole=True)),
                 WithJsonSchema({"type": "integer", "minimum": 0, "maximum": SEED_MAX})]
Threshold = Annotated[float, PlainValidator(_checker(0, THRESHOLD_MAX, whole=False, above=True)),
                      WithJsonSchema({"type": "number", "exclusiveMinimum": 0,
                                      "maximum": THRESHOLD_MAX})]


class ForecastPlan(_Body):
    """How many processes of each kind start in the quarter; a kind left out starts none."""

    campaign: Starts | None = None
    new_product: Starts | None = None
    order: Starts | None = None


class AskForecast(_Body):
    """A plan to forecast, and for which quarter."""

    plan: ForecastPlan = Field(default_factory=ForecastPlan)
    quarter: str = Field(default="next", max_length=8, description=(
        "next (the coming quarter), or a quarter that has not begun, YYYY-Qn."),
        json_schema_extra={"pattern": rf"^(?:next|{QUARTER_PATTERN})$"})
    seed: Seed = Field(default=0, description=(
        "The simulation's seed: the same seed, plan and ledger give the same answer."))
    threshold_hours: Threshold = Field(default=WAIT_THRESHOLD_HOURS, description=(
        "Hours of 95th-percentile wait above which a department is jammed."))


@router.post("", response_model=ForecastPublic, responses=problems(403, 404, 422))
def forecast(body: AskForecast, uow: Uow, reader: Reader) -> ForecastPublic:
    """Each department's expected load and waits over the quarter for the plan, and where it
    will jam (utilisation of 85 % or more, or a 95th-percentile wait above the threshold),
    with the model's back-test on the last quarter. Nothing is written."""
    plan = parse_plan(body.plan.model_dump(exclude_none=True))
    return forecasts.forecast(uow, plan=plan, quarter=body.quarter, seed=body.seed,
                              threshold_hours=body.threshold_hours, reader=reader)
