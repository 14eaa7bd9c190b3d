"""The deployment catalog: every flow listed, schedules from settings, late modules tolerated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mktflow.domain.errors import BadInput
from tests.conftest import reset_caches


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    reset_caches()
    yield monkeypatch
    reset_caches()


def test_catalog_lists_every_flow_and_cycle() -> None:
    from deployments.catalog import CATALOG
    from mktflow.domain.cycles import CYCLES

    names = {s.name for s in CATALOG}
    assert set(CYCLES) <= names
    assert {"new-product-development", "campaign", "order-handling", "outbox-relay",
            "sla-sweep"} <= names
    assert all(s.module.startswith("flows.") for s in CATALOG)


def test_schedule_follows_settings(settings_env: pytest.MonkeyPatch) -> None:
    from deployments.catalog import CATALOG

    spec = {s.name: s for s in CATALOG}
    assert spec["process-review"].schedule() == ("0 6 1 * *", "UTC")
    assert spec["campaign"].schedule() == (None, "UTC")
    settings_env.setenv("MKTFLOW_SCHEDULE_TZ", "Europe/Madrid")
    settings_env.setenv("MKTFLOW_SCHEDULE_CRONS", '{"process-review": "30 5 1 * *", '
                                                  '"market-research": ""}')
    settings_env.setenv("MKTFLOW_APPRAISAL_FREQUENCY", "half-yearly")
    reset_caches()
    assert spec["process-review"].schedule() == ("30 5 1 * *", "Europe/Madrid")
    assert spec["market-research"].schedule() == (None, "Europe/Madrid")  # turned off
    assert spec["performance-appraisal"].schedule() == ("0 6 5 1,7 *", "Europe/Madrid")


def test_missing_and_broken_flow_modules_do_not_stop_the_others(
        settings_env: pytest.MonkeyPatch) -> None:
    from deployments import catalog

    specs = (
        catalog.DeploymentSpec("process-review", "flows.process_review", "x"),
        catalog.DeploymentSpec("not-yet", "flows.not_written_yet", "x"),
        catalog.DeploymentSpec("wrong-name", "flows.process_review", "x"),
        catalog.DeploymentSpec("broken", "json.decoder_nope", "x"),
    )
    settings_env.setattr(catalog, "CATALOG", specs)
    status = {r["deployment"].split("/")[0]: r["status"] for r in catalog.catalog_rows()}
    assert status["process-review"] == "ready"
    assert status["not-yet"] == "missing: flows.not_written_yet does not exist yet"
    assert status["wrong-name"].startswith("missing: flows.process_review has no flow named")
    assert status["broken"] == "missing: json.decoder_nope does not exist yet"
    with pytest.raises(BadInput, match=r"--only: no deployment named nope \(known: "):
        catalog.load(["nope"])


def test_a_bad_time_zone_is_refused_before_serving(settings_env: pytest.MonkeyPatch) -> None:
    from deployments.catalog import build
    from mktflow.domain.errors import ConfigError

    settings_env.setenv("MKTFLOW_SCHEDULE_TZ", "Mars/Olympus")
    reset_caches()
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        build()


def test_interval_jobs_run_in_utc_whatever_the_schedule_zone(
        settings_env: pytest.MonkeyPatch) -> None:
    """Every minute means 240 relay runs in 4 hours, also across the autumn clock change."""
    import asyncio
    from datetime import UTC, datetime

    from prefect.server.schemas.schedules import CronSchedule

    from deployments import catalog

    settings_env.setenv("MKTFLOW_SCHEDULE_TZ", "Europe/Madrid")
    reset_caches()
    spec = {s.name: s for s in catalog.CATALOG}
    assert spec["process-review"].schedule()[1] == "Europe/Madrid"  # a calendar cycle
    start = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # Madrid repeats 02:00-03:00 local
    end = datetime(2026, 10, 25, 3, 59, 30, tzinfo=UTC)
    runs = {}
    for entry in catalog.load(only=["outbox-relay", "sla-sweep"]):
        deployment = catalog.to_deployment(entry)
        (schedule,) = [s.schedule for s in deployment.schedules or []]
        assert schedule.timezone == "UTC"
        server_side = CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
        runs[entry.spec.name] = len(asyncio.run(server_side.get_dates(n=1000, start=start,
                                                                      end=end)))
    assert runs == {"outbox-relay": 240, "sla-sweep": 48}


@pytest.mark.parametrize("name", ["process-reconciler", "outbox-relay"])
def test_serve_runs_the_reconciler_and_the_relay_itself_and_pools_get_their_deployments(
        settings_env: pytest.MonkeyPatch, name: str) -> None:
    """``mktflow serve`` ticks the reconciler and runs a continuous relay in threads; for worker
    set-ups the catalog has a ``process-reconciler`` and an ``outbox-relay`` deployment every
    minute (UTC), which serve neither lists nor serves."""
    from deployments import catalog

    [spec] = [s for s in catalog.CATALOG if s.name == name]
    assert (spec.served, spec.schedule()) == (False, ("* * * * *", "UTC"))
    assert f"{name}/{name}" not in {
        r["deployment"] for r in catalog.catalog_rows(served=True)}
    assert f"{name}/{name}" in {r["deployment"] for r in catalog.catalog_rows()}
    served, _ = catalog.build(served=True)
    assert name not in {d.name for d in served}
    assert name in {d.name for d in catalog.build()[0]}
