"""Which Prefect API mktflow's flows run on, and the local Prefect server of embedded defaults.

In order: ``MKTFLOW_PREFECT_API_URL``; else Prefect's own ``PREFECT_API_URL`` (environment or
profile); else one local ``prefect server start`` on 127.0.0.1 for the data folder, started
detached on first need and reused by every later command (``<data>/prefect/server.json`` keeps
its pid and port while it runs; ``<data>/prefect/port`` keeps the port across stop and start, so
links already sent keep working). Its UI calls its own API (``PREFECT_UI_API_URL``). So a
paused ``mktflow run`` in one shell is resumed by ``mktflow work complete`` in another with
nothing configured.

The Prefect variables mktflow sets, for itself and for the processes it starts, are built here
and nowhere else (``prefect_env``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from mktflow.config import Settings, get_settings
from mktflow.domain import clock
from mktflow.domain.errors import ConfigError

__all__ = [
    "Connection",
    "ServerState",
    "connect",
    "ensure_local_server",
    "local_status",
    "prefect_env",
    "running_api_url",
    "server_env",
    "stop_local_server",
    "ui_calls",
]


@dataclass(frozen=True)
class ServerState:
    """The local server as its state file records it."""

    pid: int
    port: int
    api_url: str
    started_at: float

    @property
    def ui_url(self) -> str:
        """The Prefect UI of this server."""
        return self.api_url.removesuffix("/api")


@dataclass(frozen=True)
class Connection:
    """The Prefect API this process talks to."""

    api_url: str
    ui_url: str
    source: str  # "mktflow setting" | "prefect setting" | "local server (started)" | ...


def _folder(settings: Settings) -> Path:
    return Path(settings.data_dir).expanduser() / "prefect"


def prefect_env(settings: Settings, api_url: str | None = None) -> dict[str, str]:
    """Prefect variables for mktflow's processes and the local server it starts."""
    folder = _folder(settings)
    env = {
        "PREFECT_HOME": str(folder / "home"),
        "PREFECT_LOCAL_STORAGE_PATH": str(folder / "storage"),  # persisted task results
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _state_file(settings: Settings) -> Path:
    return _folder(settings) / "server.json"


def _read_state(settings: Settings) -> ServerState | None:
    try:
        return ServerState(**json.loads(_state_file(settings).read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        # as uvicorn binds: connections of a server just stopped (TIME_WAIT) do not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def _port_file(settings: Settings) -> Path:
    return _folder(settings) / "port"


def _remembered_port(settings: Settings, state: ServerState | None) -> int | None:
    """The port this data folder's server had; links already sent point at it."""
    try:
        return int(_port_file(settings).read_text("utf-8").strip())
    except (OSError, ValueError):
        return state.port if state else None  # a data folder from before the port file


#: Seconds between the local server's looks for paused runs whose pause timed out (Prefect's
#: default: 5). Each look loads every paused run whole, and every run waiting at a human step
#: is paused: measured with 10,000 campaigns waiting (PostgreSQL), the idle server used half
#: a core for it, and a hand-back with them all waiting took 2.2 s (p50; 1.2 s once it looked
#: every ten minutes, docs/benchmarks.md, waiting runs). A step's pause
#: lasts ``MKTFLOW_STEP_TIMEOUT_DAYS`` (180 days), so a look every ten minutes fails a timed-out
#: run at most ten minutes late. ``PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS`` in
#: the environment wins (docs/operations/prefect-server.md).
PAUSE_EXPIRY_LOOK_S = 600

_PAUSE_EXPIRY_LOOK = "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS"


def server_env(settings: Settings, port: int) -> dict[str, str]:
    """The environment of the local server: its UI must call its own API, not port 4200;
    paused runs looked at for expiry every ``PAUSE_EXPIRY_LOOK_S`` unless the environment
    says otherwise."""
    base = f"http://127.0.0.1:{port}"
    return {**prefect_env(settings), "PREFECT_UI_API_URL": f"{base}/api",
            "PREFECT_UI_URL": base,
            _PAUSE_EXPIRY_LOOK: os.environ.get(_PAUSE_EXPIRY_LOOK, str(PAUSE_EXPIRY_LOOK_S))}


def _choose_port(settings: Settings, state: ServerState | None) -> int:
    """The configured port, else the one this data folder had, else a free one."""
    if settings.prefect_port:
        port, why = settings.prefect_port, "MKTFLOW_PREFECT_PORT"
    else:
        remembered = _remembered_port(settings, state)
        if remembered is None:
            return _free_port()
        port, why = remembered, f"kept for this data folder in {_port_file(settings)}"
    if _port_taken(port):
        raise ConfigError(
            f"port {port} of the local Prefect server ({why}, so that links already sent "
            "keep working) is taken by another program: stop it, or set "
            "MKTFLOW_PREFECT_PORT to another port")
    return port


@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    """One command at a time starts or stops the local server of a data folder."""
    folder = _folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "server.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def local_status(settings: Settings | None = None) -> dict[str, Any]:
    """Whether the data folder's local server runs, where, and whether it answers."""
    settings = settings or get_settings()
    state = _read_state(settings)
    if state is None:
        return {"running": False, "port": _remembered_port(settings, None),
                "state_file": str(_state_file(settings)),
                "log": str(_folder(settings) / "server.log")}
    alive = _alive(state.pid)
    return {"running": alive, "healthy": alive and _healthy(state.api_url), **asdict(state),
            "ui_url": state.ui_url, "state_file": str(_state_file(settings)),
            "log": str(_folder(settings) / "server.log")}


def running_api_url(settings: Settings | None = None) -> str | None:
    """The data folder's local server's API URL while its process runs, else None. Asks the
    server nothing (``local_status`` also calls ``/health``, a throwaway HTTP client and a round
    trip): a caller about to call the API learns from its own call whether it answers."""
    settings = settings or get_settings()
    state = _read_state(settings)
    return state.api_url if state is not None and _alive(state.pid) else None


def _say(line: str) -> None:
    """A progress line for the person waiting (stderr: ``--json`` output stays clean)."""
    print(line, file=sys.stderr, flush=True)


def ensure_local_server(settings: Settings | None = None) -> tuple[ServerState, bool]:
    """The data folder's local Prefect server, started if it is not running; (state, started).

    Says on stderr that it starts the server (its first start takes up to a minute) and when
    it answers, so a command does not go quiet meanwhile."""
    settings = settings or get_settings()
    with _lock(settings):
        state = _read_state(settings)
        if state and _alive(state.pid) and _healthy(state.api_url):
            return state, False
        if state and _alive(state.pid):  # starting up (another command started it): wait
            _say(f"waiting for the local Prefect server on port {state.port} to answer "
                 "(another command started it)…")
            _wait_healthy(state, settings)
            return state, False
        port = _choose_port(settings, state)
        api_url = f"http://127.0.0.1:{port}/api"
        folder = _folder(settings)
        _say(f"starting the local Prefect server on port {port} for {folder} (the first "
             "start takes up to a minute)…")
        began = time.monotonic()
        (folder / "home").mkdir(parents=True, exist_ok=True)
        _seed_database(settings)
        log = open(folder / "server.log", "ab")  # noqa: SIM115 - handed to the child process
        proc = subprocess.Popen(
            [sys.executable, "-m", "mktflow.prefect.local_server", "start", "--host",
             "127.0.0.1", "--port", str(port)],  # Prefect's, with the SQLite changes
            env={**os.environ, **server_env(settings, port)}, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,  # outlives us
        )
        log.close()
        state = ServerState(pid=proc.pid, port=port, api_url=api_url,
                            started_at=clock.now().timestamp())
        _state_file(settings).write_text(json.dumps(asdict(state)), "utf-8")
        _port_file(settings).write_text(f"{port}\n", "utf-8")
        _wait_healthy(state, settings, proc)
        _say(f"the local Prefect server answers after {time.monotonic() - began:.0f} s: "
             f"{state.ui_url} (it keeps running; `mktflow server stop` stops it)")
        return state, True


def _seed_database(settings: Settings) -> None:
    """Give a data folder that has no Prefect database yet a copy of ``_template_database``.

    Prefect's server migrates an empty SQLite database at its first start (about 4 CPU-s on
    the 2-core machine, most of the first start's extra time); a copy of one migrated already
    starts like a second start. Left alone: a folder with a database (whatever made it), and a
    Prefect database configured elsewhere (``PREFECT_API_DATABASE_CONNECTION_URL``). When no
    template can be made, says so and lets the server migrate its own, as Prefect does.
    """
    if os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL"):
        return
    target = _folder(settings) / "home" / "prefect.db"
    if target.exists():
        return
    try:
        template = _template_database(settings)
        part = target.with_name("prefect.db.part")
        shutil.copyfile(template, part)
        os.replace(part, target)  # the server never sees half a copy
    except (OSError, subprocess.SubprocessError) as exc:
        _say(f"no migrated copy of Prefect's database ({exc}): the server migrates its own")


def _template_database(settings: Settings) -> Path:
    """Prefect's SQLite database migrated to this Prefect release's head, with nothing in it.

    ``$XDG_CACHE_HOME/mktflow/prefect-<release>.db`` (``~/.cache`` when unset), made once per
    machine and Prefect release by ``prefect server database upgrade`` (Prefect's own
    migrations) in a scratch folder and moved into place whole, under a file lock so that
    commands starting servers at once make it once. Raises OSError or SubprocessError.
    """
    from importlib.metadata import version

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mktflow"
    template = cache / f"prefect-{version('prefect')}.db"
    if template.exists():
        return template
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{template.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if template.exists():  # made by the command that held the lock before us
            return template
        with tempfile.TemporaryDirectory(dir=cache) as scratch:
            building = Path(scratch) / "prefect.db"
            subprocess.run(
                [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
                env={**os.environ, "PREFECT_HOME": scratch,
                     "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                     "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{building}"},
                stdin=subprocess.DEVNULL, capture_output=True, check=True,
                timeout=settings.prefect_start_timeout_s)
            os.replace(building, template)
    return template


def _wait_healthy(state: ServerState, settings: Settings,
                  proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + settings.prefect_start_timeout_s
    while time.monotonic() < deadline:
        if _healthy(state.api_url):
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.5)
    raise ConfigError(
        f"the local Prefect server on port {state.port} did not answer within "
        f"{settings.prefect_start_timeout_s:.0f} s: see {_folder(settings) / 'server.log'}"
    )


def ui_calls(ui_url: str) -> str | None:
    """The API a Prefect UI calls (its ``/ui-settings``), or None when it does not say."""
    try:
        return str(httpx.get(f"{ui_url}/ui-settings", timeout=5).json()["api_url"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def stop_local_server(settings: Settings | None = None) -> bool:
    """Stop the data folder's local server; False when none was running. Its port is kept."""
    settings = settings or get_settings()
    with _lock(settings):
        state = _read_state(settings)
        _state_file(settings).unlink(missing_ok=True)  # the port file stays: see _choose_port
        if state is None or not _alive(state.pid):
            return False
        os.killpg(state.pid, signal.SIGTERM)  # the server and the workers it spawned
        for _ in range(100):
            if not _alive(state.pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(state.pid, signal.SIGKILL)
        return True


_connection: Connection | None = None


def connect(*, start: bool = True) -> Connection:
    """Point this process's Prefect client at the API mktflow uses (see the module docstring).

    Idempotent. With the local server, also sets the UI URL mktflow's action links use when
    none is configured.
    """
    global _connection
    if _connection is not None:
        return _connection
    from prefect.settings import PREFECT_API_URL

    settings = get_settings()
    if settings.prefect_api_url:
        url, source = settings.prefect_api_url.rstrip("/"), "mktflow setting"
        _apply(prefect_env(settings, url) | {"PREFECT_HOME": ""})
    elif PREFECT_API_URL.value():
        url, source = str(PREFECT_API_URL.value()).rstrip("/"), "prefect setting"
    else:
        if not start:
            raise ConfigError("no Prefect API is configured and the local server is not "
                              "started: run `mktflow server start`")
        state, started = ensure_local_server(settings)
        url = state.api_url
        source = "local server (started)" if started else "local server"
        _apply(prefect_env(settings, url))
    ui = url.removesuffix("/api")
    if not settings.prefect_ui_url:
        settings.prefect_ui_url = ui  # action links in notifications open this UI
    _connection = Connection(api_url=url, ui_url=ui, source=source)
    return _connection


def _apply(env: dict[str, str]) -> None:
    """Make ``env`` this process's Prefect settings, for every thread and child process."""
    import prefect.context
    from prefect.settings import Settings as PrefectSettings

    env = {k: v for k, v in env.items() if v}
    os.environ.update(env)  # child processes (served flow runs) inherit it
    # Prefect read its settings when imported; rebuild them from the updated environment and
    # make them the process-wide default so every thread (and the flow engine) sees them.
    new = prefect.context.SettingsContext(profile=prefect.context.get_settings_context().profile,
                                          settings=PrefectSettings())
    prefect.context.GLOBAL_SETTINGS_CONTEXT = new
    new.__enter__()
