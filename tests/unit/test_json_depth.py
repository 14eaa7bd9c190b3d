"""JSON nesting is refused before parsing: no recursion, no "Exception ignored" noise."""

from __future__ import annotations

import pytest

from mktflow.domain import inputs
from mktflow.domain.inputs import JSON_DEPTH_MAX, BadInput, load_json


@pytest.mark.parametrize("text", [
    "[" * (JSON_DEPTH_MAX + 1) + "]" * (JSON_DEPTH_MAX + 1),
    '{"a": ' * (JSON_DEPTH_MAX + 1) + "1" + "}" * (JSON_DEPTH_MAX + 1),
    "[" * 100_000,  # never closed: still refused for its depth, not its syntax
])
def test_text_nested_past_the_limit_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(BadInput, match=rf"^data: nested more than {JSON_DEPTH_MAX} levels deep$"):
        load_json(text, field="data")


def test_brackets_inside_strings_do_not_count() -> None:
    text = '{"note": "' + "[" * 500 + '\\"{{{", "ok": [1]}'
    assert load_json(text, field="data") == {"note": "[" * 500 + '"{{{', "ok": [1]}


def test_the_limit_itself_is_accepted() -> None:
    value = load_json("[" * JSON_DEPTH_MAX + "]" * JSON_DEPTH_MAX, field="data")
    assert isinstance(value, list)


def test_a_deep_text_never_reaches_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    # json.loads recurses once per level: a RecursionError deep in the stack set off
    # "Exception ignored in sys.unraisablehook" from finalizers, ahead of the CLI's one-line error
    def parse(text: str) -> None:
        raise AssertionError("parsed a text nested past the limit")

    monkeypatch.setattr(inputs.json, "loads", parse)
    with pytest.raises(BadInput, match="nested more than"):
        load_json("[" * 100_000 + "]" * 100_000, field="data")
