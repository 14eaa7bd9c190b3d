"""Every door runs the item actions through the engine's one table (issue 21, item 2): the API's
endpoints, the pages' forms, the command line and the flows' tasks name an action and
``mktflow.engine.actions.perform`` picks its handler; none calls an action's handler itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mktflow.engine import actions

ROOT = Path(__file__).resolve().parents[2] / "mktflow"
DOORS = ("api", "web", "cli", "prefect")
#: module attribute -> the handlers of the table it holds, as doors would call them.
HANDLERS = {
    "work": {"claim", "release", "assign", "delegate", "resolve", "cancel", "update"},
    "handoffs": {"accept", "reject", "deliver", "confirm", "return_", "cancel", "act"},
}
#: The one call a door makes past the table, with its reason in the code beside it: the flow
#: completing a step answered in the Prefect UI is the run that ``complete_step`` would resume.
ALLOWED = {("prefect/tasks/common.py", "work.complete")}


def _calls(path: Path) -> set[str]:
    """``module.function`` and bare names called in ``path``, imports inside functions too."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                found.add(f"{f.value.id}.{f.attr}")
            elif isinstance(f, ast.Name):
                found.add(f.id)
        elif isinstance(node, ast.ImportFrom) and node.module in (
                "mktflow.engine.work", "mktflow.engine.handoffs", "mktflow.engine.steps"):
            found.update(f"import {a.name}" for a in node.names)
    return found


def _bypasses(call: str) -> bool:
    """Whether ``call`` (from ``_calls``) runs an action's handler itself."""
    handlers = HANDLERS["work"] | HANDLERS["handoffs"] | {"complete_step"}
    if call.startswith("import "):
        return call.removeprefix("import ") in handlers
    module, _, name = call.partition(".")
    return call == "complete_step" or name in HANDLERS.get(module, set())


@pytest.mark.parametrize("door", DOORS)
def test_no_door_calls_an_action_handler_past_the_table(door: str) -> None:
    bypasses = sorted(f"{path.relative_to(ROOT).as_posix()}: {call}"
                      for path in (ROOT / door).rglob("*.py") for call in _calls(path)
                      if _bypasses(call)
                      and (path.relative_to(ROOT).as_posix(), call) not in ALLOWED)
    assert bypasses == [], "doors calling a handler past mktflow.engine.actions"


def test_the_api_offers_exactly_the_actions_of_the_table() -> None:
    from sqlalchemy import create_engine

    from mktflow.api.app import create_app

    paths = create_app(create_engine("sqlite://")).openapi()["paths"]
    offered = {kind: {p.rsplit("/", 1)[1] for p, ops in paths.items()
                      if p.startswith(f"/{prefix}/{{item}}/") and "post" in ops}
               for kind, prefix in (("work", "work"), ("handoff", "handoffs"))}
    for kind in ("work", "handoff"):
        assert offered[kind] == set(actions.ACTIONS[kind]), kind


@pytest.mark.parametrize("kind", ["work", "handoff"])
def test_the_command_line_offers_every_action_of_the_table(kind: str) -> None:
    from typer.main import get_command

    from mktflow.cli.handoff import handoff_app
    from mktflow.cli.work import work_app

    group = get_command(work_app if kind == "work" else handoff_app)
    assert set(actions.ACTIONS[kind]) <= set(group.commands)  # type: ignore[attr-defined]


def test_an_action_the_table_does_not_hold_is_refused_naming_the_ones_it_does() -> None:
    from mktflow.domain.errors import BadInput

    with pytest.raises(BadInput, match=r"action: 'sign' is not an action on a handoff item "
                                       r"\(one of: accept, reject"):
        actions.action_of("handoff", "sign")


def test_an_input_the_action_does_not_take_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="claim takes"):
        actions.perform(None, "work", 1, "claim", actor_email="a@example.com",  # type: ignore[arg-type]
                        reason="no")
