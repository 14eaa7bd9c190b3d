"""``mktflow api serve``: run the REST API with uvicorn.

FastAPI and uvicorn are imported inside the command, so ``mktflow`` starts fast without them.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from mktflow.cli._kit import refusals

__all__ = ["api_app"]

api_app = typer.Typer(help="The REST API departments act through.", no_args_is_help=True)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@api_app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8787,
) -> None:
    """Serve the REST API (in production behind the company's SSO proxy)."""
    import uvicorn

    from mktflow.api.app import check_database, create_app
    from mktflow.config import get_settings

    with refusals():
        check_database()  # say "run mktflow db upgrade" now, not on first request
        app = create_app()
    if get_settings().api_token is None and not _is_loopback(host):
        typer.echo(f"warning: listening on {host} without MKTFLOW_API_TOKEN: anyone who reaches "
                   "this port can act as any member", err=True)
    uvicorn.run(app, host=host, port=port)
