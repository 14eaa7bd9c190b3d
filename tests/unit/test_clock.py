"""One clock: every reading of "now" comes from ``mktflow.domain.clock``, which a test freezes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mktflow.domain import clock
from mktflow.domain.clock import FrozenClock

ROOT = Path(__file__).resolve().parents[2]
#: Calls that read the machine's calendar instead of the process's clock.
_CALENDAR = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(\)")


def test_nothing_but_the_clock_module_reads_the_calendar() -> None:
    """Not mktflow, not its flows, not its tests: a test takes "now" from the process's clock
    (the ``clock`` fixture, ``tests.dates``). The one exception says why on its line: a
    certificate's validity, which the TLS library checks against the machine's time."""
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for folder in ("mktflow", "flows", "deployments", "tests", "bench")
             for path in sorted((ROOT / folder).rglob("*.py"))
             if path not in (ROOT / "mktflow" / "domain" / "clock.py", Path(__file__))
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if _CALENDAR.search(line) and "# real time: " not in line]
    assert found == []


def test_a_frozen_clock_stands_still_until_moved() -> None:
    frozen = FrozenClock(datetime(2031, 2, 28, 23, 30, tzinfo=UTC))
    assert frozen() == frozen.now() == datetime(2031, 2, 28, 23, 30, tzinfo=UTC)
    assert frozen.advance(hours=1) == datetime(2031, 3, 1, 0, 30, tzinfo=UTC)
    assert frozen.today().isoformat() == "2031-03-01"
    frozen.set(datetime(2031, 1, 1, 12, tzinfo=UTC))
    assert frozen() == datetime(2031, 1, 1, 12, tzinfo=UTC)


def test_a_clock_needs_a_time_zone() -> None:
    with pytest.raises(ValueError, match="needs a time zone"):
        FrozenClock(datetime(2031, 1, 1))
    with pytest.raises(ValueError, match="needs a time zone"):
        FrozenClock.at_now().set(datetime(2031, 1, 1))


def test_the_installed_clock_is_the_processs_until_the_block_ends() -> None:
    frozen = FrozenClock(datetime(2040, 6, 1, tzinfo=UTC))
    before = clock.now()
    with clock.installed(frozen):
        assert clock.now() == frozen() and clock.today().isoformat() == "2040-06-01"
    assert abs(clock.now() - before) < timedelta(minutes=5)  # the system's again


def test_a_unit_of_work_and_a_new_rows_stamp_read_the_processs_clock() -> None:
    from sqlalchemy import create_engine

    from mktflow.store.tables import AuditEntry
    from mktflow.store.uow import UnitOfWork

    frozen = FrozenClock(datetime(2040, 6, 1, 9, tzinfo=UTC))
    with clock.installed(frozen):
        assert UnitOfWork(create_engine("sqlite://")).now() == frozen()
        assert AuditEntry(actor="a", entity_type="work", entity_id=1,
                          action="x").at == frozen()
