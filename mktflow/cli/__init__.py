"""``mktflow``: the command line for departments and operators.

Every command that changes something goes through an engine handler; reads go through the
engine's queries. Commands that do not run flows never import Prefect, so they answer fast;
``main`` builds only the part of the command tree the command line names
(``mktflow.cli.commands``), so a quick read imports nothing it does not use.
"""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]

_APP: list[typer.Typer] = []


def __getattr__(name: str) -> Any:
    """``app``: the whole ``mktflow`` command tree (typer.Typer), built when first used."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _APP:
        from mktflow.cli.commands import build

        _APP.append(build())
    return _APP[0]


def main() -> None:
    """Entry point of the ``mktflow`` command: the tree of the named command, else all."""
    gc.disable()  # until we know the command answers at once (commands.ONE_SHOT)
    from mktflow.cli import commands

    first = sys.argv[1] if len(sys.argv) > 1 else ""
    if first not in commands.ONE_SHOT:
        gc.enable()
    if first in commands.TREE:
        commands.build(first)()
    else:
        __getattr__("app")()
