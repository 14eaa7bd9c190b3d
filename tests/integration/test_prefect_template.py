"""The migrated Prefect database a new data folder's local server starts from is Prefect's own
schema at its release's head, with nothing in it (``mktflow.prefect.server._template_database``).

Reads the machine's cached template (``~/.cache/mktflow``), as the local servers the suite
starts do: made here if no server made it first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mktflow.config import Settings
from mktflow.prefect import server


def test_the_template_is_prefects_schema_at_head_with_no_rows() -> None:
    import prefect.server.database
    from alembic.script import ScriptDirectory
    from prefect.server.database.alembic_commands import alembic_config

    template = server._template_database(Settings())
    config = alembic_config()  # Prefect's; its env.py picks the dialect's versions at run time
    config.set_main_option("version_locations", str(
        Path(prefect.server.database.__file__).parent / "_migrations" / "versions" / "sqlite"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    # immutable: read without making -wal and -shm files beside the shared template
    with sqlite3.connect(f"file:{template}?immutable=1", uri=True) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        for table in ("flow", "flow_run", "deployment", "work_pool", "log"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
