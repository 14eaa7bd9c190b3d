"""The served hand-back's baseline: a bare Prefect flow, served as ``flow.serve()`` serves it.

    python -m bench._bare_flow POLL_SECONDS [LIMIT]

Serves ``bare-handback/bench`` and ``bare-campaign/bench`` from this process with Prefect's
own ``Runner`` (what ``flow.serve`` builds; nothing of mktflow: each run is a new interpreter,
as Prefect starts them), asking the API every ``POLL_SECONDS`` as ``mktflow serve``'s runner does
(``MKTFLOW_RUNNER_POLL_S``; Prefect's own default is 10 s), running at most ``LIMIT`` runs at
once (``none``: no limit, as ``mktflow serve``'s runner; Prefect's default is 5), until SIGTERM
or Ctrl-C.

``bare-handback`` (the served hand-back's baseline, ``bench.handback``): each run
runs one task, suspends under the key ``step-1`` (no process held, like a campaign at its plan)
and, once resumed (``resume_flow_run``), runs again from the top (the first task's result is
persisted, so it is read back) to its next task, which appends the time (Unix seconds) to the
file named by its ``mark`` parameter: the baseline's "next step".

``bare-campaign`` (the baseline of ``bench.many_campaigns``): a campaign's shape with nothing of
mktflow: ``tasks`` trivial tasks (results persisted) spread evenly before and between
``pauses`` suspensions (keys ``step-0``, ``step-1``, ...; each waits for a one-field input, as
a human step waits for its form); each resume runs the flow again from the top, the earlier
tasks read back from their persisted results, as a suspended campaign is run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from prefect import flow, task
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runner import Runner

from mktflow.domain import clock


@task(persist_result=True)
def before(n: int) -> int:
    """The work before the step (read back from its persisted result on the re-run)."""
    return n


@task
def next_step(mark: str) -> None:
    """The next step: its start time appended to ``mark``."""
    at = clock.now().timestamp()  # the process's clock: the machine's, never frozen here
    with open(mark, "a", encoding="utf-8") as out:
        out.write(f"{at}\n")


@flow(name="bare-handback", persist_result=True)
def bare_handback(mark: str) -> None:
    """One task, a suspension at ``step-1``, then the next step."""
    before(1)
    suspend_flow_run(key="step-1", timeout=600)
    next_step(mark)


class Ack(RunInput):
    """One field, like a one-field step's form."""

    ok: bool = True


@task(persist_result=True)
def work_of(i: int) -> int:
    """One of the campaign's tasks (each call its own input: its own cached result)."""
    return i


@flow(name="bare-campaign", persist_result=True)
def bare_campaign(tasks: int, pauses: int) -> int:
    """``tasks`` tasks spread before and between ``pauses`` suspensions, each resumed with
    an ``Ack``."""
    per = [tasks // (pauses + 1) + (1 if i < tasks % (pauses + 1) else 0)
           for i in range(pauses + 1)]
    total, done = 0, 0
    for p in range(pauses + 1):
        total += sum(work_of(done + i) for i in range(per[p]))
        done += per[p]
        if p < pauses:
            suspend_flow_run(wait_for_input=Ack, key=f"step-{p}", timeout=24 * 3600)
    return total


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    limit = sys.argv[2] if len(sys.argv) > 2 else "5"
    runner = Runner(name="bare-handback", pause_on_shutdown=False,
                    query_seconds=float(sys.argv[1]),
                    limit=None if limit == "none" else int(limit))
    runner.add_flow(bare_handback, name="bench")
    runner.add_flow(bare_campaign, name="bench")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner.start())


if __name__ == "__main__":
    main()
