"""Notice latency (issue 22): from the commit of a change to a receiver on 127.0.0.1 having its
notice, with the continuous relay running as ``mktflow serve`` runs it.

    .venv/bin/python -m bench.notice_latency [--database sqlite|postgresql] [--changes 40]

Set-up per database: a migrated scratch database with the demo organisation; tech gets three
channels, a signed webhook and a Slack-compatible hook (one ``WebhookReceiver``, paths
``/hook`` and ``/slack``) and e-mail to an ``SmtpReceiver`` (aiosmtpd), all on 127.0.0.1;
Olga (marketing) gets an e-mail channel of her own for her sign-in links. The relay is the one
``mktflow serve`` starts: ``build_relay(settings, engine=...)`` in a ``RelayThread`` with the
shipped settings (SQLite: it reads every ``MKTFLOW_RELAY_WAKE_POLL_S``; PostgreSQL: woken by
the commit's NOTIFY). No Prefect server: serve's relay is a thread beside the flows.

* **figure**: the changes are made one after another through the engine, as a door makes
  them: a handoff offered by marketing to tech (``handoffs.offer``: one commit, a notice to
  each of tech's three channels) and a sign-in link sent to Olga (``send_sign_in_link``, what
  "Send me a link" does after answering: one commit, one e-mail). The clock starts when the
  engine call returns (the change is committed) and stops when the receiver has the notice
  (stamped by the receiver on arrival). After each change, a random pause of 0 to 0.5 s, so
  the commits fall anywhere in the relay's wait. p95 per channel.
* **baseline**: the receiver's own round trip: the same kind of message sent directly by the
  relay's deliverer (the same pooled httpx client, the same SMTP mailer), from the call to the
  receiver having it; no database. p95 per channel.

**Target: p95 <= 2 s** (the issue; before, the once-a-minute relay took 7-58 s). The ratio
(figure / baseline) shows what the outbox and the relay add to a direct send.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench._records import pct, record, write

NAME = "notice_latency"
SECRET_ENV = "MKTFLOW_BENCH_HOOK_SECRET"
OLGA = "olga.petrova@example.com"
TECH_MAIL = "tech-team@example.com"
#: The channels measured: (record suffix, what the docs call it).
KINDS = (("webhook", "signed webhook"), ("slack", "Slack-compatible hook"),
         ("email", "e-mail (handoff notice)"), ("sign-in", "e-mail (sign-in link)"))
TARGET_S = 2.0


class _Arrivals:
    """When each notice reached a receiver: ``perf_counter`` stamps by kind, in order."""

    def __init__(self) -> None:
        self.stamps: dict[str, list[float]] = {kind: [] for kind, _ in KINDS}
        self._lock = threading.Lock()

    def arrived(self, kind: str) -> None:
        with self._lock:
            self.stamps[kind].append(time.perf_counter())

    def count(self, kind: str) -> int:
        with self._lock:
            return len(self.stamps[kind])

    def wait_for(self, wanted: dict[str, int], limit_s: float = 120.0) -> dict[str, float]:
        """Wait until each kind has ``wanted[kind]`` arrivals; the last stamp of each."""
        give_up = time.perf_counter() + limit_s
        while any(self.count(k) < n for k, n in wanted.items()):
            if time.perf_counter() > give_up:
                raise RuntimeError(f"notices missing after {limit_s:g} s: wanted {wanted}, "
                                   f"got { {k: self.count(k) for k in wanted} }")
            time.sleep(0.0005)
        with self._lock:
            return {k: self.stamps[k][n - 1] for k, n in wanted.items()}


def _receivers(arrivals: _Arrivals) -> tuple[Any, Any]:
    """The webhook receiver (stamping /hook and /slack) and the SMTP receiver (stamping each
    mail by its recipient), both started."""
    from mktflow.notify.testing import ReceivedRequest, SmtpReceiver, WebhookReceiver

    def respond(r: ReceivedRequest) -> tuple[int, float]:
        arrivals.arrived("slack" if r.path.startswith("/slack") else "webhook")
        return 200, 0.0

    class Stamped(list[Any]):
        def append(self, mail: Any) -> None:
            arrivals.arrived("sign-in" if OLGA in mail.rcpt_tos else "email")
            super().append(mail)

    hooks = WebhookReceiver(respond).__enter__()
    smtp = SmtpReceiver().__enter__()
    smtp.mails = Stamped()
    return hooks, smtp


def _settings(smtp_port: int, api_url: str) -> Any:
    """The shipped settings, with e-mail to the local SMTP receiver."""
    from mktflow.config import Settings

    return Settings(smtp_host="127.0.0.1", smtp_port=smtp_port, api_url=api_url,
                    sign_in_link_secret=f"bench-{uuid.uuid4().hex}")


def _channels(engine: Any, hook_url: str) -> None:
    from mktflow.domain.organisation import ChannelSpec
    from mktflow.engine.channels import add_channel
    from mktflow.store.uow import UnitOfWork

    for spec in (ChannelSpec(department="tech", type="webhook", url=f"{hook_url}/hook",
                             secret_env=SECRET_ENV),
                 ChannelSpec(department="tech", type="slack", url=f"{hook_url}/slack"),
                 ChannelSpec(department="tech", type="email", to=TECH_MAIL),
                 ChannelSpec(department="marketing", type="email", to=OLGA, member=OLGA)):
        add_channel(UnitOfWork(engine), spec)


def _changes(engine: Any, settings: Any, arrivals: _Arrivals, handoffs_n: int,
             sign_ins: int, rng: random.Random) -> dict[str, list[float]]:
    """Make the changes one by one; the commit-to-receiver seconds of each notice, by kind."""
    from mktflow.domain import clock as clocks
    from mktflow.engine import handoffs
    from mktflow.engine.credentials import send_sign_in_link
    from mktflow.store.uow import UnitOfWork

    latencies: dict[str, list[float]] = {kind: [] for kind, _ in KINDS}
    plan = ["handoff"] * handoffs_n + ["sign-in"] * sign_ins
    rng.shuffle(plan)
    for i, change in enumerate(plan):
        seen = {kind: arrivals.count(kind) for kind, _ in KINDS}
        uow = UnitOfWork(engine, settings=settings)
        if change == "handoff":
            handoffs.offer(uow, actor_email=OLGA, from_department="marketing",
                           to_department="tech", title=f"Prototype {i}",
                           due_at=clocks.now() + timedelta(days=60))
            committed = time.perf_counter()
            wanted = {k: seen[k] + 1 for k in ("webhook", "slack", "email")}
        else:
            send_sign_in_link(uow, OLGA)
            committed = time.perf_counter()
            wanted = {"sign-in": seen["sign-in"] + 1}
        for kind, stamp in arrivals.wait_for(wanted).items():
            latencies[kind].append(stamp - committed)
        time.sleep(rng.uniform(0.0, 0.5))
    return latencies


def _direct(engine: Any, relay: Any, arrivals: _Arrivals, repeat: int) -> dict[str, list[float]]:
    """The baseline: each kind's message (one the relay sent, under a new id) sent by the
    relay's deliverer directly, ``repeat`` times; call-to-receiver seconds, by kind."""
    from dataclasses import replace

    from sqlalchemy import select

    from mktflow.notify.render import Envelope
    from mktflow.store.tables import Channel, OutboxMessage

    o, c = OutboxMessage.__table__, Channel.__table__  # type: ignore[attr-defined]
    envelopes: dict[str, Envelope] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(o, c.c.type, c.c.url, c.c.to_address, c.c.secret_env)
                                .join(c, o.c.channel_id == c.c.id)):
            kind = ("sign-in" if row.type == "email" and row.recipient_email == OLGA
                    else {"webhook": "webhook", "slack": "slack", "email": "email"}[row.type])
            envelopes.setdefault(kind, Envelope(
                id=row.id, event=row.event, subject=row.subject, payload=dict(row.payload),
                link=row.link, created_at=row.created_at, attempt=1, channel_id=row.channel_id,
                channel_type=row.type, url=row.url, to=row.to_address,
                secret_env=row.secret_env, department=row.department,
                recipient=row.recipient_email))
    latencies: dict[str, list[float]] = {kind: [] for kind, _ in KINDS}
    for _ in range(repeat):
        for kind, envelope in envelopes.items():
            seen = arrivals.count(kind)
            started = time.perf_counter()
            relay.deliverer.deliver(replace(envelope, id=uuid.uuid4().hex))
            latencies[kind].append(arrivals.wait_for({kind: seen + 1})[kind] - started)
    return latencies


