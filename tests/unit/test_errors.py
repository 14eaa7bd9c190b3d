"""mktflow's exceptions form one tree, all in ``mktflow.domain.errors``, drawn in its docstring."""

from __future__ import annotations

import ast
from pathlib import Path

from mktflow.domain import errors

PACKAGE = Path(errors.__file__).parents[1]


def _exception_classes(tree: ast.Module) -> list[str]:
    known = set(errors.__all__) | {"Exception", "BaseException"}
    return [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
            and any(isinstance(b, ast.Name) and b.id in known for b in node.bases)]


def test_every_public_exception_lives_in_errors_and_is_drawn() -> None:
    elsewhere = {
        str(path.relative_to(PACKAGE)): names
        for path in PACKAGE.rglob("*.py") if path.name != "errors.py"
        if (names := [n for n in _exception_classes(ast.parse(path.read_text()))
                      if not n.startswith("_")])}
    assert elsewhere == {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.MktflowError) and cls.__module__ == errors.__name__
        assert f" {name} " in errors.__doc__, name


def test_old_homes_still_import_the_same_classes() -> None:
    from mktflow.domain import planning
    from mktflow.notify import senders

    assert planning.PlanFileInvalid is errors.PlanFileInvalid
    assert senders.DeliveryFailed is errors.DeliveryFailed
