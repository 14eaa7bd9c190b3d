"""``python -m mktflow.prefect.local_server start --host H --port P``: Prefect's own ``prefect
server start``, with mktflow's changes for a server on SQLite applied first
(``mktflow.prefect.patches``). ``mktflow.prefect.server`` starts the local server of the
embedded defaults this way; the arguments are Prefect's."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Apply the SQLite changes, then run Prefect's command line with ``argv``."""
    from mktflow.prefect.patches import sqlite_writes_take_the_lock_first

    sqlite_writes_take_the_lock_first()
    from prefect.cli import app  # reads sys.argv, as `prefect` does

    sys.argv = ["prefect", "server", *(sys.argv[1:] if argv is None else argv)]
    app()


if __name__ == "__main__":
    main()
