"""Pages and API under load: 50 members at once for 60 s against a served mktflow, on a
department of 10,000 open work items in a database of 1,000,000 (issue 22, target 5: each
page's p95 <= 1.5x its JSON twin's, no error).

    .venv/bin/python -m bench --only page_load [--quick]
    .venv/bin/python -m bench.page_load [sqlite|postgresql] [TOTAL] [OPEN] [MEMBERS] [SECONDS]

The rows are bulk-loaded by ``bench.inbox.load_department`` (the inbox benchmark's database);
the organisation is the demo one with 45 more marketing specialists (50 in marketing, their
languages English, Spanish, Chinese and Russian in turn). mktflow is served as users run it,
``mktflow api serve`` (uvicorn, the REST API and the pages) in a process of its own on
127.0.0.1. Each member signs in to the pages with a member token (``POST /sign-in``, as the
sign-in form does; the session cookie kept) and reads the API with the same token
(``Authorization: Bearer``), then asks, one request after another for the whole window, in
turn: the department's queue page (``GET /inbox/marketing`` as a browser asks), its JSON twin
(the same address with ``Accept: application/json``: the first page of 50), the page of a
random open marketing work item (``GET /work/W-n``) and its JSON twin. An answer other than
200 with the expected content type is an error.

Each record is a page's p95 under that load with its JSON twin's p95 as the baseline (target
"<= 1.5x"; not met either when any request failed). The notes give the p50s, the requests
per second, the errors and each request alone (a specialist's client, before the load). The
page handlers are then profiled in this process (pyinstrument; the handler called with a
signed-in request as the app calls it, as a specialist and as the head, whose item page lists
whom they may assign it to) beside their JSON twins' engine calls, with the SQL statements each
runs: the profiles go to ``bench/results/page-load-profile-<database>.txt``. Quick mode:
20,000 items, 500 open, 5 members for 5 s, SQLite only.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._kit import DATABASES, ROOT, database, migrated_engine, percentile, record
from bench._records import clean_env, interrupt
from bench.inbox import load_department
from mktflow.domain import clock as clocks
from mktflow.notify.testing import free_port

RATIO = 1.5
DEPARTMENT = "marketing"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
LANGUAGES = (None, "es", "zh", "ru")
#: The four requests: (name, HTML page or JSON, its path for item number n).
REQUESTS = ("queue_page", "queue_json", "item_page", "item_json")


def _is_page(kind: str) -> bool:
    return kind.endswith("_page")


def _path(kind: str, item: int) -> str:
    return f"/inbox/{DEPARTMENT}" if kind.startswith("queue") else f"/work/W-{item}"


def _organisation(members: int) -> Any:
    """The demo organisation with marketing grown to ``members`` (its 5 and specialists)."""
    from importlib import resources

    import yaml

    from mktflow.domain.organisation import parse_organisation
    from mktflow.engine.calendars import known_countries
    from mktflow.engine.organisation import DEMO_FILE

    raw = yaml.safe_load(resources.files("mktflow.demo").joinpath(DEMO_FILE).read_text("utf-8"))
    have = sum(1 for m in raw["members"] if m["department"] == DEPARTMENT)
    for i in range(1, members - have + 1):
        extra = {"name": f"Bench Member {i}", "email": f"bench.member{i:02d}@example.com",
                 "department": DEPARTMENT, "branch": "hq", "role": "specialist"}
        language = LANGUAGES[i % len(LANGUAGES)]
        if language:
            extra["language"] = language
        raw["members"].append(extra)
    return parse_organisation(raw, "<bench>/page-load-organisation",
                              countries=known_countries())


@contextmanager
def served(url: str, data_dir: Path) -> Iterator[tuple[str, int]]:
    """``mktflow api serve`` on 127.0.0.1 for the database ``url`` (data folder ``data_dir``)
    in a process of its own; its base URL and process id once ``/health`` answers. Ctrl-C'd
    afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(MKTFLOW_DATABASE_URL=url, MKTFLOW_DATA_DIR=str(data_dir),
                    MKTFLOW_API_URL=base)
    log = data_dir / "api-serve.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "mktflow.cli", "api", "serve", "--port",
                                 str(port)], env=env, cwd=ROOT, stdout=sink,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mktflow api serve did not start:\n"
                                   + log.read_text("utf-8", "replace")[-3000:])
            time.sleep(0.2)
        try:
            yield base, proc.pid
        except Exception as exc:
            exc.add_note("mktflow api serve's log:\n"
                         + log.read_text("utf-8", "replace")[-4000:])
            raise
    finally:
        interrupt(proc)


