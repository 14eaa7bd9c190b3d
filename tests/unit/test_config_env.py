"""The quick reader of the database settings (``mktflow.config_env``) gives what ``Settings``
gives, read without pydantic; each case runs in a fresh interpreter (in one that has loaded
``mktflow.config`` the quick reader hands over to the settings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = """
import json, sys
from mktflow.config_env import database_settings
from mktflow.domain.errors import ConfigError
try:
    quick = database_settings()
except ConfigError as exc:
    quick = ["ConfigError", str(exc)]
assert "pydantic" not in sys.modules
from mktflow.config import get_settings
try:
    s = get_settings()
    full = list(s.database())
except ConfigError as exc:
    full = ["ConfigError", str(exc)]
print(json.dumps([quick, full]))
"""


def _both(env: dict[str, str]) -> tuple[object, object]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("MKTFLOW_")}
    out = subprocess.run([sys.executable, "-c", _PROBE], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    quick, full = json.loads(out.stdout)
    return (list(quick) if quick is not None else None), full


@pytest.mark.parametrize("env", [
    {},
    {"MKTFLOW_DATA_DIR": "/tmp/somewhere"},
    {"mktflow_data_dir": "/tmp/lower-case"},
    {"MKTFLOW_DATABASE_URL": ""},
    {"MKTFLOW_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/x"},
    {"MKTFLOW_DATABASE_URL": "sqlite:////tmp/a.db", "MKTFLOW_DATA_DIR": "/elsewhere"},
    {"MKTFLOW_DATABASE_URL": "not a url"},
    {"MKTFLOW_DATABASE_URL": "mysql://u@h/db"},
])
def test_the_quick_reader_agrees_with_the_settings(env: dict[str, str]) -> None:
    quick, full = _both(env)
    assert quick == full


@pytest.mark.parametrize(("name", "index"), [("MKTFLOW_SQLITE_BUSY_TIMEOUT_S", 1),
                                             ("MKTFLOW_DB_CONNECT_TIMEOUT_S", 2),
                                             ("MKTFLOW_DB_STATEMENT_TIMEOUT_S", 3)])
def test_a_timeout_is_left_to_the_settings(name: str, index: int) -> None:
    quick, full = _both({name: "5"})
    assert quick is None and full[index] == 5.0
