"""Reading a plan file (CSV or YAML) into plan items; the analysis is in ``domain.planning``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from mktflow.domain.errors import BadInput
from mktflow.domain.planning import PlanItem, parse_plan_items

__all__ = ["read_plan_file"]


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8-sig")  # spreadsheets often write a BOM
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start}); {_EXPECTED}") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read it: {exc.strerror}") from None


#: What a plan CSV must be, said once wherever a file is not.
_EXPECTED = ("a plan CSV is comma-separated (,) UTF-8 text with a header row "
             "(in a spreadsheet: save as \"CSV UTF-8 (comma delimited)\")")


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise BadInput(f"{path}: empty file; expected a header row with title, category, ...")
    if len(reader.fieldnames) == 1:
        header = reader.fieldnames[0]
        found = next((sep for sep in (";", "\t", "|") if sep in header), None)
        if found is not None:
            name = {";": "semicolons (;)", "\t": "tabs", "|": "bars (|)"}[found]
            raise BadInput(f"{path}: the header is separated by {name}; {_EXPECTED}")
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, row in enumerate(reader, start=2):  # row 1 is the header, as in a spreadsheet
        if None in row:  # more cells than header columns
            raise BadInput(f"{path} row {number}: more cells than the header has columns")
        if any((v or "").strip() for v in row.values()):
            rows.append((number, row))
    return rows


def _yaml_rows(path: Path, text: str) -> list[tuple[int, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise BadInput(f"{path}{where}: not valid YAML: "
                       f"{getattr(exc, 'problem', None) or exc}") from None
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    if not isinstance(data, list):
        raise BadInput(f"{path}: expected a list of plan items (or a mapping with 'items:')")
    return list(enumerate(data, start=1))


def read_plan_file(path: Path) -> list[PlanItem]:
    """The plan items of a ``.csv`` or ``.yaml``/``.yml`` file; refuses it whole on any problem."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".yaml", ".yml"}:
        raise BadInput(f"{path}: unknown plan file type {suffix or '(none)'!r}; "
                       "use .csv, .yaml or .yml")
    text = _read_text(path)
    if suffix == ".csv":
        return parse_plan_items(_csv_rows(path, text), str(path), unit="row")
    return parse_plan_items(_yaml_rows(path, text), str(path), unit="entry")
