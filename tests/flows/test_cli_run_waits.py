"""A person's first ``mktflow run`` on a fresh data folder, nothing configured: it says that it
starts the local Prefect server, then at each human step where it waits and the command that
answers it; that command, pasted into another shell, moves the run on; ``mktflow server
status`` shows where everything is (the fresh-user trial's findings 4, 10 and 12)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.flows

PRODUCTION = "pedro.alves@example.com"


def _mktflow(env: dict[str, str], *args: str) -> Any:
    r = subprocess.run([sys.executable, "-m", "mktflow.cli", *args], env=env, text=True,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, f"mktflow {' '.join(args)}: {r.stderr}"
    return json.loads(r.stdout) if "--json" in args else r.stdout


class _Lines:
    """The lines a process prints, read in a thread: waiting for one never hangs the test."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line)

    def next(self, starts: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(starts):
                return line
        raise AssertionError(f"no line starting {starts!r} in {timeout:.0f} s; printed: "
                             f"{''.join(self.seen)}")

    def rest(self) -> str:
        return "".join(self.lines.get() for _ in range(self.lines.qsize()))


def test_run_says_where_it_waits_and_the_printed_command_answers(tmp_path: Path) -> None:
    from mktflow.prefect.registry import example

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MKTFLOW_", "PREFECT_"))}
    data = tmp_path / "data"
    env.update(MKTFLOW_DATA_DIR=str(data), MKTFLOW_STEP_POLL_INTERVAL_S="0.5",
               PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    _mktflow(env, "db", "upgrade")
    _mktflow(env, "org", "load", "--demo")
    params = example("order-handling", uuid.uuid4().hex[:6])
    errors = tmp_path / "run.stderr"
    with errors.open("w") as err:
        run = subprocess.Popen(
            [sys.executable, "-m", "mktflow.cli", "run", "order-handling", "--params",
             json.dumps(params)], env=env, text=True, stdout=subprocess.PIPE, stderr=err,
            cwd=tmp_path)
    assert run.stdout is not None
    printed = _Lines(run.stdout)
    try:
        waiting = printed.next("waiting at W-")
        answer = printed.next("  answer it: ").removeprefix("  answer it: ").strip()
        item = waiting.split()[2]
        assert waiting.startswith(f"waiting at {item} (sales): ")
        said = errors.read_text()
        assert "starting the local Prefect server" in said and "first start" in said
        assert "the local Prefect server answers after" in said
        status = _mktflow(env, "server", "status")
        assert status.startswith("local Prefect server: running, answering")
        for label in ("pid", "port", "UI", "state file", "log"):
            assert f"\n  {label:<11}" in status, status

        # the command as printed, with the answers in answers.json, moves the run on
        (tmp_path / "answers.json").write_text(json.dumps(
            {k: params[k] for k in ("customer_code", "customer_name", "lines",
                                    "delivery_date")}), "utf-8")
        done = subprocess.run(answer.replace("MEMBER", params["sales"]), shell=True, env=env,
                              cwd=tmp_path, text=True, capture_output=True, timeout=120)
        assert done.returncode == 0, (answer, done.stderr)
        second = printed.next("waiting at W-")
        assert "(production)" in second and item not in second
        second_item = second.split()[2]
        if "held by" not in second:
            _mktflow(env, "work", "claim", second_item, "--as", PRODUCTION)
        _mktflow(env, "work", "complete", second_item, "--as", PRODUCTION, "--data",
                 json.dumps({"outcome": "cannot_fulfil", "reason": "discontinued"}))
        assert run.wait(timeout=120) == 0, printed.rest()
        assert printed.next("finished ", timeout=10).startswith("finished COMPLETED")
    finally:
        run.kill()
        run.wait(30)
        printed.thread.join(10)  # the reader has seen the end of the pipe: close it
        run.stdout.close()
        subprocess.run([sys.executable, "-m", "mktflow.cli", "server", "stop"], env=env,
                       capture_output=True, timeout=60)
