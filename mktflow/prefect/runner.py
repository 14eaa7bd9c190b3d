"""Running a process's flow: in this process to its end (human steps pause it), or handed to
the served deployment (``detach``). Either way the flow run and the process instance exist
before the flow starts, so their ids and the UI link can be shown first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from mktflow import bootstrap
from mktflow.domain.errors import ConfigError, FormInvalid
from mktflow.domain.inputs import plain_error
from mktflow.engine import UnitOfWork
from mktflow.engine.answers import request_problems
from mktflow.engine.processes import check_key_free, start_process
from mktflow.prefect.registry import spec_for
from mktflow.prefect.server import connect

__all__ = ["check_params", "check_run", "check_served", "run_process"]


def check_params(model: Any, params: dict[str, Any], process: str) -> Any:
    """Validate parameters against the flow's model; refuses naming every bad field."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        details: list[dict[str, object]] = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": plain_error(e)}
            for e in exc.errors()]
        lines = "; ".join(f"field '{d['field']}': {d['message']}" for d in details)
        raise FormInvalid(f"{process} parameters: {lines}", details) from None


def check_run(uow: UnitOfWork, model: Any, params: dict[str, Any], process: str) -> Any:
    """``check_params`` and the process's rules for a request (``mktflow.engine.answers``):
    every member it names is active (a campaign's owner and activity owners, ...) and a draft
    plan passes its form's rules. Refuses, before any flow run exists, with one FormInvalid
    naming every bad field of both checks; returns the validated request."""
    details: list[dict[str, object]] = []
    request = None
    try:
        request = check_params(model, params, process)
    except FormInvalid as exc:
        details += exc.errors
    with uow:
        details += [{"field": p.field, "message": p.message}
                    for p in request_problems(uow.session, process, params)]
    if details:
        lines = "; ".join(f"field '{d['field']}': {d['message']}" for d in details)
        raise FormInvalid(f"{process} parameters: {lines}", details)
    return request


def run_process(process: str, params: dict[str, Any], *, detach: bool = False,
                on_start: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run ``process`` with ``params``; returns ids, link, final state and the flow's result."""
    spec = spec_for(process)
    flow, model = spec.load()
    uow = bootstrap.uow()
    request = check_run(uow, model, params, process)
    key = getattr(request, spec.key_field)
    owner = getattr(request, spec.owner_field)
    branch = getattr(request, spec.branch_field) if spec.branch_field else None
    check_key_free(uow, key)
    connection = connect()
    parameters = {spec.param: request.model_dump(mode="json")}
    flow_run = _create_run(flow, parameters, detach)
    instance = start_process(uow, process=process, business_key=key, owner_email=owner,
                             params=parameters[spec.param], flow_run_id=str(flow_run.id),
                             branch=branch)
    info = {"flow_run_id": str(flow_run.id), "process_id": instance.id,
            "process": f"P-{instance.id}", "business_key": key,
            "ui_url": f"{connection.ui_url}/runs/flow-run/{flow_run.id}",
            "prefect_api": connection.api_url, "prefect_source": connection.source}
    if on_start is not None:
        on_start(info)
    if detach:
        return {**info, "state": "SCHEDULED", "detached": True}
    from prefect.flow_engine import run_flow

    state: Any = run_flow(flow, flow_run=flow_run, parameters=parameters, return_type="state")
    result = state.result(raise_on_failure=False) if state.is_completed() else None
    return {**info, "state": state.type.value, "message": state.message,
            "result": result if isinstance(result, dict) else None}


def _create_run(flow: Any, parameters: dict[str, Any], detach: bool) -> Any:
    from prefect.client.orchestration import get_client

    if not detach:
        with get_client(sync_client=True) as client:
            return client.create_flow_run(flow, parameters=parameters)
    from prefect.deployments import run_deployment

    name = f"{flow.name}/{flow.name}"
    with get_client(sync_client=True) as client:
        check_served(client, name)
    return run_deployment(name, parameters=parameters, timeout=0)


def check_served(client: Any, name: str) -> None:
    """Refuse to hand a run to deployment ``name`` when nothing would run it.

    Prefect marks a deployment READY while a runner (``mktflow serve``) or a worker of its
    pool asks for its runs, and NOT_READY about a minute after the last one stopped; a run
    handed to it meanwhile would wait as Scheduled, unseen, until something serves it again.
    """
    from prefect.client.schemas.objects import DeploymentStatus
    from prefect.exceptions import ObjectNotFound

    try:
        deployment = client.read_deployment_by_name(name)
    except ObjectNotFound:
        raise ConfigError(f"no deployment {name} on this Prefect server: start "
                          "`mktflow serve` (it serves every process), then run again; "
                          "nothing was started") from None
    if deployment.status != DeploymentStatus.READY:
        served_by = (f"the workers of pool {deployment.work_pool_name!r} "
                     f"(`prefect worker start --pool {deployment.work_pool_name}`)"
                     if deployment.work_pool_name else "`mktflow serve`")
        last = deployment.last_polled.isoformat(timespec="seconds") if deployment.last_polled \
            else "never"
        status = deployment.status.value if deployment.status else "unknown"
        raise ConfigError(f"nothing serves {name} now (status {status}, last "
                          f"asked for runs: {last}): start {served_by}, then run again; "
                          "nothing was started")
