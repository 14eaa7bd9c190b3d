"""What every ``mktflow`` command shares: options, input parsing, output, and error translation.

Errors are translated here, at the edge: a business-rule refusal exits 1, bad usage or input
exits 2, each with one line on stderr (and a JSON error object on stdout with ``--json``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.domain.errors import BadInput, MktflowError

__all__ = [
    "ActorOpt",
    "JsonOpt",
    "emit",
    "fail",
    "parse_data",
    "parse_date",
    "parse_time",
    "refusals",
    "table",
    "uow",
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ActorOpt = Annotated[str, typer.Option("--as", help="E-mail of the member acting.")]


def uow() -> Any:
    """A unit of work on the configured database."""
    from mktflow.store.db import get_engine
    from mktflow.store.uow import UnitOfWork

    return UnitOfWork(get_engine())


def fail(message: str, code: int, *, as_json: bool = False, kind: str = "error") -> None:
    """Print one line on stderr (and JSON on stdout), then exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    if as_json:
        typer.echo(json.dumps({"error": message, "kind": kind, "exit_code": code}))
    raise typer.Exit(code)


@contextmanager
def refusals(as_json: bool = False) -> Iterator[None]:
    """Turn mktflow errors into exit codes and one readable line."""
    try:
        yield
    except MktflowError as exc:
        fail(str(exc), exc.exit_code, as_json=as_json, kind=type(exc).__name__)


def emit(obj: Any, as_json: bool, human: Callable[[Any], str] | str | None = None) -> None:
    """Print ``obj`` as JSON, or as the human text ``human`` renders."""
    if as_json:
        typer.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))
    elif callable(human):
        typer.echo(human(obj))
    elif human is not None:
        typer.echo(human)
    else:
        typer.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def table(rows: list[dict[str, Any]], columns: list[str], empty: str = "(nothing)") -> str:
    """A plain-text table of ``columns`` from ``rows``."""
    if not rows:
        return empty
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def parse_data(raw: str | None, *, field: str = "data") -> dict[str, Any] | None:
    """``--data`` as inline JSON or ``@file``; refuses anything but a JSON object."""
    if raw is None:
        return None
    text = raw
    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            text = sys.stdin.read() if raw == "@-" else path.read_text("utf-8")
        except OSError as exc:
            raise BadInput(f"{field}: cannot read {path}: {exc.strerror}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{field}: not valid JSON ({exc.msg} at line {exc.lineno} "
                       f"column {exc.colno})") from None
    if not isinstance(value, dict):
        raise BadInput(f"{field}: must be a JSON object, got {type(value).__name__}")
    return value


def parse_time(raw: str | None, *, field: str) -> datetime | None:
    """An ISO 8601 time; without a zone it is UTC; a date alone means the end of that day."""
    if raw is None:
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{field}: {raw!r} is not an ISO 8601 time "
                       "(e.g. 2026-12-01 or 2026-12-01T17:00+01:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_date(raw: str | None, *, field: str) -> date | None:
    """An ISO 8601 date (YYYY-MM-DD)."""
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise BadInput(f"{field}: {raw!r} is not a date (YYYY-MM-DD)") from None
