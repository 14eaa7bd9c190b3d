"""What a command tells the person beside its result: a note, not an error.

A command that succeeds may still have something to say: its change was recorded although the
database connection dropped while it was committed (``mktflow.store.uow``), or it was already
done by the same person with the same answer, so nothing changed (``mktflow.engine.work``).
The code that knows says it with ``tell``; the door that runs the command collects what was
said with ``collected`` and shows it its own way (the CLI prints ``note: …`` lines on stderr
and exits 0, the API adds a ``Mktflow-Note`` header).

Notes are kept per context (``contextvars``): concurrent requests never see each other's, and
a note told with nobody collecting goes nowhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["collected", "tell"]

_NOTES: ContextVar[list[str] | None] = ContextVar("mktflow_notes", default=None)


@contextmanager
def collected() -> Iterator[list[str]]:
    """Collect the notes told inside the block (and in threads started with a copy of its
    context, as the API's worker threads are): the list grows as they are told."""
    notes: list[str] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def tell(note: str) -> None:
    """Say ``note`` (one sentence for a person) to whoever collects; repeated notes once."""
    notes = _NOTES.get()
    if notes is not None and note not in notes:
        notes.append(note)
