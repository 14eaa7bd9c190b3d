"""``mktflow channel``, ``mktflow outbox``, ``mktflow sla`` and ``mktflow digest``: channels,
the relay, the sweep, and each member's choice of a daily digest.

Like every command outside ``flows/``, these never import Prefect.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from mktflow.cli._kit import ActorOpt, JsonOpt, emit, plain, refusals, table, uow

__all__ = ["channel_app", "digest_app", "outbox_app", "sla_app"]

channel_app = typer.Typer(help="Where departments and members are told (webhook, Slack, "
                               "e-mail).", no_args_is_help=True)
outbox_app = typer.Typer(help="Notifications waiting to be sent, sent, or dead-lettered.",
                         no_args_is_help=True)
sla_app = typer.Typer(help="Escalation of overdue work.", no_args_is_help=True)
digest_app = typer.Typer(help="Each member's choice: one notice per change, or a daily digest.",
                         no_args_is_help=True)


def _log_to_stderr() -> None:
    """Show the relay's warnings (dead letters, failures) on stderr."""
    logger = logging.getLogger("mktflow.notify")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)


# --- channel ------------------------------------------------------------------------------


@channel_app.command("add")
def channel_add(
    department: Annotated[str, typer.Argument(help="Department told through the channel.")],
    type_: Annotated[str, typer.Option("--type", help="webhook, slack or email.")],
    url: Annotated[str | None, typer.Option("--url", help="Where webhook/slack posts.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Address an email channel writes "
                                                        "to.")] = None,
    secret_env: Annotated[str | None, typer.Option(
        "--secret-env", help="Environment variable holding the webhook's signing secret.")] = None,
    member: Annotated[str | None, typer.Option(
        "--member", help="Only this member's messages (a personal channel).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Add a channel; the secret stays in the environment variable it names."""
    from mktflow.domain.organisation import ChannelSpec
    from mktflow.engine.channels import add_channel, channel_label, channel_view

    with refusals(json_):
        spec = ChannelSpec(department=department, type=type_, url=url, to=to,
                           secret_env=secret_env, member=member)
        channel = add_channel(uow(), spec)
        emit(channel_view(channel, os.environ), json_, f"added {channel_label(channel)}")


@channel_app.command("list")
def channel_list(
    department: Annotated[str | None, typer.Option("--department")] = None,
    json_: JsonOpt = False,
) -> None:
    """Every channel, with whether its secret is set here (never the secret)."""
    from mktflow.engine.channels import list_channels

    with refusals(json_):
        rows = list_channels(uow(), env=os.environ, department=department)
        emit(rows, json_, lambda rs: table(
            [{**r, "where": r["url"] or r["to"],
              "secret": (r["secret_env"] + (" (set)" if r.get("secret_set") else " (NOT SET)"))
              if r["secret_env"] else ""} for r in rs],
            ["id", "department", "member", "type", "where", "secret", "source"],
            empty="no channels: messages are written to the outbox and marked skipped"))


@channel_app.command("remove")
def channel_remove(
    channel_id: Annotated[int, typer.Argument(help="The channel's id (see channel list).")],
    json_: JsonOpt = False,
) -> None:
    """Remove a channel added here; queued messages for it are skipped."""
    from mktflow.engine.channels import channel_label, channel_view, remove_channel

    with refusals(json_):
        channel = remove_channel(uow(), channel_id)
        emit(channel_view(channel), json_, f"removed {channel_label(channel)}")


# --- outbox -------------------------------------------------------------------------------


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(
        "--status", help="pending, sending, sent, dead, skipped, held or digested.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    json_: JsonOpt = False,
) -> None:
    """Outbox messages, newest first."""
    from mktflow.notify.outbox import list_messages

    with refusals(json_):
        rows = list_messages(uow(), status=status, limit=limit)
        emit(rows, json_, lambda rs: table(
            [{**r, "to": r["recipient"] or r["department"],
              "channel": f"{r['channel_id']} {r['channel_type'] or ''}".strip()
              if r["channel_id"] else "-"} for r in rs],
            ["id", "status", "event", "ref", "to", "channel", "attempts", "last_error"],
            empty="the outbox is empty" if status is None else f"no {status} messages"))


def _relay() -> Any:
    from mktflow import bootstrap
    from mktflow.notify.relay import build_relay

    wiring = bootstrap.wiring()
    return build_relay(wiring.settings, engine=wiring.database)


@outbox_app.command("drain")
def outbox_drain(json_: JsonOpt = False) -> None:
    """Send every message that is due now, then print what happened."""
    _log_to_stderr()
    with refusals(json_):
        with _relay() as relay:
            summary = relay.drain()
        emit(summary.as_dict(), json_, summary.line())


@outbox_app.command("retry")
def outbox_retry(
    message_id: Annotated[str, typer.Argument(help="The message id (see outbox list).")],
    json_: JsonOpt = False,
) -> None:
    """Send a dead-lettered (or waiting) message again at the next drain."""
    from mktflow.notify.outbox import message_view, retry_message

    with refusals(json_):
        message = retry_message(uow(), message_id)
        emit(message_view(message), json_, f"{message.id}: due again now")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM, so the relay can finish its batch and stop."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set())
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@outbox_app.command("relay")
def outbox_relay(json_: JsonOpt = False) -> None:
    """Keep sending due messages, woken by each new one, until stopped (Ctrl-C or SIGTERM
    finish the batch first); the relay `mktflow serve` runs, as a service of its own."""
    _log_to_stderr()
    with refusals(json_), _relay() as relay, _stop_on_signals() as stop:
        if not json_:
            typer.echo(f"relay {relay.relay_id} running; Ctrl-C to stop", err=True)
        total = relay.run(stop, on_drain=None if json_ else lambda s: typer.echo(s.line()))
        emit(total.as_dict(), json_, f"relay stopped: {total.line()}")


# --- sla ----------------------------------------------------------------------------------


@sla_app.command("sweep")
def sla_sweep(json_: JsonOpt = False) -> None:
    """Escalate overdue work items and handoffs that reached a new level (each level once)."""
    from mktflow.config import get_settings
    from mktflow.engine.sla import EscalationPolicy, sweep

    with refusals(json_):
        summary = sweep(uow(), EscalationPolicy.from_settings(get_settings()))
        emit(summary.as_dict(), json_, lambda s: "\n".join(
            [summary.line(), *(f"  {e['ref']}: level {e['level']} -> {e['to']}"
                               for e in s["escalations"])]))


# --- digest -------------------------------------------------------------------------------


def _choice_line(c: Any) -> str:
    if c.mode == "each":
        return f"{c.member}: each notice at once (a digest would be at {c.at} {c.zone})"
    return (f"{c.member}: a daily digest at {c.at} {c.zone} on the working days of "
            f"{c.calendar}" + (", with the department's part" if c.department_digest else ""))


@digest_app.command("show")
def digest_show(actor: ActorOpt, json_: JsonOpt = False) -> None:
    """How --as is told of changes addressed to them: each notice, or a daily digest."""
    from mktflow.engine.digests import show_choice

    with refusals(json_):
        emit(show_choice(uow(), actor), json_, _choice_line)


@digest_app.command("set")
def digest_set(
    actor: ActorOpt,
    mode: Annotated[str, typer.Option("--mode", help="each (one notice per change) or daily "
                                                     "(one digest a working day).")],
    at: Annotated[str | None, typer.Option(
        "--at", help="The digest's time of day, HH:MM in your working calendar's zone "
                     "(default 17:00).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Choose each notice at once, or a daily digest at a time of your working day (going back
    to each sends the notices still held, one by one)."""
    from mktflow.engine.digests import set_choice

    with refusals(json_):
        emit(set_choice(uow(), actor, mode=mode, at=at), json_, _choice_line)


@digest_app.command("preview")
def digest_preview(actor: ActorOpt, json_: JsonOpt = False) -> None:
    """--as's digest as it would read now, with the changes held so far (nothing is sent)."""
    from mktflow.engine.digests import member_digest
    from mktflow.notify.render import digest_text

    with refusals(json_):
        digest = member_digest(uow(), actor)
        emit(digest, json_, lambda d: digest_text(f"Digest of {d.member}, {d.day}", plain(d)))


@digest_app.command("send")
def digest_send(json_: JsonOpt = False) -> None:
    """Write every daily digest due now to the outbox (what the member-digests flow does every
    15 minutes); one a member a day: a second run the same day writes nothing."""
    from mktflow.engine.digests import send_due

    with refusals(json_):
        written = send_due(uow())
        emit(written, json_, lambda rows: table(rows, ["member", "day", "messages", "entries",
                                                       "changes"],
                                                empty="no digest due now"))
