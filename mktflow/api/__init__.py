"""mktflow's REST API: the door departments use from the links in their notifications.

``create_app()`` (in ``mktflow.api.app``) builds the FastAPI application. This package imports
nothing at import time, so ``mktflow.cli`` can register ``mktflow api`` without loading FastAPI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mktflow.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