def measure(database: str, handoffs_n: int, sign_ins: int) -> dict[str, Any]:
    """One database: set up, run serve's relay, make the changes, then the direct sends."""
    from bench._kit import database as scratch
    from bench._kit import migrated_engine
    from mktflow.notify.relay import RelayThread, build_relay

    arrivals = _Arrivals()
    hooks, smtp = _receivers(arrivals)
    rng = random.Random(22)
    try:
        with scratch(database) as url:
            engine = migrated_engine(url)
            try:
                _channels(engine, hooks.url)
                settings = _settings(smtp.port, "http://127.0.0.1:8787")
                relay = build_relay(settings, engine=engine, env={SECRET_ENV: "bench-secret"})
                thread = RelayThread(relay).start()
                try:
                    changes = _changes(engine, settings, arrivals, handoffs_n, sign_ins, rng)
                finally:
                    if not thread.stop():
                        raise RuntimeError("the relay thread did not stop")
                    if thread.error is not None:
                        raise RuntimeError(f"the relay stopped: {thread.error}")
                with build_relay(settings, engine=engine,
                                 env={SECRET_ENV: "bench-secret"}) as direct_relay:
                    direct = _direct(engine, direct_relay, arrivals,
                                     max(handoffs_n, sign_ins))
                notified = relay.notified
            finally:
                engine.dispose()
    finally:
        hooks.__exit__()
        smtp.__exit__()
    return {"database": database, "handoffs": handoffs_n, "sign_ins": sign_ins,
            "wake_poll_s": settings.relay_wake_poll_s, "notified": notified,
            "relay_s": changes, "direct_s": direct}


