"""What every ``mktflow`` command shares: options, input parsing, output, and error translation.

Errors are translated here, at the edge: a business-rule refusal exits 1, bad usage or input
exits 2, a change whose outcome is unknown (its database answer lost, ``OutcomeUnknown``)
exits 3, each with one line on stderr (and a JSON error object on stdout with ``--json``).
What a command says beside its result (``mktflow.domain.notes``: a change recorded although the
database connection dropped, a repeat that changed nothing) is printed on stderr as
``note: …`` lines; the exit code stays 0.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from mktflow.domain import notes
from mktflow.domain.calendars import parse_due
from mktflow.domain.errors import BadInput, MktflowError
from mktflow.domain.inputs import due_ahead, load_json, parse_date, parse_time

__all__ = [
    "DUE_HELP",
    "ActorOpt",
    "DataOpt",
    "IdArg",
    "JsonOpt",
    "ReaderOpt",
    "ReasonOpt",
    "due_ahead",
    "emit",
    "fail",
    "item_id",
    "parse_data",
    "parse_date",
    "parse_due",
    "parse_time",
    "plain",
    "read_bounded",
    "refusals",
    "show_item",
    "table",
    "uow",
]

#: What ``--due`` takes (``mktflow.domain.calendars.parse_due``).
DUE_HELP = ("ISO 8601 time, or working time in the item's branch calendar: '3 working days', "
            "'2 working hours', 'end of the working day'.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
#: The command line is run by an operator who holds the database URL (and so could change any
#: row): ``--as`` may name any active member, and is recorded as theirs; never the process
#: engine ``mktflow``, which the engine refuses from every door.
ActorOpt = Annotated[str, typer.Option(
    "--as", help="E-mail of the active member acting (the operator acts for them; never "
                 "'mktflow', the process engine).")]
#: Who reads (``engine.visibility``): without it the operator, who sees everything.
ReaderOpt = Annotated[str | None, typer.Option(
    "--as", help="Read as this member: show only what the read table lets them see "
                 "(without it: everything, as the operator).")]


def uow() -> Any:
    """A unit of work on this process's wiring (the configured database); its audit entries
    say the member was named on the command line by an operator."""
    from mktflow import bootstrap
    from mktflow.domain.actors import IdentifiedBy

    return bootstrap.wiring().uow(identified_by=IdentifiedBy.OPERATOR)


def fail(message: str, code: int, *, as_json: bool = False, kind: str = "error",
         errors: list[dict[str, Any]] | None = None) -> None:
    """Print one line on stderr (and JSON on stdout), then exit with ``code``. ``errors``:
    one object per broken field (a ``FormInvalid``'s), added to the JSON as ``errors``."""
    typer.echo(f"error: {message}", err=True)
    if as_json:
        body: dict[str, Any] = {"error": message, "kind": kind, "exit_code": code}
        if errors:
            body["errors"] = errors
        typer.echo(json.dumps(body, ensure_ascii=False))
    raise typer.Exit(code)


@contextmanager
def refusals(as_json: bool = False) -> Iterator[None]:
    """Turn mktflow errors into exit codes and one readable line; print the notes the
    command told (``note: …`` on stderr)."""
    with notes.collected() as said:
        try:
            yield
        except MktflowError as exc:
            _print_notes(said)
            fail(str(exc), exc.exit_code, as_json=as_json, kind=type(exc).__name__,
                 errors=getattr(exc, "errors", None))
        _print_notes(said)


def _print_notes(said: list[str]) -> None:
    for note in said:
        typer.echo(f"note: {note}", err=True)


def plain(obj: Any) -> Any:
    """``obj`` with the engine's views in it as plain dicts (``engine.views.plain``: the keys
    and values ``--json`` has always printed). A command that read no view has not loaded
    that module, and need not: its ``obj`` holds none (the API's client commands stay light)."""
    views = sys.modules.get("mktflow.engine.views")
    return views.plain(obj) if views is not None else obj


def emit(obj: Any, as_json: bool, human: Callable[[Any], str] | str | None = None) -> None:
    """Print ``obj`` (dicts, lists, the engine's views) as JSON, or as the human text
    ``human`` renders."""
    if as_json:
        typer.echo(json.dumps(plain(obj), indent=2, default=str, ensure_ascii=False))
    elif callable(human):
        typer.echo(human(obj))
    elif human is not None:
        typer.echo(human)
    else:
        typer.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def table(rows: list[Any], columns: list[str], empty: str = "(nothing)") -> str:
    """A plain-text table of ``columns`` from ``rows`` (dicts or the engine's views)."""
    if not rows:
        return empty
    rows = plain(rows)
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def read_bounded(path: Path, *, field: str, max_bytes: int, stdin: bool = False) -> bytes:
    """The bytes of ``path`` (standard input with ``stdin``), at most ``max_bytes``; BadInput
    naming ``field`` when it cannot be read or is larger."""
    try:
        if stdin:
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise BadInput(f"{field}: cannot read {path}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise BadInput(f"{field}: {path} is larger than {max_bytes} bytes")
    return data


def parse_data(raw: str | None, *, field: str = "data") -> dict[str, Any] | None:
    """``--data`` as inline JSON or ``@file`` (UTF-8, a BOM allowed, at most 1 MB); refuses
    anything but a JSON object, by the rule every door reads JSON with (``load_json``)."""
    if raw is None:
        return None
    text: str | bytes = raw
    if raw.startswith("@"):
        text = read_bounded(Path(raw[1:]), field=field, max_bytes=_DATA_MAX_BYTES,
                            stdin=raw == "@-")
    value = load_json(text, field=field)
    if not isinstance(value, dict):
        raise BadInput(f"{field}: must be a JSON object, got {type(value).__name__}")
    return value


#: The largest ``--data @file`` read, as the API's default request limit.
_DATA_MAX_BYTES = 1_000_000

IdArg = Annotated[str, typer.Argument(help="The item, e.g. 12 or W-12.")]
DataOpt = Annotated[str | None, typer.Option("--data", help="JSON object, or @file with one.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (required to reject, "
                                                               "return or cancel).")]


def item_id(reference: str, kind: str) -> int:
    """The number of ``reference`` (12, W-12, H-3) as an item of ``kind``."""
    from mktflow.engine.refs import parse_ref

    return parse_ref(reference, kind)[1]


def show_item(item: Any) -> str:
    """A work item or handoff (its view) as aligned ``key: value`` lines."""
    view: dict[str, Any] = plain(item)
    keys = ["ref", "state", "title", "description", "department", "assignee", "due",
            "due_basis", "quadrant", "process", "draft"]
    if view.get("kind") == "handoff":
        keys = ["ref", "handoff_kind", "state", "title", "from_department", "to_department",
                "due", "due_basis", "reason", "process"]
    def text(value: Any) -> str:  # a draft prints as the JSON --data takes
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)

    # a description's further lines (a sent-back plan's reason, a table) keep the value column
    return "\n".join(f"{k:>16}: " + text(view.get(k)).replace("\n", "\n" + " " * 18)
                     for k in keys if view.get(k) is not None
                     and (k != "description" or view.get(k)))
