"""``mktflow serve``'s runner is woken by Prefect's event stream when a run is resumed or
scheduled, instead of waiting for its next poll (issue 22, target 2), and asks again a few
times in the next half second: the first ask often did not find the resumed run yet (measured
on PostgreSQL: taken by the runner p50 0.16 s after the resume with the asks, 0.38 s without)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Paused, Scheduled

from mktflow.prefect.serving import _ASK_AFTER_S, _wake_on_starts


@flow
def _waiting() -> None:  # a run of it is only created, never run
    pass


class _Runner:
    """What the wake uses of Prefect's runner: it records each time it is asked for runs."""

    stopping = False
    _scheduled_run_poller = object()

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def _get_and_submit_flow_runs(self) -> None:
        self.asked.append(time.monotonic())


def test_a_resumed_run_makes_the_runner_ask_for_runs_at_once_and_again(
        prefect_server: Any) -> None:
    async def scenario() -> tuple[list[float], float]:
        runner = _Runner()
        wake = asyncio.create_task(_wake_on_starts(runner))
        try:
            async with get_client() as client:
                run = await client.create_flow_run(_waiting, state=Paused())
                await asyncio.sleep(2)  # the stream is subscribed
                runner.asked.clear()
                resumed = time.monotonic()
                await client.set_flow_run_state(run.id, Scheduled(name="Resuming"), force=True)
                deadline = time.monotonic() + 30
                while len(runner.asked) < len(_ASK_AFTER_S) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                return runner.asked, resumed
        finally:
            wake.cancel()  # and wait for it: it closes its websocket
            with contextlib.suppress(asyncio.CancelledError):
                await wake

    asked, resumed = asyncio.run(scenario())
    assert len(asked) == len(_ASK_AFTER_S) > 1  # asked at once, then again
    assert asked[-1] - asked[0] >= sum(_ASK_AFTER_S) - 0.01
    assert asked[0] >= resumed