def _records(m: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    out = []
    wake = ("woken by the commit's NOTIFY" if m["database"] == "postgresql"
            else f"reading every {m['wake_poll_s']:g} s (MKTFLOW_RELAY_WAKE_POLL_S)")
    for kind, words in KINDS:
        relay, direct = m["relay_s"][kind], m["direct_s"][kind]
        change = ("sign-in link sent" if kind == "sign-in" else "handoff offered")
        out.append(record(
            f"{NAME}.{kind}", figure=pct(relay, 0.95),
            unit="s (p95)", baseline=pct(direct, 0.95),
            baseline_name=f"the same {words} sent directly by the relay's deliverer",
            target=f"<= {TARGET_S:g} s", database=m["database"],
            notes=(f"{words}: commit of a {change} -> receiver on 127.0.0.1 has it, "
                   f"{len(relay)} changes, p50 {pct(relay, 0.5):.3f} s, max "
                   f"{max(relay):.3f} s; serve's continuous relay (RelayThread, shipped "
                   f"settings) {wake}; direct send p50 {pct(direct, 0.5):.3f} s")))
    return out


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Quick: SQLite, 3 handoffs and 2 sign-in links (a few seconds, most of them the
    migration); full: 40 and 20 on each database."""
    plan = [("sqlite", 3, 2)] if quick else [("sqlite", 40, 20), ("postgresql", 40, 20)]
    runs = [measure(database, h, s) for database, h, s in plan]
    write(out, NAME.replace("_", "-"), {"runs": runs})
    return [r for m in runs for r in _records(m, quick)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--changes", type=int, default=40, help="handoffs (half as many links)")
    args = parser.parse_args()
    m = measure(args.database, args.changes, max(1, args.changes // 2))
    print(json.dumps(_records(m, quick=False), indent=2))


if __name__ == "__main__":
    main()
