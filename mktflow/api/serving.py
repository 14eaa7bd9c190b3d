"""The REST API served by uvicorn in a thread of the calling process (``mktflow serve``).

The socket is bound here, before the thread starts, so a port already taken is refused in
the caller with a clear message instead of an error lost in the thread.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mktflow.domain.errors import ConfigError

__all__ = ["ApiThread", "listen_address"]


def _local_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def listen_address(api_url: str) -> tuple[str, int]:
    """Where to listen so that ``api_url`` (``MKTFLOW_API_URL``) answers.

    An IP address or ``localhost`` in the URL is listened on as it is; a host name (the
    company's proxy in front of the API) is served on 127.0.0.1 and the URL's port.
    """
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"MKTFLOW_API_URL is not an http(s) URL: {api_url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.hostname if _local_host(parts.hostname) else "127.0.0.1"), port


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot serve the REST API on {host}:{port} ({exc.strerror}): another program "
            "listens there (a `mktflow api serve`?); stop it, or set MKTFLOW_API_URL to another "
            "port, or pass --no-api") from None
    sock.listen(128)
    return sock


@dataclass
class ApiThread:
    """mktflow's REST API and pages on ``host:port``, in a daemon thread."""

    host: str
    port: int
    _server: Any = None
    _socket: socket.socket | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where it answers."""
        return f"http://{self.host}:{self.port}"

    def open(self) -> None:
        """Check the database and take the port; refuses clearly when either is missing."""
        import uvicorn

        from mktflow.api.app import check_database, check_exposure, create_app
        from mktflow.config import get_settings

        check_exposure(get_settings(), self.host)  # proxy mode beyond 127.0.0.1: the token
        check_database()  # "run mktflow db upgrade" now, not on the first request
        app = create_app()
        self._socket = _bind(self.host, self.port)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)

    def start(self, timeout: float = 30.0) -> None:
        """Serve on the port taken by ``open``; returns once it accepts requests."""
        if self._server is None:
            self.open()
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name="mktflow-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the REST API did not start on {self.url}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting requests, finish the ones in flight, and end the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        elif self._socket is not None:  # opened, never served
            self._socket.close()
