"""Every flow's deployment: parameters, tags, description, and the cycles' schedules.

The catalog names each flow by module path and flow name, so it is complete even while some
flow modules are still being written: ``load`` imports what is there and reports the rest as
missing instead of failing. Schedules are cron expressions with an explicit time zone: the
calendar cycles run in ``MKTFLOW_SCHEDULE_TZ`` (a monthly review at 06:00 local time), the
interval jobs (``outbox-relay`` every minute, ``sla-sweep`` every five,
``member-digests`` every fifteen) always in UTC, so a
daylight-saving change neither skips nor repeats their runs. ``MKTFLOW_SCHEDULE_CRONS``
overrides the cron of any deployment, and an empty string turns its schedule off.

    mktflow serve --list     # what would be served, with cron and time zone
    mktflow serve            # serve them all from one process until Ctrl-C
    mktflow deploy --pool P  # register them on a process work pool for `prefect worker start`
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mktflow.config import get_settings
from mktflow.domain.cycles import CYCLES
from mktflow.domain.errors import BadInput, ConfigError
from mktflow.engine.cycles import cycle_spec

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

__all__ = ["CATALOG", "DeploymentSpec", "Loaded", "build", "catalog_rows", "load", "to_deployment"]


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: which flow (module and flow name), how it is labelled, when it runs."""

    flow_name: str
    module: str
    description: str
    tags: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None  # default schedule; None means run on demand only
    #: Whether the cron reads in the organisation's zone (calendar cycles) or in UTC.
    local_time: bool = False
    #: Whether ``mktflow serve`` serves it; False for what serve does itself in a thread
    #: (the reconciler, the outbox relay), deployed only to work pools.
    served: bool = True

    @property
    def name(self) -> str:
        """The deployment's name; Prefect shows it as ``<flow name>/<deployment name>``."""
        return self.flow_name

    def schedule(self) -> tuple[str | None, str]:
        """(cron or None, time zone) after the settings' overrides: ``MKTFLOW_SCHEDULE_TZ`` for
        the calendar cycles, UTC for everything else."""
        settings = get_settings()
        default = cycle_spec(self.name).cron if self.name in CYCLES else self.cron
        cron = settings.schedule_crons.get(self.name, default)
        return (cron or None), settings.schedule_tz if self.local_time else "UTC"


def _cycle(name: str, module: str, **parameters: Any) -> DeploymentSpec:
    cycle = CYCLES[name]  # the default; ``schedule`` applies the configured frequency
    return DeploymentSpec(
        flow_name=name, module=module, cron=cycle.cron, parameters=parameters, local_time=True,
        description=f"{cycle.frequency.capitalize()} cycle: {cycle.what}.",
        tags=("mktflow", "cycle", str(cycle.frequency)),
    )


#: Every flow of mktflow. Business processes run on demand (the UI's Run form); the cycles and
#: the notification flows run on schedules.
CATALOG: tuple[DeploymentSpec, ...] = (
    DeploymentSpec("new-product-development", "flows.new_product_development",
                   "New-product development: marketing leads; tech, production and supply "
                   "each own a part under a responsibility letter.",
                   tags=("mktflow", "process")),
    DeploymentSpec("campaign", "flows.campaign",
                   "Campaign: plan, approval, execution, tracking and evaluation against the "
                   "goal.", tags=("mktflow", "process")),
    DeploymentSpec("order-handling", "flows.order_handling",
                   "Order handling: intake, credit, production, shipping, invoice, follow-up.",
                   tags=("mktflow", "process")),
    DeploymentSpec("complaint", "flows.complaint",
                   "Customer complaint: a case in customer service (your e-mail, the customer, "
                   "what they complain of), handed to the department that must act, closed "
                   "only when the customer is satisfied.", tags=("mktflow", "process")),
    DeploymentSpec("outbox-relay", "flows.outbox_relay",
                   "Sends queued notifications (webhook, Slack, e-mail) with retries (mktflow "
                   "serve runs a continuous relay itself; for work pools).",
                   tags=("mktflow", "notify"), cron="* * * * *", served=False),
    DeploymentSpec("sla-sweep", "flows.sla_sweep",
                   "Reminds and escalates overdue work items and handoffs.",
                   tags=("mktflow", "notify"), cron="*/5 * * * *"),
    DeploymentSpec("member-digests", "flows.digests",
                   "Writes each member's daily digest when its time of their working day has "
                   "come (their open, due-soon and overdue items, the notices held for it).",
                   tags=("mktflow", "notify"), cron="*/15 * * * *"),
    DeploymentSpec("process-reconciler", "flows.process_reconciler",
                   "Resumes runs waiting on steps already answered and closes processes whose "
                   "run ended (mktflow serve does this itself; for work pools).",
                   tags=("mktflow", "recovery"), cron="* * * * *", served=False),
    _cycle("process-review", "flows.process_review"),
    _cycle("market-research", "flows.market_research"),
    _cycle("budget-review", "flows.budget_review"),
    _cycle("performance-appraisal", "flows.performance_appraisal"),
    _cycle("channel-evaluation", "flows.channel_evaluation"),
    _cycle("annual-planning", "flows.annual_planning"),
    _cycle("quarterly-meeting", "flows.meetings"),
    _cycle("annual-meeting", "flows.meetings"),
    _cycle("training", "flows.training"),
    DeploymentSpec("daily-reports", "flows.work_reports",
                   "Daily work reports: names yesterday's missing reports to the heads, opens "
                   "today's report step per member, due at the end of their working day.",
                   tags=("mktflow", "reports", "daily"), cron="0 8 * * *", local_time=True),
    DeploymentSpec("report-digest", "flows.work_reports",
                   "Each head's digest of the department's daily reports: in and missing.",
                   tags=("mktflow", "reports", "daily"), cron="30 18 * * *", local_time=True),
    DeploymentSpec("weekly-reports", "flows.work_reports",
                   "Last week's work reports, gathered from the daily ones, for management.",
                   tags=("mktflow", "reports", "weekly"), cron="0 7 * * 1", local_time=True),
    DeploymentSpec("write-report", "flows.work_reports",
                   "Write a work report from the Prefect UI (your e-mail, done, problems, next): "
                   "it completes the day's report step.", tags=("mktflow", "reports")),
    DeploymentSpec("monthly-reports", "flows.work_reports",
                   "Last month's work reports, gathered from the daily ones, for management.",
                   tags=("mktflow", "reports", "monthly"), cron="0 7 1 * *", local_time=True),
)


