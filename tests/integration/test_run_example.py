"""``mktflow run PROCESS --example`` prints what pastes into the Prefect UI's Custom run JSON
view (the flow's parameters by name); ``--params`` takes that or the bare object."""

from __future__ import annotations

import inspect
import json
from typing import Any

from mktflow.prefect.registry import PROCESSES, unwrap


def test_example_is_wrapped_in_the_flows_parameter_name(cli: Any) -> None:
    from mktflow.prefect.runner import check_params

    for name, spec in PROCESSES.items():
        printed = json.loads(cli("run", name, "--example").stdout)
        flow, model = spec.load()
        # the UI's JSON view is keyed by the flow function's parameters
        assert list(printed) == list(inspect.signature(flow.fn).parameters) == [spec.param]
        check_params(model, printed[spec.param], name)
    assert list(json.loads(cli("run", "campaign", "--example").stdout)) == ["request"]


def test_params_take_the_wrapped_or_the_bare_object(cli: Any) -> None:
    bare = {"number": "O-1"}
    assert unwrap("order-handling", {"order": bare}) == bare
    assert unwrap("order-handling", bare) == bare
    for given in (bare, {"order": bare}):
        result = cli("run", "order-handling", "--params", json.dumps(given), "--json")
        assert result.exit_code == 2
        error = json.loads(result.stdout)["error"]
        assert "field 'sales'" in error and "field 'lines'" in error, error