async def _sign_in(client: httpx.AsyncClient, base: str, token: str) -> None:
    """Sign in on the pages as the sign-in form does; the client keeps the session cookie."""
    form = await client.get("/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if form.status_code != 200 or csrf is None:
        raise RuntimeError(f"no sign-in form: {form.status_code} {form.text[:300]}")
    r = await client.post("/sign-in", content=str(httpx.QueryParams(
        {"token": token, "next": "/my-work", "csrf": csrf.group(1)})), headers={
        "Origin": base, "Sec-Fetch-Site": "same-origin",
        "Content-Type": "application/x-www-form-urlencoded"})
    if r.status_code != 303 or "mktflow_session" not in client.cookies:
        raise RuntimeError(f"sign-in refused: {r.status_code} {r.text[:300]}")


class _Member:
    """One signed-in member's browser and API client."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.client = httpx.AsyncClient(base_url=base, timeout=60,
                                        headers={"Accept": BROWSER},
                                        limits=httpx.Limits(max_connections=1))

    async def ask(self, kind: str, item: int) -> tuple[float, str | None]:
        """One request: its wall time (s) and what was wrong with the answer (None: right)."""
        page = _is_page(kind)
        headers = {} if page else {"Accept": "application/json",
                                   "Authorization": f"Bearer {self.token}"}
        start = time.perf_counter()
        try:
            r = await self.client.get(_path(kind, item), headers=headers)
            body = r.content
        except httpx.HTTPError as exc:
            return time.perf_counter() - start, f"{type(exc).__name__}: {exc}"
        took = time.perf_counter() - start
        wanted = "text/html" if page else "application/json"
        if r.status_code != 200 or not r.headers.get("content-type", "").startswith(wanted):
            return took, f"{kind} {r.status_code} {r.headers.get('content-type')} {body[:200]!r}"
        return took, None


def _cpu_s(pid: int) -> float:
    """The CPU time (user + system, s) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(base: str, tokens: list[str], seconds: float, open_items: int,
                 alone: int, server: int) -> dict[str, Any]:
    """Sign everyone in; each request ``alone`` times by one client (a specialist's); then
    every member asks for ``seconds``, one request after another. Wall times (s) per kind."""
    members = [_Member(base, t) for t in tokens]
    rng = random.Random(5)
    try:
        for chunk in range(0, len(members), 10):
            await asyncio.gather(*(_sign_in(m.client, base, m.token)
                                   for m in members[chunk:chunk + 10]))
        solo: dict[str, list[float]] = {k: [] for k in REQUESTS}
        specialist = members[min(2, len(members) - 1)]  # the first two are head and deputy
        for _ in range(alone + 2):  # the first two warm the server's pool and caches
            for kind in REQUESTS:
                took, wrong = await specialist.ask(kind, rng.randint(1, open_items))
                if wrong:
                    raise RuntimeError(f"a request alone failed: {wrong}")
                solo[kind].append(took)
        times: dict[str, list[float]] = {k: [] for k in REQUESTS}
        errors: list[str] = []
        start = time.perf_counter()
        deadline = start + seconds
        cpu = (_cpu_s(server), time.process_time())

        async def member(i: int, m: _Member) -> None:
            mine = random.Random(i)
            turn = i
            while time.perf_counter() < deadline:
                kind = REQUESTS[turn % len(REQUESTS)]
                turn += 1
                took, wrong = await m.ask(kind, mine.randint(1, open_items))
                times[kind].append(took)
                if wrong:
                    errors.append(wrong)

        await asyncio.gather(*(member(i, m) for i, m in enumerate(members)))
        elapsed = time.perf_counter() - start
        server_cpu, client_cpu = _cpu_s(server) - cpu[0], time.process_time() - cpu[1]
    finally:
        await asyncio.gather(*(m.client.aclose() for m in members))
    return {"times": times, "errors": errors, "elapsed": elapsed, "server_cpu": server_cpu,
            "client_cpu": client_cpu,
            "alone": {k: v[2:] for k, v in solo.items()}}


def _profile(engine: Any, settings: Any, specialist: str, head: str, kind: str, out: Path,
             repeat: int) -> str:
    """Profile each page handler (``repeat`` calls, as the app calls it for a signed-in
    member: a specialist, and the head, whose item page lists whom they may assign it to)
    and its JSON twin's engine call and serialisation, in this thread; written to
    ``out/page-load-profile-<kind>.txt``. Returns each one's mean time (profiler off) and
    SQL statements per call, as a line."""
    from pydantic import TypeAdapter
    from pyinstrument import Profiler
    from sqlalchemy import event
    from starlette.requests import Request

    from mktflow import web
    from mktflow.api.app import create_app
    from mktflow.engine import queries, web_sessions
    from mktflow.engine.views import InboxPage, show_item
    from mktflow.store.uow import UnitOfWork
    from mktflow.web.session import COOKIE, Session

    app = create_app(engine, settings=settings)
    cookies = {}
    for email in {specialist, head}:
        opened = web_sessions.open_session(UnitOfWork(engine), email, signed_in_by="token")
        cookies[email] = app.state.web.keys.dump(Session.signed_in(opened.secret))

    def request(path: str, email: str) -> Request:
        return Request({
            "type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
            "root_path": "", "scheme": "http", "query_string": b"", "http_version": "1.1",
            "headers": [(b"host", b"127.0.0.1"), (b"accept", BROWSER.encode()),
                        (b"cookie", f"{COOKIE}={cookies[email]}".encode())],
            "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 50000), "app": app})

    inbox_json = TypeAdapter(InboxPage)
    adapters: dict[type, TypeAdapter[Any]] = {}

    def page(handler: Any, path: str, email: str, *args: str) -> Any:
        r = handler(request(path, email), *args)
        assert r.status_code == 200, r.body[:300]
        return r

    def queue_json() -> bytes:
        found = queries.inbox_page(UnitOfWork(engine), DEPARTMENT, limit=50, reader=specialist)
        return inbox_json.dump_json(found)

    def item_json() -> bytes:
        item = show_item(UnitOfWork(engine), "W-1", reader=specialist)
        adapter = adapters.setdefault(type(item), TypeAdapter(type(item)))
        return adapter.dump_json(item)

    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    sections, means = [], []
    for name, call in (
            ("queue page: web.inbox_page", lambda: page(
                web.inbox_page, f"/inbox/{DEPARTMENT}", specialist, DEPARTMENT)),
            ("queue JSON twin: queries.inbox_page + JSON", queue_json),
            ("item page: web.item_page", lambda: page(
                web.item_page, "/work/W-1", specialist, "work", "W-1")),
            ("item page as the head: web.item_page", lambda: page(
                web.item_page, "/work/W-1", head, "work", "W-1")),
            ("item JSON twin: show_item + JSON", item_json)):
        call()  # warm
        event.listen(engine, "before_cursor_execute", count)
        statements[0] = 0
        t0 = time.perf_counter()
        for _ in range(repeat):
            call()
        mean_ms = (time.perf_counter() - t0) / repeat * 1000
        event.remove(engine, "before_cursor_execute", count)
        per_call = statements[0] / repeat
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(repeat):
            call()
        profiler.stop()
        means.append(f"{name.split(':')[0]} {mean_ms:.1f} ms, {per_call:.0f} statements")
        sections.append(f"## {name}: {repeat} calls, mean {mean_ms:.1f} ms (profiler off), "
                        f"{per_call:.0f} SQL statements per call\n\n"
                        + profiler.output_text(unicode=False, color=False, show_all=False))
    (out / f"page-load-profile-{kind}.txt").write_text(
        f"# pyinstrument profiles of the page handlers and their JSON twins ({kind}), "
        f"signed in as {specialist} (specialist) and {head} (head), in the bench process "
        "after the load\n\n" + "\n".join(sections), "utf-8")
    return "; ".join(means)


def measure(kind: str, total: int, open_items: int, members: int, seconds: float,
            out: Path, *, quick: bool = False) -> list[dict[str, Any]]:
    """Load one fresh database of ``kind``, serve it, drive ``members`` for ``seconds``."""
    from mktflow.config import Settings
    from mktflow.engine.credentials import issue_token
    from mktflow.engine.organisation import load_organisation
    from mktflow.store.uow import UnitOfWork

    spec = _organisation(max(members, 50))
    emails = [m.email for m in spec.members if m.department == DEPARTMENT][:members]
    with database(kind) as url, tempfile.TemporaryDirectory(prefix="mktflow-bench-") as tmp:
        data_dir = Path(tmp)
        engine = migrated_engine(url, org=False)
        try:
            load_organisation(UnitOfWork(engine), spec, source="bench")
            load_s = load_department(engine, total, open_items, clocks.now())
            tokens = [issue_token(UnitOfWork(engine), e).token for e in emails]
            with served(url, data_dir) as (base, pid):
                run = asyncio.run(_drive(base, tokens, seconds, open_items,
                                         alone=5 if quick else 20, server=pid))
            profiled = _profile(engine, Settings(data_dir=data_dir, database_url=url),
                                emails[min(2, len(emails) - 1)], emails[0], kind, out,
                                repeat=3 if quick else 20)
        finally:
            engine.dispose()
    ms = {k: [t * 1000 for t in v] for k, v in run["times"].items()}
    alone = {k: statistics.median(v) * 1000 for k, v in run["alone"].items()}
    count = sum(len(v) for v in ms.values())
    rate = count / run["elapsed"]
    errors: list[str] = run["errors"]
    p95 = {k: percentile(v, 95) for k, v in ms.items()}
    p50 = {k: statistics.median(v) for k, v in ms.items()}
    shared = (f"{members} members signed in, each asking one request after another for "
              f"{seconds:.0f} s (queue page, queue JSON, item page, item JSON in turn) against "
              f"`mktflow api serve` on 127.0.0.1; {total:,} work items, {open_items:,} open in "
              f"{DEPARTMENT}; {count:,} requests, {rate:.0f} requests/s, {len(errors)} errors"
              + f"; the server used {run['server_cpu'] / run['elapsed']:.2f} CPU cores "
              f"({run['server_cpu'] / count * 1000:.1f} ms of CPU per request), the clients "
              f"{run['client_cpu'] / run['elapsed']:.2f}"
              + (f" (first: {errors[0][:200]})" if errors else "") + f"; load {load_s:.0f} s")
    records = []
    for page, twin, what in (("queue_page", "queue_json", "the department's queue page "
                              f"(GET /inbox/{DEPARTMENT}, a page of 50)"),
                             ("item_page", "item_json", "a work item's page (GET /work/W-n)")):
        ratio = p95[page] / p95[twin]
        records.append(record(
            f"page_load.{page}", figure=p95[page], unit="ms (p95)", baseline=p95[twin],
            baseline_name=f"its JSON twin, same load (p95, {len(ms[twin]):,} requests)",
            target=f"<= {RATIO}x", met=ratio <= RATIO and not errors, database=kind,
            notes=(f"{what}, {len(ms[page]):,} requests: p50 {p50[page]:.1f} ms, JSON twin "
                   f"p50 {p50[twin]:.1f} ms; alone (one client, median) page "
                   f"{alone[page]:.1f} ms, JSON {alone[twin]:.1f} ms; {shared}; handlers in "
                   f"process: {profiled} (bench/results/page-load-profile-{kind}.txt)"),
            requests=len(ms[page]), twin_requests=len(ms[twin]), errors=len(errors),
            requests_per_s=round(rate, 1),
            server_cpu_ms_per_request=round(run["server_cpu"] / count * 1000, 2),
            server_cores=round(run["server_cpu"] / run["elapsed"], 2),
            client_cores=round(run["client_cpu"] / run["elapsed"], 2),
            p50_ms={k: round(v, 2) for k, v in p50.items()},
            p95_ms={k: round(v, 2) for k, v in p95.items()},
            alone_ms={k: round(v, 2) for k, v in alone.items()}, members=members,
            seconds=seconds, total_items=total, open_items=open_items))
    return records


def run(quick: bool, out: Path) -> list[dict[str, Any]]:
    """Target 5 on both databases (1,000,000 items, 10,000 open, 50 members for 60 s; quick:
    20,000 items, 500 open, 5 members for 5 s, SQLite only)."""
    if quick:
        return measure("sqlite", 20_000, 500, 5, 5.0, out, quick=True)
    return [r for kind in DATABASES
            for r in measure(kind, 1_000_000, 10_000, 50, 60.0, out)]


if __name__ == "__main__":
    import json

    args = sys.argv[1:]
    kinds = [args[0]] if args else list(DATABASES)
    numbers = [float(a) for a in args[1:]] + [1_000_000, 10_000, 50, 60][len(args[1:]):]
    results = Path(os.environ.get("MKTFLOW_BENCH_OUT", ROOT / "bench" / "results"))
    results.mkdir(parents=True, exist_ok=True)
    for kind_ in kinds:
        for r in measure(kind_, int(numbers[0]), int(numbers[1]), int(numbers[2]), numbers[3],
                         results):
            print(json.dumps(r, indent=2))
