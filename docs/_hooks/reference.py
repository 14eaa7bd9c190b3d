"""MkDocs hook: the reference pages are generated from the code at every build, never by hand.

A page asks for a reference with a marker line, replaced when the site is built:

* ``<!-- reference: cli -->``: every ``mktflow`` command, from the command tree (typer/click);
* ``<!-- reference: settings -->``: every setting, from ``mktflow.config.Settings``;
* ``<!-- reference: api -->``: every operation of the REST API, from its OpenAPI document,
  which is also written next to the page as ``openapi.json``.

``mkdocs build --strict`` (``make lint``) fails when a command, setting or operation cannot be
rendered, so the reference cannot drift from the code.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

MARKER = re.compile(r"^<!-- reference: (cli|settings|api) -->$", re.MULTILINE)


def _cell(text: Any) -> str:
    """A table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


# --- the command line -------------------------------------------------------------------------


def _commands(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    import click

    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            found += _commands(command.commands[name], [*path, name])
    return found


def _option_row(param: Any) -> str:
    import click

    if isinstance(param, click.Argument):
        name = f"`{param.human_readable_name}`"
        kind = "argument" + ("" if param.required else ", optional")
        help_text = getattr(param, "help", None) or ""
    else:
        name = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        kind = "required" if param.required else (
            "flag" if param.is_flag else f"default `{param.default}`"
            if param.default not in (None, (), [], False) else "")
        help_text = param.help or ""
    return f"| {name} | {_cell(kind)} | {_cell(help_text)} |"


def cli_reference() -> str:
    """Every command of ``mktflow``: its usage, what it does and its options."""
    import typer.main

    from mktflow.cli import app

    root = typer.main.get_command(app)
    out: list[str] = []
    for path, command in _commands(root, ["mktflow"]):
        if len(path) == 1:
            continue
        out += [f"## `{' '.join(path)}`", ""]
        doc = (command.help or "").strip()
        if doc:
            out += [doc.replace("\b\n", ""), ""]
        params = [p for p in command.params if p.name not in ("help",)]
        if params and not hasattr(command, "commands"):
            out += ["| parameter | kind | what it is |", "|---|---|---|"]
            out += [_option_row(p) for p in params]
            out.append("")
    return "\n".join(out)


# --- settings -----------------------------------------------------------------------------------


def settings_reference() -> str:
    """Every ``MKTFLOW_*`` setting: its variable, type, default and description."""
    from mktflow.config import Settings
    from mktflow.config_env import ENV_PREFIX

    out = ["| variable | type | default | what it does |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        kind = re.sub(r"typing\.|pathlib\.|pydantic\.types\.", "", str(field.annotation))
        kind = kind.replace("<class '", "").replace("'>", "")
        default = field.default
        if default is None:
            shown = "(empty)"
        elif isinstance(default, Path):
            shown = "`" + str(default).replace(os.path.expanduser("~"), "~") + "`"
        else:
            shown = f"`{default}`"
        out.append(f"| `{ENV_PREFIX}{name.upper()}` | {_cell(kind)} | {_cell(shown)} | "
                   f"{_cell(field.description or '')} |")
    return "\n".join(out)


# --- the REST API -----------------------------------------------------------------------------


def openapi() -> dict[str, Any]:
    """The REST API's OpenAPI document, as ``GET /openapi.json`` serves it."""
    from sqlalchemy import create_engine

    from mktflow.api.app import create_app
    from mktflow.config import Settings

    return create_app(create_engine("sqlite://"), settings=Settings()).openapi()


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref", "")
    name = ref.rsplit("/", 1)[-1] if ref else schema.get("type", "")
    return f"list of {name}" if schema.get("type") == "array" and ref else name


def api_reference(spec: dict[str, Any] | None = None) -> str:
    """Every operation: method and path, what it does, its parameters, body and answers."""
    spec = spec or openapi()
    out = ["The OpenAPI document itself: [openapi.json](openapi.json) (the same as "
           "`GET /openapi.json` on a running API).", ""]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            out += [f"## `{method.upper()} {path}`", ""]
            if op.get("description") or op.get("summary"):
                out += [(op.get("description") or op.get("summary")).strip(), ""]
            params = op.get("parameters", [])
            if params:
                out += ["| parameter | in | required | what it is |", "|---|---|---|---|"]
                out += [f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'}"
                        f" | {_cell(p.get('description', ''))} |" for p in params]
                out.append("")
            body = ((op.get("requestBody") or {}).get("content") or {})
            if body:
                schema = next(iter(body.values())).get("schema")
                out += [f"Body: `{_schema_name(schema)}`.", ""]
            answers = ", ".join(f"{code} {_cell(r.get('description', ''))}"
                                for code, r in op.get("responses", {}).items())
            out += [f"Answers: {answers}.", ""]
    return "\n".join(out)


# --- the hooks ------------------------------------------------------------------------------

_RENDER = {"cli": cli_reference, "settings": settings_reference, "api": api_reference}


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Replace each reference marker with what the code says now."""
    return MARKER.sub(lambda m: _RENDER[m.group(1)](), markdown)


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """Add the OpenAPI document beside the API reference (``reference/openapi.json``)."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, "reference/openapi.json",
                                content=json.dumps(openapi(), indent=2) + "\n"))
    return files
