"""What serve's fork server does once, so that no flow run forked from it does it again
(``mktflow.prefect.serving``: the last module its fork server imports).

SQLAlchemy configures the ORM's mappers (relationships, columns, the loading strategies) at
the first query of a process, and a forked run is a new process that starts from the fork
server's memory: every run of a campaign configured them again. Configured here, they are
configured in every run: its first engine command (a work item created and claimed) took
0.24 s of CPU without it and 0.12 s with it (a fresh process with serve's preload, SQLite,
2026-12-07).

Every forked run also starts Prefect's observer of outside suspension requests without
waiting for it (``patches.suspension_observer_in_background``). Nothing here reads the
environment, the settings or the database.
"""

from __future__ import annotations

from sqlalchemy.orm import configure_mappers

import mktflow.engine.work  # noqa: F401 - the engine's commands: their tables, to configure
from mktflow.prefect import patches

configure_mappers()
patches.suspension_observer_in_background()
