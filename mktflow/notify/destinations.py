"""Destinations the relays pause: a receiver that asked them to wait is left alone as a whole.

A destination is where a message goes as the receiver sees it: ``http <host>:<port>`` of a
webhook or Slack hook, ``smtp <host>:<port>`` of the SMTP server (``Deliverer.destination``).
When a send to it fails ``busy`` (HTTP 429/503, SMTP 421, no answer in time, cannot be
reached), the relay pauses it: one ``destinationbackoff`` row until its ``Retry-After`` (capped
by ``MKTFLOW_RELAY_RETRY_AFTER_CAP_S``) or, when it gave none, a doubling pause
(``MKTFLOW_RELAY_DESTINATION_BACKOFF_BASE_S`` … ``_CAP_S``, with jitter). The row is in the
database, so every relay and every restart honours it:

- while ``until`` is ahead, a relay that claims a message for the destination hands it back
  unsent (its attempt not counted), due again at ``until``;
- once ``until`` has passed, the first relay to claim a message for it takes the probe
  (``take_probe``: one ``UPDATE``, so only one relay wins): that one message is sent, the
  others wait until the probe's deadline (``probe_until``);
- the probe succeeds: the row is removed and the messages that waited are due at once; it
  fails busy again: the row gets a new ``until`` and the next probe waits for it.

So a destination answering 429 gets at most one request per pause from all relays together,
once the sends already under way when the first 429 came back have ended; messages to other
destinations are claimed and sent meanwhile as usual.

Every function here runs inside the caller's transaction (``conn``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mktflow.store.tables import Channel, DestinationBackoff

__all__ = ["Pause", "clear", "pause", "paused", "take_probe"]

_D = DestinationBackoff.__table__  # type: ignore[attr-defined]
_C = Channel.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Pause:
    """One paused destination as a relay read it."""

    destination: str
    until: datetime
    failures: int
    probe_until: datetime | None

    def probe_out(self, now: datetime) -> bool:
        """Whether a relay's probe of it is still under way at ``now``."""
        return self.probe_until is not None and self.probe_until > now

    def waits_until(self) -> datetime:
        """When a message held back for it may be looked at again."""
        return max(self.until, self.probe_until or self.until)


def paused(conn: Connection) -> dict[str, Pause]:
    """Every paused destination (the table holds one row per destination that failed busy
    since its last success: a handful)."""
    return {r.destination: Pause(r.destination, r.until, r.failures, r.probe_until)
            for r in conn.execute(select(_D.c.destination, _D.c.until, _D.c.failures,
                                         _D.c.probe_until))}


def take_probe(conn: Connection, destination: str, *, now: datetime, until: datetime,
               token: str) -> bool:
    """Take the probe of a destination whose pause has ended (nobody else's probe under way);
    whether this caller got it. Only one concurrent caller can: the row is updated once."""
    taken = conn.execute(
        update(_D).where(_D.c.destination == destination, _D.c.until <= now,
                         (_D.c.probe_until.is_(None)) | (_D.c.probe_until <= now))
        .values(probe_until=until, probe_by=token[:100])).rowcount
    return bool(taken)


def pause(conn: Connection, destination: str, *, until: datetime, reason: str,
          now: datetime) -> None:
    """Pause a destination until ``until`` (a new row, or one more failure of a paused one;
    its probe, if any, is over)."""
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    row = {"destination": destination, "until": until, "failures": 1,
           "reason": reason[:500], "probe_until": None, "probe_by": None, "updated_at": now}
    statement = make(_D).values(row)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[_D.c.destination],
        set_={"until": statement.excluded.until, "failures": _D.c.failures + 1,
              "reason": statement.excluded.reason, "probe_until": None, "probe_by": None,
              "updated_at": now}))


def clear(conn: Connection, destinations: Iterable[str]) -> None:
    """A send to these destinations succeeded: they are no longer paused."""
    names = list(destinations)
    if names:
        conn.execute(delete(_D).where(_D.c.destination.in_(names)))


def channels(conn: Connection) -> list[tuple[int, str, str | None]]:
    """Every channel's id, type and URL (to tell which go to a destination)."""
    return [(r.id, r.type, r.url) for r in conn.execute(select(_C.c.id, _C.c.type, _C.c.url))]
