"""The served hand-back's baseline: a bare Prefect flow, served as ``flow.serve()`` serves it.

    python -m bench._bare_flow POLL_SECONDS

Serves ``bare-handback/bench`` from this process with Prefect's own ``Runner`` (what
``flow.serve`` builds; nothing of mktflow: each run is a new interpreter, as Prefect starts
them), asking the API every ``POLL_SECONDS`` as ``mktflow serve``'s runner does
(``MKTFLOW_RUNNER_POLL_S``; Prefect's own default is 10 s), until SIGTERM or Ctrl-C. Each run
runs one task, suspends under the key ``step-1`` (no process held, like a campaign at its plan)
and, once resumed (``resume_flow_run``), runs again from the top (the first task's result is
persisted, so it is read back) to its next task, which appends the time (Unix seconds) to the
file named by its ``mark`` parameter: the baseline's "next step".
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from prefect import flow, task
from prefect.flow_runs import suspend_flow_run
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


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    runner = Runner(name="bare-handback", pause_on_shutdown=False,
                    query_seconds=float(sys.argv[1]))
    runner.add_flow(bare_handback, name="bench")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner.start())


if __name__ == "__main__":
    main()
