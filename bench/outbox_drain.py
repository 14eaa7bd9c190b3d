"""How fast does one relay drain the outbox? Queues N due webhook messages and drains them.

    .venv/bin/python bench/outbox_drain.py                       # 1000 messages, SQLite
    .venv/bin/python bench/outbox_drain.py --database postgresql --messages 5000
    .venv/bin/python bench/outbox_drain.py --concurrency 20 --batch-size 200

The receiver is a real HTTP server on 127.0.0.1 in its own process (so it does not compete
with the relay for the GIL); it answers 200 at once. The drain is what ``mktflow outbox
drain`` runs: claim a batch, send it over a pooled httpx client, mark it, repeat. Prints one
result line; ``--json`` prints it as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SECRET_ENV = "MKTFLOW_BENCH_HOOK_SECRET"

_RECEIVER = """
import sys
from mktflow.notify.testing import WebhookReceiver
with WebhookReceiver() as rx:
    print(rx.url, flush=True)
    sys.stdin.read()
    print(len(rx.requests), len(set(rx.keys())), flush=True)
"""


def _database(kind: str) -> tuple[str, Any]:
    """A fresh database URL and a function that drops it afterwards."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="mktflow-bench-"))
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    import psycopg

    name = f"mktflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def _prepare(url: str, hook_url: str, messages: int) -> Any:
    """Migrate, load the demo organisation, add a webhook channel, queue the messages."""
    from mktflow.config import normalise_database_url
    from mktflow.domain.organisation import ChannelSpec
    from mktflow.engine.channels import add_channel
    from mktflow.engine.organisation import load_organisation, read_organisation_file
    from mktflow.store.db import engine_for
    from mktflow.store.migrate import upgrade
    from mktflow.store.tables import OutboxMessage
    from mktflow.store.uow import UnitOfWork

    engine = engine_for(normalise_database_url(url))
    upgrade(engine)
    load_organisation(UnitOfWork(engine), read_organisation_file(None, demo=True),
                      source="demo")
    hook = add_channel(UnitOfWork(engine), ChannelSpec(
        department="tech", type="webhook", url=f"{hook_url}/bench", secret_env=SECRET_ENV))
    with UnitOfWork(engine) as uow:
        for i in range(messages):
            uow.outbox(OutboxMessage(
                id="", event="bench.ping", subject=f"W-{i} bench", channel_id=hook.id,
                department="tech", payload={"ref": f"W-{i}", "for": "the tech department",
                                            "due": "2040-01-01T09:00:00+00:00"},
                link=f"http://127.0.0.1:8787/work/{i}"))
        uow.commit()
    return engine


def run(database: str, messages: int, concurrency: int, batch_size: int) -> dict[str, Any]:
    """Queue ``messages`` due messages and time one drain; returns the measurements."""
    from mktflow.config import Settings
    from mktflow.notify.relay import build_relay

    receiver = subprocess.Popen([sys.executable, "-c", _RECEIVER], cwd=ROOT, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert receiver.stdout is not None and receiver.stdin is not None
    hook_url = receiver.stdout.readline().strip()
    url, drop = _database(database)
    try:
        engine = _prepare(url, hook_url, messages)
        settings = Settings(relay_concurrency=concurrency, relay_batch_size=batch_size,
                            relay_lease_s=max(300.0, 10.0 * batch_size / concurrency + 1))
        with build_relay(settings, engine=engine, env={SECRET_ENV: "bench-secret"}) as relay:
            started = time.perf_counter()
            summary = relay.drain()
            elapsed = time.perf_counter() - started
        engine.dispose()
    finally:
        receiver.stdin.close()
        received, distinct = (int(x) for x in receiver.stdout.readline().split())
        receiver.wait(10)
        drop()
    return {
        "database": database, "messages": messages, "concurrency": concurrency,
        "batch_size": batch_size, "sent": summary.sent, "received": received,
        "distinct_keys": distinct, "seconds": round(elapsed, 3),
        "per_second": round(summary.sent / elapsed, 1),
    }


def main() -> None:
    """Parse options, run, print the result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.database, args.messages, args.concurrency, args.batch_size)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"outbox drain: {result['sent']}/{result['messages']} sent "
              f"({result['received']} received, {result['distinct_keys']} distinct keys) "
              f"on {result['database']}, concurrency {result['concurrency']}, batch "
              f"{result['batch_size']}: {result['seconds']} s, {result['per_second']} msg/s")
    if result["sent"] != result["messages"] or result["distinct_keys"] != result["messages"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
