"""``mktflow serve`` and ``mktflow deploy``: every flow's deployment with its schedule.

Both import Prefect inside the command.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mktflow.cli._kit import JsonOpt, emit, refusals, table

__all__ = ["deploy", "serve"]


# --- serve --------------------------------------------------------------------------------


def serve(
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Serve only this deployment (name); repeatable.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the deployments and their "
                                                       "schedules, serve nothing.")] = False,
    no_api: Annotated[bool, typer.Option(
        "--no-api", help="Do not serve the REST API (it is served elsewhere).")] = False,
    api_host: Annotated[str | None, typer.Option(
        "--api-host", help="Address the REST API listens on (default: MKTFLOW_API_URL's host "
                           "when it is an IP address or localhost, else 127.0.0.1).")] = None,
    api_port: Annotated[int | None, typer.Option(
        "--api-port", min=1, max=65535,
        help="Port the REST API listens on, 1-65535 (default: MKTFLOW_API_URL's).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Serve every flow's deployment with its schedule, and the REST API with the pages that
    notifications link to, until Ctrl-C; schedules stay active after it stops."""
    from deployments.catalog import catalog_rows
    from mktflow.api.serving import listen_address
    from mktflow.config import get_settings
    from mktflow.prefect.serving import serve_team

    with refusals(json_):
        if list_:
            rows = catalog_rows(served=True)  # the reconciler runs in serve's thread
            emit(rows, json_, lambda r: table(
                r, ["deployment", "cron", "timezone", "status"]))
            return
        host, port = listen_address(get_settings().api_url)
        serve_team(only, api=None if no_api else (api_host or host, api_port or port),
                   echo=typer.echo)


def deploy(
    pool: Annotated[str, typer.Option("--pool", help="The Prefect work pool (process type; "
                                                     "created when missing).")],
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Deploy only this deployment (name); repeatable.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Register every flow's deployment, with its schedule, on a Prefect process work pool;
    `prefect worker start --pool NAME` on any machine with mktflow installed runs them."""
    from mktflow.prefect.serving import deploy_to_pool

    with refusals(json_):
        result = deploy_to_pool(pool, only)
        emit(result, json_, _deploy_text)


def _deploy_text(r: dict[str, Any]) -> str:
    lines = [f"work pool {r['pool']} ({'created' if r['pool_created'] else 'existing'}) on "
             f"{r['prefect_api']}: {len(r['deployments'])} deployments registered"]
    for d in r["deployments"]:
        when = ", ".join(f"{s['cron']} ({s['timezone']})" for s in d["schedules"])
        lines.append(f"  {d['deployment']}  {when or 'on demand'}")
    lines += [f"not deployed: {n['deployment']}: {n['why']}" for n in r["not_deployed"]]
    lines.append(f"flow runs get: {', '.join(r['env'])}")
    lines += [f"note: {n}" for n in r["notes"]]
    lines.append(f"start workers with: {r['worker_command']}")
    return "\n".join(lines)
