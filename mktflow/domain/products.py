"""New-product development rules: stage gates, how approvers' decisions combine, and the
resource guarantee (a project's budget lines must be allocated before launch)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from mktflow.domain.words import phrase

__all__ = ["GATES", "GateDecision", "ResourceLine", "combine", "resource_gaps"]

#: The stage gates a new product passes, in order. Marketing takes part from ``concept``.
GATES: tuple[str, ...] = ("concept", "prototype", "pilot", "launch")


class GateDecision(StrEnum):
    """An approver's decision at a stage gate."""

    GO = "go"
    REWORK = "rework"  # back to the stage, with a reason
    STOP = "stop"  # the project ends, with a reason


def combine(decisions: Iterable[str]) -> GateDecision:
    """The gate's decision: any stop stops, else any rework reworks, else go."""
    seen = {GateDecision(d) for d in decisions}
    if not seen:
        raise ValueError("a gate needs at least one decision")
    if GateDecision.STOP in seen:
        return GateDecision.STOP
    if GateDecision.REWORK in seen:
        return GateDecision.REWORK
    return GateDecision.GO


@dataclass(frozen=True)
class ResourceLine:
    """A budget line the project needs: what the plan asks for, what finance allocated."""

    code: str
    title: str
    planned: Decimal
    allocated: Decimal


def resource_gaps(lines: Iterable[ResourceLine]) -> list[str]:
    """Why the resource guarantee fails, line by line (empty when every line is allocated)."""
    gaps: list[str] = []
    lines = list(lines)
    if not lines:
        return [phrase("the project has no budget lines: nothing is guaranteed")]
    for line in lines:
        if line.allocated < line.planned:
            gaps.append(phrase("budget line %(line)s (%(title)s): %(allocated)s allocated of "
                               "%(planned)s planned", line=line.code, title=line.title,
                               allocated=Decimal(line.allocated), planned=Decimal(line.planned)))
    return gaps
