"""``mktflow api serve``: run the REST API with uvicorn.

FastAPI and uvicorn are imported inside the command, so ``mktflow`` starts fast without them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mktflow.cli._kit import refusals

__all__ = ["api_app"]

api_app = typer.Typer(help="The REST API departments act through.", no_args_is_help=True)


@api_app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                      help="Port to listen on (1-65535).")] = 8787,
) -> None:
    """Serve the REST API: members prove who they are with their tokens (or, in SSO-proxy
    mode, the proxy names them)."""
    import uvicorn

    from mktflow.api.app import check_database, check_exposure, create_app
    from mktflow.config import get_settings

    with refusals():
        check_exposure(get_settings(), host)  # proxy mode beyond 127.0.0.1 needs the token
        check_database()  # say "run mktflow db upgrade" now, not on first request
        app = create_app()
    uvicorn.run(app, host=host, port=port)
