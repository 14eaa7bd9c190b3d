"""What ``mktflow serve`` and ``mktflow deploy`` decide before Prefect is involved: where the
REST API listens, a taken port, and the environment a work pool's runs get."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from mktflow.api.serving import ApiThread, listen_address
from mktflow.config import Settings
from mktflow.domain.errors import ConfigError
from mktflow.prefect.serving import worker_env


@pytest.mark.parametrize(("url", "address"), [
    ("http://127.0.0.1:8787", ("127.0.0.1", 8787)),
    ("http://localhost:9000/", ("localhost", 9000)),
    ("http://0.0.0.0:8080", ("0.0.0.0", 8080)),
    ("https://mktflow.example.com", ("127.0.0.1", 443)),  # a proxy's name: serve locally
])
def test_the_api_listens_where_mktflow_api_url_points(url: str,
                                                      address: tuple[str, int]) -> None:
    assert listen_address(url) == address


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ConfigError, match="MKTFLOW_API_URL"):
        listen_address("ftp://files.example.com")


def test_the_api_thread_serves_and_a_taken_port_is_refused(sqlite_db: Any,
                                                           monkeypatch: Any) -> None:
    from tests.conftest import reset_caches

    monkeypatch.setenv("MKTFLOW_DATABASE_URL", sqlite_db.url)
    reset_caches()
    api = ApiThread("127.0.0.1", 0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        api.port = probe.getsockname()[1]
    api.start()
    try:
        assert httpx.get(f"{api.url}/health", timeout=10).status_code == 200
        with pytest.raises(ConfigError, match="another program listens there"):
            ApiThread("127.0.0.1", api.port).open()
    finally:
        api.stop()
        reset_caches()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{api.url}/health", timeout=2)


def test_pool_runs_get_the_database_the_api_url_and_the_given_settings() -> None:
    settings = Settings(data_dir="/srv/mktflow", api_url="https://mktflow.example.com",
                        schedule_tz="Europe/Madrid", channel_weights={"coverage": 1.0},
                        api_token="secret-token", prefect_port=4300)
    env, notes = worker_env(settings)
    assert env == {"MKTFLOW_DATABASE_URL": "sqlite:////srv/mktflow/mktflow.db",
                   "MKTFLOW_API_URL": "https://mktflow.example.com",
                   "MKTFLOW_SCHEDULE_TZ": "Europe/Madrid",
                   "MKTFLOW_CHANNEL_WEIGHTS": '{"coverage": 1.0}'}
    assert notes == []


def test_a_database_password_is_not_stored_in_the_deployments() -> None:
    env, notes = worker_env(Settings(database_url="postgresql://mk:pw@db:5432/mk"))
    assert "MKTFLOW_DATABASE_URL" not in env
    assert "set it in every worker's environment" in notes[0]


def test_deploy_prints_what_it_registered_and_how_to_start_workers() -> None:
    from mktflow.cli.serve import _deploy_text

    text = _deploy_text({
        "pool": "mktflow", "pool_created": True, "prefect_api": "http://p:4200/api",
        "deployments": [{"deployment": "campaign/campaign", "schedules": []},
                        {"deployment": "sla-sweep/sla-sweep",
                         "schedules": [{"cron": "*/5 * * * *", "timezone": "UTC"}]}],
        "not_deployed": [], "env": ["MKTFLOW_API_URL", "MKTFLOW_DATABASE_URL"], "notes": [],
        "worker_command": "PREFECT_API_URL=http://p:4200/api prefect worker start --pool mktflow"})
    assert text.splitlines() == [
        "work pool mktflow (created) on http://p:4200/api: 2 deployments registered",
        "  campaign/campaign  on demand",
        "  sla-sweep/sla-sweep  */5 * * * * (UTC)",
        "flow runs get: MKTFLOW_API_URL, MKTFLOW_DATABASE_URL",
        "start workers with: PREFECT_API_URL=http://p:4200/api prefect worker start --pool mktflow",
    ]
