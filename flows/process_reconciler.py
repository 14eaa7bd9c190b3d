"""Process reconciler: runs that wait on steps already answered, and processes whose run ended,
put right without a person (issue 20).

For worker set-ups (``mktflow deploy --pool``): scheduled every minute, each run ticks the
reconciler every ``MKTFLOW_RECONCILE_INTERVAL_S`` seconds for 55 s, so a stuck run is found
within seconds there too. ``mktflow serve`` runs the same reconciler in a thread instead and
does not serve this deployment. See ``mktflow.prefect.reconcile`` for what it corrects.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from mktflow.prefect.reconcile import reconcile_for


@flow(name="process-reconciler")
def process_reconciler(seconds: float = 55.0) -> dict[str, Any]:
    """Reconcile mktflow's processes with their Prefect runs for ``seconds`` seconds."""
    return reconcile_for(seconds)
