"""No input or environment gives a Python traceback: every bad invocation is one line naming
the field and the rule, with exit 2 (bad input) or 1 (refused) (issue 21, "edges closed by kind").

In-process on both databases (``cli`` runs the command with exceptions raised, so a traceback
fails the test), and as real ``mktflow`` processes for what comes from the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mktflow.domain.inputs import ID_MAX

HUGE = "9" * 20
MKTFLOW = str(Path(sys.executable).with_name("mktflow"))

#: (arguments, expected exit code, words the one line must hold); "does not exist" is exit 2, as
#: for any reference that names nothing
BAD = [
    (["history", ""], 2, "reference: give an item"),
    (["history", f"P-{HUGE}"], 2, f"P-{HUGE} does not exist"),
    (["history", f"P-{ID_MAX + 1}"], 2, f"P-{ID_MAX + 1} does not exist"),
    (["history", f"W-{ID_MAX + 1}"], 2, "does not exist"),
    (["process", "show", f"P-{ID_MAX + 1}"], 2, "does not exist"),
    (["work", "show", f"W-{HUGE}"], 2, "does not exist"),
    (["handoff", "show", f"H-{ID_MAX + 1}"], 2, "does not exist"),
    (["token", "revoke", HUGE], 2, f"token {HUGE} does not exist"),
    (["token", "revoke", str(ID_MAX + 1)], 2, "does not exist"),
    (["channel", "remove", HUGE], 2, f"channel {HUGE} does not exist"),
    (["session", "end", HUGE], 2, f"session {HUGE} does not exist"),
    (["work", "claim", HUGE, "--as", "ana.torres@example.com"], 2, "does not exist"),
    (["inbox", "marketing", "--process", f"P-{HUGE}"], 2, "does not exist"),
    (["inbox", "marketing", "--limit", "0"], 2, "limit: must be a whole number"),
]


@pytest.mark.parametrize(("args", "code", "words"), BAD, ids=[" ".join(a)[:40] for a, _, _ in BAD])
def test_a_bad_invocation_is_one_line_and_an_exit_code(cli: Any, args: list[str], code: int,
                                                       words: str) -> None:
    result = cli(*args)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MKTFLOW_")}
    return subprocess.run([MKTFLOW, *args], env={**clean, **env}, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("args", "env", "words"), [
    (["process", "list"], {"MKTFLOW_SQLITE_BUSY_TIMEOUT_S": "abc"},
     "MKTFLOW_SQLITE_BUSY_TIMEOUT_S: 'abc' is not a number"),
    (["process", "list"], {"MKTFLOW_DATA_DIR": "/proc/nope"},
     "the folder of the SQLite database, /proc/nope, cannot be made"),
    (["api", "serve", "--port", "99999"], {}, "99999 is not in the range 1<=x<=65535"),
    (["api", "serve", "--port", "-1"], {}, "-1 is not in the range 1<=x<=65535"),
], ids=["busy-timeout-abc", "data-dir-unwritable", "port-too-big", "port-negative"])
def test_the_environment_and_options_are_refused_in_words(
        tmp_path: Path, args: list[str], env: dict[str, str], words: str) -> None:
    done = _run(args, **{"MKTFLOW_DATA_DIR": str(tmp_path), **env})
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert words in done.stderr, done.stderr
