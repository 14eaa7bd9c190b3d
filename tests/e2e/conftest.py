"""The product as an operator runs it: ``mktflow serve`` on a fresh data folder, in Chromium.

Fixtures:

* ``served`` (session): a fresh data folder with a migrated SQLite database and the demo
  organisation, every department's notifications going to ``receiver`` (a real webhook on
  127.0.0.1), and ``mktflow serve`` as a subprocess (its output in ``serve.log``) on the local
  Prefect server it starts, with ``process-review`` overridden to run every minute. Teardown
  presses Ctrl-C (SIGINT to its process group) and checks the Prefect server log has no
  ``Traceback``.
* ``browser`` (module) / ``page``: Debian's Chromium driven by Playwright (never downloaded).
  A failing test leaves ``tests/e2e/artifacts/<test>.png`` and ``.html``.

Every wait has a timeout and fails saying what it waited for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from mktflow.notify.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("MKTFLOW_TEST_CHROMIUM", "/usr/bin/chromium")
#: Without the background-networking flags Chromium keeps calling Google on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MKTFLOW = str(Path(sys.executable).with_name("mktflow"))
PREFECT = str(Path(sys.executable).with_name("prefect"))
DEPARTMENTS = ("marketing", "sales", "tech", "production", "supply", "finance", "management")
HOOK_SECRET_ENV = "MKTFLOW_E2E_HOOK_SECRET"
#: The cycle whose schedule the session overrides to every minute (test_schedules).
EVERY_MINUTE_CYCLE = "process-review"

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, timeout: float, what: str,
               interval: float = 1.0) -> T:
    """Call ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except Exception as exc:  # keep waiting; report the last error
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last})")
        time.sleep(interval)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any MKTFLOW_/PREFECT_ setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MKTFLOW_", "PREFECT_"))}
    env.update(PYTHONUNBUFFERED="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


# --- the webhook receiver -------------------------------------------------------------------


@dataclass
class Delivery:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP receiver on 127.0.0.1 that records every POST and answers 200."""

    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Delivery]:
        """What arrived so far."""
        with self.lock:
            return list(self.deliveries)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free port of 127.0.0.1, in a thread."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with box[0].lock:
                headers = {k.lower(): v for k, v in self.headers.items()}
                box[0].deliveries.append(Delivery(self.path, headers, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(url=f"http://127.0.0.1:{server.server_port}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box[0]
    server.shutdown()
    server.server_close()


# --- mktflow serve ----------------------------------------------------------------------------


@dataclass
class Served:
    """``mktflow serve`` running on a fresh data folder."""

    data: Path
    env: dict[str, str]
    api_url: str  # mktflow's REST API (MKTFLOW_API_URL)
    ui_url: str  # the Prefect UI (and API at ui_url + /api)
    log: Path  # mktflow serve's output
    proc: subprocess.Popen[bytes]
    hook_secret: str

    @property
    def prefect_api(self) -> str:
        """The Prefect API of the served deployments."""
        return f"{self.ui_url}/api"

    @property
    def server_log(self) -> Path:
        """The local Prefect server's log."""
        return self.data / "prefect" / "server.log"

    def cli(self, *args: str, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``mktflow ARGS`` as a user would, in the served environment."""
        return run_cli(list(args), self.env, check=check, timeout=timeout)

    def cli_json(self, *args: str, timeout: float = 120) -> Any:
        """``mktflow ARGS --json``, parsed."""
        return json.loads(self.cli(*args, "--json", timeout=timeout).stdout)

    def prefect(self, method: str, path: str, body: Any = None) -> Any:
        """One call to the Prefect API (JSON in, JSON out)."""
        response = httpx.request(method, f"{self.prefect_api}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def flow_run(self, flow_run_id: str) -> dict[str, Any]:
        """A flow run as the Prefect API shows it."""
        return dict(self.prefect("GET", f"/flow_runs/{flow_run_id}"))

    def deployment(self, name: str) -> dict[str, Any]:
        """A deployment by ``<flow>/<deployment>`` name."""
        return dict(self.prefect("GET", f"/deployments/name/{name}"))

    def stop(self) -> bool:
        """Ctrl-C once, as in the terminal running it; False if it did not stop within 60 s."""
        return _stop(self.proc, presses=1)

    def tail(self, path: Path, lines: int = 60) -> str:
        """The end of a log file, for failure messages."""
        try:
            return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return f"({path} does not exist)"


def run_cli(args: list[str], env: dict[str, str], *, check: bool = True,
            timeout: float = 120, executable: str = MKTFLOW) -> subprocess.CompletedProcess[str]:
    """Run a command line tool; with ``check`` fail showing its output when it exits non-zero."""
    try:
        done = subprocess.run([executable, *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{Path(executable).name} {' '.join(args)}` did not finish within "
                    f"{timeout:.0f} s; output: {exc.stdout!r} {exc.stderr!r}")
    if check and done.returncode != 0:
        pytest.fail(f"`{Path(executable).name} {' '.join(args)}` exited {done.returncode}:\n"
                    f"{done.stdout}\n{done.stderr}")
    return done


def _wait_for_ui_link(log: Path, proc: subprocess.Popen[bytes]) -> str:
    def probe() -> str | None:
        if proc.poll() is not None:
            pytest.fail(f"mktflow serve exited {proc.returncode}:\n"
                        f"{log.read_text('utf-8', 'replace')}")
        found = re.search(r"Prefect UI: +(\S+?)/deployments", log.read_text("utf-8", "replace"))
        return found.group(1) if found else None

    return eventually(probe, timeout=180, what="mktflow serve to print its `Prefect UI:` link")


def _stop(proc: subprocess.Popen[bytes], *, presses: int = 2, timeout: float = 60) -> bool:
    """Ctrl-C (SIGINT to its process group), pressed again if it does not stop within
    ``timeout``; killed after ``presses``. True if Ctrl-C stopped it."""
    for _ in range(presses):
        if proc.poll() is not None:
            return True
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return False
    return True


def _kill_local_server(data: Path) -> None:
    """Stop a local Prefect server left behind (only the one of this data folder)."""
    try:
        state = json.loads((data / "prefect" / "server.json").read_text("utf-8"))
        os.killpg(int(state["pid"]), signal.SIGTERM)
    except (OSError, ValueError, KeyError, ProcessLookupError):
        pass


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Served]:
    """``mktflow serve`` on a fresh data folder, as the docs tell an operator to start it."""
    data = tmp_path_factory.mktemp("e2e-data")
    secret = f"e2e-{os.urandom(8).hex()}"
    env = clean_env(
        MKTFLOW_DATA_DIR=str(data),
        MKTFLOW_API_URL=f"http://127.0.0.1:{free_port()}",
        MKTFLOW_SCHEDULE_CRONS=json.dumps({EVERY_MINUTE_CYCLE: "* * * * *"}),
        **{HOOK_SECRET_ENV: secret},
    )
    run_cli(["db", "upgrade"], env)
    run_cli(["org", "load", "--demo"], env)
    for dept in DEPARTMENTS:
        run_cli(["channel", "add", dept, "--type", "webhook", "--url",
                 f"{receiver.url}/hooks/{dept}", "--secret-env", HOOK_SECRET_ENV], env)
    log = data / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([MKTFLOW, "serve"], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        ui_url = _wait_for_ui_link(log, proc).rstrip("/")
        status = json.loads(run_cli(["server", "status", "--json"], env).stdout)
        assert status.get("ui_url") == ui_url, (
            f"`mktflow serve` printed the UI {ui_url} but `mktflow server status` says {status}")
        site = Served(data=data, env=env, api_url=env["MKTFLOW_API_URL"], ui_url=ui_url,
                      log=log, proc=proc, hook_secret=secret)
        eventually(lambda: httpx.get(f"{site.prefect_api}/health", timeout=5).status_code == 200,
                   timeout=120, what=f"the Prefect API at {site.prefect_api}/health")
        eventually(lambda: httpx.get(ui_url, timeout=5).status_code == 200, timeout=60,
                   what=f"the Prefect UI at {ui_url}")
        eventually(lambda: len(site.prefect("POST", "/deployments/filter", {})) >= 10,
                   timeout=120, what="mktflow serve to register its 10 deployments")
        from mktflow.prefect.serving import READY_LINE

        # as the docs tell a script to: a run handed to a deployment before its runner first
        # asks for runs is refused as not served (``mktflow.prefect.runner.check_served``)
        eventually(lambda: READY_LINE in log.read_text("utf-8", "replace"), timeout=120,
                   what=f"mktflow serve to print {READY_LINE!r}")
        yield site
    finally:
        stopped = _stop(proc)  # at once when test_ctrl_c stopped it
        _kill_local_server(data)
        tracebacks = data.joinpath("prefect", "server.log").read_text("utf-8", "replace") \
            if data.joinpath("prefect", "server.log").exists() else ""
        _keep_logs(data)
    assert stopped, "mktflow serve did not stop after pressing Ctrl-C twice"
    assert "Traceback" not in tracebacks, (
        f"the Prefect server log has a Traceback: see {data / 'prefect' / 'server.log'}")
    # the local server's writes take SQLite's lock first (mktflow.prefect.patches): a resume
    # from the UI is never refused as "database is locked" (issue 20)
    assert "database is locked" not in tracebacks, (
        f"the Prefect server answered 'database is locked': see {data / 'prefect' / 'server.log'}")


def _keep_logs(data: Path) -> None:
    """Copy the session's logs next to the failure artifacts (CI keeps that folder)."""
    ARTIFACTS.mkdir(exist_ok=True)
    for name, path in (("serve.log", data / "serve.log"),
                       ("prefect-server.log", data / "prefect" / "server.log")):
        if path.exists():
            shutil.copyfile(path, ARTIFACTS / name)


@pytest.fixture
def mktflow_api(served: Served) -> str:
    """mktflow's REST API, which ``mktflow serve`` serves on MKTFLOW_API_URL's port."""
    def probe() -> bool:
        return httpx.get(f"{served.api_url}/health", timeout=5).status_code == 200

    eventually(probe, timeout=120, what=f"mktflow's REST API at {served.api_url}/health: "
               "`mktflow serve` must serve it (and its pages) on MKTFLOW_API_URL's port")
    return served.api_url


# --- the browser ------------------------------------------------------------------------------

#: How long a page action or assertion waits (ms), sized for a loaded 2-core machine.
PAGE_WAIT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright.

    One per module, not per session: while Playwright's sync API is open the main thread's
    event loop counts as running, which breaks the Prefect code of the tests that follow.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium as "
                    "root; else `sudo apt-get install -y chromium` or set MKTFLOW_TEST_CHROMIUM")
    from playwright.sync_api import expect, sync_playwright

    # a page's actions and its assertions wait as long: Playwright's 5 s for an assertion was
    # too short for the Prefect UI's debounced search on a loaded 2-core machine (CI)
    expect.set_options(timeout=PAGE_WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page; on failure its screenshot and HTML go to tests/e2e/artifacts/."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(PAGE_WAIT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        stem = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            page.screenshot(path=f"{stem}.png", full_page=True)
            stem.with_suffix(".html").write_text(page.content(), "utf-8")
        except Exception as exc:  # the page may be gone; the failure is what matters
            print(f"could not save the page of {request.node.name}: {exc}")
    context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests run one after another, after the other tests of their process, so
    no other test runs beside the browser's event loop or the served processes;
    ``test_schedules`` runs first (once it has seen the every-minute cycle run, it moves that
    schedule to once a year, so the other tests don't pay for a cycle run each minute);
    ``test_serve_stop`` presses Ctrl-C on the session's ``mktflow serve``, so it runs after
    every other end-to-end test. Under pytest-xdist (``make test``) one worker runs them all,
    in this order, while the others run the rest (``tests/conftest.py``)."""
    last = {"test_schedules.py": 1, "test_serve_stop.py": 3}

    def rank(item: pytest.Item) -> int:
        if ARTIFACTS.parent not in item.path.parents:
            return 0
        return last.get(item.path.name, 2)

    items.sort(key=rank)  # stable: the order within each group is kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test (``page`` saves a screenshot on failure) and add
    the end of mktflow serve's log to a failure report."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.failed and "served" in getattr(item, "funcargs", {}):
        site: Served = item.funcargs["served"]  # type: ignore[attr-defined]
        report.sections.append(("mktflow serve (last lines)", site.tail(site.log)))
        report.sections.append(("Prefect server log (last lines)", site.tail(site.server_log)))
