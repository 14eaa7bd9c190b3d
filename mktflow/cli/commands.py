"""The ``mktflow`` command tree: every top-level command and group, by name, and its builder.

``build(only)`` registers one top-level name (its module imported then), ``build()`` all of
them. ``mktflow.cli.main`` builds only the tree the command line names: ``mktflow inbox ...``
then imports and converts one command instead of the 50-odd of the whole tree (about 0.1 s of
start-up), with the same definition of each command, so its options, help, errors and exit
codes are the same. ``mktflow``, ``mktflow --help`` and an unknown name get the whole tree.
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["ONE_SHOT", "TREE", "build"]

#: Every top-level name -> (module, its typer.Typer group or its command function), in the
#: order ``mktflow --help`` lists them.
TREE: dict[str, tuple[str, str]] = {
    "db": ("mktflow.cli.db", "db_app"),
    "org": ("mktflow.cli.org", "org_app"),
    "work": ("mktflow.cli.work", "work_app"),
    "handoff": ("mktflow.cli.handoff", "handoff_app"),
    "api": ("mktflow.cli.api", "api_app"),
    "channel": ("mktflow.cli.notify", "channel_app"),
    "outbox": ("mktflow.cli.notify", "outbox_app"),
    "sla": ("mktflow.cli.notify", "sla_app"),
    "digest": ("mktflow.cli.notify", "digest_app"),
    "plan": ("mktflow.cli.plan", "plan_app"),
    "report": ("mktflow.cli.report", "report_app"),
    "meeting": ("mktflow.cli.meeting", "meeting_app"),
    "training": ("mktflow.cli.training", "training_app"),
    "forecast": ("mktflow.cli.forecast", "forecast_cmd"),
    "lead": ("mktflow.cli.lead", "lead_app"),
    "complaint": ("mktflow.cli.complaint", "complaint_app"),
    "calendar": ("mktflow.cli.calendar", "calendar_app"),
    "dashboard": ("mktflow.cli.dashboard", "dashboard_app"),
    "view": ("mktflow.cli.view", "view_app"),
    "serve": ("mktflow.cli.serve", "serve"),
    "deploy": ("mktflow.cli.serve", "deploy"),
    "process": ("mktflow.cli.process", "process_app"),
    "server": ("mktflow.cli.server", "server_app"),
    "token": ("mktflow.cli.token", "token_app"),
    "session": ("mktflow.cli.session", "session_app"),
    "run": ("mktflow.cli.process", "run"),
    "demo": ("mktflow.cli.process", "demo"),
    "inbox": ("mktflow.cli.inbox", "inbox_cmd"),
    "history": ("mktflow.cli.inbox", "history_cmd"),
}

#: Top-level names whose every command answers and exits (one read or one engine command):
#: they run without the cyclic garbage collector, which on Python 3.11 spends about 0.09 s of
#: their start-up walking the objects their imports create (measured on ``mktflow inbox``);
#: a process that short frees everything at exit. Long-running commands (``serve``, ``api``,
#: ``outbox``, ``process``, ...) keep it.
ONE_SHOT = frozenset({"inbox", "history", "work", "handoff"})


def _noop() -> None:
    """Keeps a one-command tree a group, as in the whole tree (``mktflow inbox ...``)."""


def build(only: str | None = None) -> typer.Typer:
    """The ``mktflow`` app with every top-level command and group, or only the one named
    ``only`` (a key of ``TREE``; KeyError otherwise)."""
    if only is not None and only not in TREE:
        raise KeyError(only)
    app = typer.Typer(
        name="mktflow",
        help="Marketing processes and department handoffs, run as Prefect flows.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name, (module, attr) in TREE.items():
        if only not in (None, name):
            continue
        part = getattr(importlib.import_module(module), attr)
        if isinstance(part, typer.Typer):
            app.add_typer(part, name=name)
        else:
            app.command(name)(part)
            if only is not None:  # one command alone would become the whole program
                app.callback()(_noop)
    return app
