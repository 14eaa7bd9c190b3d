"""Members' daily digests: every 15 minutes, write the digests whose time has come.

A member who chose a daily digest (``mktflow digest set --mode daily --at 17:30``, ``PUT
/me/digest``, the My work page) gets one digest each working day, at the first run after the
chosen time in their working calendar's zone: their open, due-soon and overdue items and
handoffs, the notices held for it, and for a head the department's part. Each is written once
a day (its outbox id is made of the member, the day and the channel); the relay sends it.
Rules: ``mktflow.domain.digests``; handler: ``mktflow.engine.digests``. Not the heads' work
report digest (``report-digest``, ``flows/work_reports.py``).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from mktflow.prefect.artifacts import markdown_table, publish
from mktflow.prefect.tasks.notify import send_digests


@flow(name="member-digests")
def member_digests() -> dict[str, Any]:
    """Write the daily digests due now; an artifact names whose (counts, never the items)."""
    written = send_digests()
    publish("member-digests", "\n\n".join([
        "# Daily digests written",
        markdown_table(written, ["member", "day", "messages", "entries", "changes"])]),
        description="Daily digests written")
    return {"digests": len(written), "messages": sum(w["messages"] for w in written)}
