"""New flow code while runs wait: which version each waiting process would go on with
(``mktflow process migrate``), in the manner of Camunda's and Flowable's instance migration.

What happens when a waiting run is resumed after its flow's code changed (issue 20, item 8):
Prefect starts a suspended run again from the top **on the code deployed now** (``mktflow
serve`` or a pool's worker imports the flow afresh). The flow's engine tasks are idempotent by
their keys (process + step key), so the new code finds its process and the steps already done
in mktflow's tables, reads their answers back, and waits again at the step it waited on, under
the same key. ``tasks.start_process`` records the new version on the process (a
``flow-version`` entry: old → new). That holds when the step it waits on is still the same step
on the new code: the same form (the item keeps the form it was created with; the engine checks
an answer against it, the flow against its own). When the new code changed that step's form,
or no longer has it, the answer one side accepts the other may refuse: such a process is
**refused** here, with the reason; answer (or cancel) that step while the old code still
serves it, or start the process again.

For each running process with a flow run, ``plan`` says one of:

* ``current``: it runs on the version deployed now; nothing changes;
* ``migrate``: it would go on on the new version at the step(s) it waits on, same form(s);
  without ``--dry-run`` the new version is recorded on it (a ``flow-version`` entry naming
  ``mktflow process migrate``), so the history says which code it runs from here on;
* ``refused``: the new code changed or lost a form it waits on (named), or its flow does not
  load; nothing is recorded.

The version is Prefect's ``flow.version`` (by default a hash of the flow's source file).
"""

from __future__ import annotations

import importlib
from typing import Any

from mktflow import bootstrap
from mktflow.engine import reconcile as engine

__all__ = ["current_flow", "plan"]


def current_flow(process: str) -> tuple[Any | None, str | None]:
    """(the flow deployed now for ``process``, or None; why it cannot be loaded, or None)."""
    from mktflow.prefect.registry import PROCESSES

    if process in PROCESSES:
        spec = PROCESSES[process]
        module_name, attr = spec.module, spec.flow_attr
    else:
        from deployments.catalog import CATALOG

        found = next((s for s in CATALOG if s.flow_name == process), None)
        if found is None:
            return None, f"no flow named {process!r} is deployed"
        module_name, attr = found.module, ""
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a broken new flow module is a refusal, not a crash
        return None, f"{module_name} does not import: {type(exc).__name__}: {exc}"
    if attr:
        return getattr(module, attr, None), None
    from prefect import Flow

    flow = next((v for v in vars(module).values() if isinstance(v, Flow) and v.name == process),
                None)
    return flow, None if flow else f"{module_name} has no flow named {process!r}"


def _form_problem(flow: Any, step: dict[str, Any]) -> str | None:
    """Why the new code's form for ``step`` is not the one the step was created with."""
    name = step.get("form_name")
    if not name or step.get("form_schema") is None:
        return None  # no form recorded (a step made by hand): nothing to compare
    module = importlib.import_module(flow.fn.__module__)
    form = getattr(module, name, None)
    if form is None or not hasattr(form, "model_json_schema"):
        return f"{step['ref']} waits with form {name}, which the new code no longer has"
    if form.model_json_schema() != step["form_schema"]:
        return f"{step['ref']} waits with form {name}, which the new code changed"
    return None


def plan(refs: list[str] | None = None, *, dry_run: bool = True) -> list[dict[str, Any]]:
    """What each waiting process (``refs``, or every running one) would do on the flow code
    deployed now (see the module docstring); recorded for ``migrate`` ones unless
    ``dry_run``. Rows: process, flow, business_key, from_version, to_version, waiting_at,
    outcome (current | migrate | refused), detail, recorded."""
    flows: dict[str, tuple[Any | None, str | None]] = {}
    rows = []
    for p in engine.waiting_processes(bootstrap.engine_uow(), refs):
        name = str(p["process"])
        if name not in flows:
            flows[name] = current_flow(name)
        flow, why = flows[name]
        waiting: list[dict[str, Any]] = p["waiting"]  # type: ignore[assignment]
        at = ", ".join(f"{w['ref']} ({w['step_key']})" for w in waiting) or "no step"
        new = str(flow.version) if flow is not None and flow.version else None
        row: dict[str, Any] = {"process": p["ref"], "flow": name,
                               "business_key": p["business_key"],
                               "from_version": p["flow_version"], "to_version": new,
                               "waiting_at": at, "recorded": False}
        problems = [why] if flow is None else [
            x for w in waiting if (x := _form_problem(flow, w)) is not None]
        if problems:
            row |= {"outcome": "refused", "detail": "; ".join(p for p in problems if p)
                    + ": answer or cancel it on the old code first"}
        elif new == p["flow_version"]:
            row |= {"outcome": "current", "detail": f"runs on {new} already"}
        else:
            row |= {"outcome": "migrate",
                    "detail": f"would go on on {new} at {at}: the new code runs again from the "
                              "top, reads its done steps back and waits there again"}
            if not dry_run and new is not None:
                row["recorded"] = engine.migrate_version(
                    bootstrap.engine_uow(), int(p["process_id"]), version=new,  # type: ignore[call-overload]
                    why=f"mktflow process migrate: from {p['flow_version']} to {new}, waiting "
                        f"at {at}")
        rows.append(row)
    return rows