@dataclass
class Loaded:
    """A catalog entry with its flow, or why the flow could not be loaded."""

    spec: DeploymentSpec
    flow: Flow[Any, Any] | None = None
    problem: str | None = None


def _find_flow(spec: DeploymentSpec) -> Loaded:
    from prefect import Flow

    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        if exc.name and spec.module.startswith(exc.name):
            return Loaded(spec, problem=f"{spec.module} does not exist yet")
        return Loaded(spec, problem=f"{spec.module} does not import: {exc}")
    except Exception as exc:  # a half-written flow module must not stop the others
        return Loaded(spec, problem=f"{spec.module} does not import: "
                                    f"{type(exc).__name__}: {exc}")
    for value in vars(module).values():
        if isinstance(value, Flow) and value.name == spec.flow_name:
            return Loaded(spec, flow=value)
    return Loaded(spec, problem=f"{spec.module} has no flow named {spec.flow_name!r}")


def load(only: list[str] | None = None) -> list[Loaded]:
    """Import every catalogued flow that exists (or those named in ``only``)."""
    specs = list(CATALOG)
    if only:
        unknown = sorted(set(only) - {s.name for s in specs})
        if unknown:
            raise BadInput(f"--only: no deployment named {', '.join(unknown)} (known: "
                           f"{', '.join(s.name for s in specs)})")
        specs = [s for s in specs if s.name in only]
    return [_find_flow(s) for s in specs]


def to_deployment(entry: Loaded, job_variables: dict[str, Any] | None = None,
                  ) -> RunnerDeployment:
    """The Prefect deployment of a loaded flow, with its schedule in its time zone.

    ``job_variables`` are for a work pool's workers (``mktflow deploy --pool``); served
    deployments have none.
    """
    from prefect.flows import EntrypointType
    from prefect.schedules import Cron

    assert entry.flow is not None
    spec = entry.spec
    cron, tz = spec.schedule()
    schedules = [Cron(cron, timezone=tz)] if cron else []
    deployment = entry.flow.to_deployment(
        name=spec.name, schedules=schedules, parameters=dict(spec.parameters),
        description=spec.description, tags=list(spec.tags),
        entrypoint_type=EntrypointType.MODULE_PATH, job_variables=job_variables,
    )
    assert not inspect.isawaitable(deployment)  # sync call outside an event loop
    return deployment


def catalog_rows(*, served: bool = False) -> list[dict[str, Any]]:
    """The catalog as rows: deployment, module, cron, time zone, and whether it can be served
    (``served``: only what ``mktflow serve`` serves)."""
    rows = []
    for entry in load():
        if served and not entry.spec.served:
            continue
        cron, tz = entry.spec.schedule()
        rows.append({"deployment": f"{entry.spec.flow_name}/{entry.spec.name}",
                     "module": entry.spec.module, "cron": cron or "on demand",
                     "timezone": tz if cron else "", "tags": list(entry.spec.tags),
                     "status": "ready" if entry.flow else f"missing: {entry.problem}"})
    return rows


def _check_timezone(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"MKTFLOW_SCHEDULE_TZ: {tz!r} is not an IANA time zone "
                          "(e.g. Europe/Madrid, UTC)") from None


def build(only: list[str] | None = None, job_variables: dict[str, Any] | None = None, *,
          served: bool = False) -> tuple[list[RunnerDeployment], list[Loaded]]:
    """Deployments for every flow that loads, and the entries that could not be loaded;
    ``served``: only those ``mktflow serve`` serves (``DeploymentSpec.served``)."""
    _check_timezone(get_settings().schedule_tz)
    entries = [e for e in load(only) if e.spec.served or not served]
    ready = [to_deployment(e, job_variables) for e in entries if e.flow is not None]
    return ready, [e for e in entries if e.flow is None]
