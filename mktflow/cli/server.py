"""``mktflow server``: the local Prefect server of embedded defaults (Prefect imported inside)."""

from __future__ import annotations

from typing import Any

import typer

from mktflow.cli._kit import JsonOpt, emit, refusals

__all__ = ["server_app"]

server_app = typer.Typer(help="The local Prefect server of embedded defaults.",
                         no_args_is_help=True)


@server_app.command("status")
def server_status(json_: JsonOpt = False) -> None:
    """Whether the data folder's local Prefect server runs, and where."""
    from mktflow.prefect.server import local_status

    with refusals(json_):
        status = local_status()
        emit(status, json_, _status_text)


def _status_text(s: dict[str, Any]) -> str:
    """running?, pid, port, UI link, state file and log, one per line."""
    if s["running"]:
        head = ("local Prefect server: running, "
                + ("answering" if s["healthy"] else "not answering (see its log)"))
        rows = [("pid", s["pid"]), ("port", s["port"]), ("UI", s["ui_url"])]
    else:
        head = "local Prefect server: not running (`mktflow server start` starts it)"
        rows = [("port", s["port"] or "none yet (a free one at first start)")]
    rows += [("state file", s["state_file"]), ("log", s["log"])]
    return "\n".join([head, *(f"  {k:<11}{v}" for k, v in rows)])


@server_app.command("start")
def server_start(json_: JsonOpt = False) -> None:
    """Start (or reuse) the data folder's local Prefect server; it keeps running."""
    from mktflow.prefect.server import ensure_local_server

    with refusals(json_):
        state, started = ensure_local_server()
        emit({"started": started, "api_url": state.api_url, "ui_url": state.ui_url,
              "pid": state.pid}, json_,
             f"{'started' if started else 'already running'}: {state.ui_url} "
             f"(pid {state.pid})")


@server_app.command("stop")
def server_stop(json_: JsonOpt = False) -> None:
    """Stop the data folder's local Prefect server."""
    from mktflow.prefect.server import stop_local_server

    with refusals(json_):
        stopped = stop_local_server()
        emit({"stopped": stopped}, json_, "stopped" if stopped else "it was not running")
