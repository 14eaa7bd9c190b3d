"""Resuming the flow run that waits for a completed step (filled in by the Prefect bridge)."""

from __future__ import annotations

from mktflow.store.tables import WorkItem

__all__ = ["resume_flow_run_for"]


def resume_flow_run_for(flow_run_id: str, item: WorkItem) -> None:
    """Hand the completed step's data to the waiting flow run."""
    raise NotImplementedError("the Prefect bridge is not built yet")
