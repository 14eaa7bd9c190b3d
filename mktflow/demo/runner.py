"""``mktflow demo``: run the three processes end to end on embedded defaults, answering every
human step as a member of the demo organisation would, through the engine (the CLI's door)."""

from __future__ import annotations

import contextvars
import functools
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from mktflow import bootstrap
from mktflow.config import get_settings
from mktflow.demo.members import hq_branches, pick_member
from mktflow.domain import clock
from mktflow.domain.model import OPEN_WORK_STATES
from mktflow.engine import work
from mktflow.engine.common import ref
from mktflow.engine.organisation import load_organisation, read_organisation_file
from mktflow.engine.steps import complete_step
from mktflow.prefect.registry import PROCESSES, example
from mktflow.store.db import get_engine
from mktflow.store.migrate import upgrade
from mktflow.store.tables import Member, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["answer_for", "run_demo"]


def _uow() -> UnitOfWork:
    return bootstrap.uow()  # carries the resumer that hands each answered step to its run


def _members() -> list[Member]:
    with _uow() as u:
        return list(u.session.exec(select(Member).where(col(Member.active))
                                   .order_by(col(Member.id))))


def answer_for(key: str, params: dict[str, Any], item: WorkItem) -> dict[str, Any]:
    """The demo organisation's answer to a step, by step key."""
    today = clock.today()
    base = key.rsplit("-", 1)[0] if key[-1].isdigit() else key
    if base.startswith(("credit", "approval", "project-approval", "overspend")):
        return {"decision": "approve"}
    answers: dict[str, Any] = {
        "order-entry": lambda: {k: params[k] for k in ("customer_code", "customer_name",
                                                       "lines", "delivery_date")},
        "production": lambda: {"outcome": "from_stock"},
        "shipping": lambda: {"outcome": "shipped", "carrier": "DHL",
                             "tracking_number": "DHL-0042-1187"},
        "invoice": lambda: {"invoice_number": f"INV-{params['number'].upper()}",
                            "amount": sum(x["quantity"] * x["unit_price"]
                                          for x in params["lines"]),
                            "payment_due": str(today + timedelta(days=30))},
        "follow-up": lambda: {"satisfaction": 4, "complaint": "two boxes arrived dented"},
        "plan": lambda: params["plan"],
        "activity": lambda: {"completed": True, "spent": 5400.0,
                             "results": "done on time"},
        "tracking": lambda: {"actuals": [{"name": "new customers", "actual": 430},
                                         {"name": "cost per lead", "actual": 18.5}]},
        "evaluation": lambda: {"lessons": "tastings convert better than ads; shift budget",
                               "adjustments": "double tasting days next spring"},
        "proposal": lambda: {"market_need": "ready-to-drink tea without sugar",
                             "target_customers": "urban office workers 25-40",
                             "positioning": "premium, natural, cold-brewed",
                             "forecast_units": 250000, "forecast_revenue": 750000.0},
        "budget-allocation": lambda: {"allocations": [
            {"code": b["code"], "amount": b["amount"] / (2 if b["code"] == "launch" else 1)}
            for b in params["budget_lines"]], "note": "launch promotion half funded for now"},
        "resource-guarantee": lambda: {"allocations": [
            {"code": b["code"], "amount": b["amount"]} for b in params["budget_lines"]]},
        "concept-brief": lambda: {"concept": "cold-brewed green tea in a 330 ml glass bottle",
                                  "packaging_direction": "clear glass, paper label",
                                  "price_point": 2.9},
        "prototype": lambda: {"design_summary": "bottle, cap and label designed",
                              "prototype_ready": True},
        "trial-run": lambda: {"trial_ok": True, "capacity_per_month": 40000,
                              "unit_cost": 0.95},
        "materials": lambda: {"materials_secured": True, "lead_time_days": 21},
        "launch-plan": lambda: {"launch_date": str(today + timedelta(days=60)),
                                "channels": ["supermarkets", "office catering"],
                                "message": "Cold-brewed, nothing added", "launch_budget": 40000},
    }
    if base.startswith("letter-"):
        return {"decision": "accept"}
    if base.startswith("gate-"):
        return {"decision": "go"}
    for prefix, make in answers.items():
        if base == prefix or base.startswith(f"{prefix}-"):
            return dict(make())
    raise RuntimeError(f"the demo has no answer for step {key!r}")


def _drive(process: str, params: dict[str, Any], echo: Callable[[str], None],
           before: dict[str, Callable[[], None]] | None = None) -> dict[str, Any]:
    """Run one process in a thread and answer its steps until it ends; ``before``: step key
    -> what the departments do (once) before that step is answered."""
    before = dict(before or {})
    from mktflow.prefect.runner import run_process

    box: dict[str, Any] = {}
    started = threading.Event()

    def on_start(info: dict[str, Any]) -> None:
        box["info"] = info
        started.set()

    def run() -> None:
        try:
            box["result"] = run_process(process, params, on_start=on_start)
        except BaseException as exc:  # shown to the person running the demo
            box["error"] = exc
            started.set()

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True)
    thread.start()
    started.wait(120)
    if "error" in box:
        raise box["error"]
    info = box["info"]
    echo(f"\n== {process} {info['business_key']}: {info['process']}, flow run "
         f"{info['flow_run_id']}\n   {info['ui_url']}")
    members, hq = _members(), hq_branches()
    while thread.is_alive():
        for item in _open_items(info["process_id"]):
            if item.step_key in before:
                before.pop(item.step_key)()
            actor = pick_member(item, members, hq)
            data = answer_for(item.step_key or "", params, item)
            assert item.id is not None
            if item.state == "open":
                work.claim(_uow(), item.id, actor_email=actor)
            complete_step(_uow(), item.id, actor_email=actor, data=data)
            echo(f"   {ref(item)} {item.department:<10} {item.title[:60]:<60} <- {actor}: "
                 f"{_gist(data)}")
        time.sleep(0.2)
    thread.join()
    if "error" in box:
        raise box["error"]
    result = box["result"]
    echo(f"   => {result['state']}: {_gist(result.get('result') or {})}")
    return result


def _open_items(process_id: int) -> list[WorkItem]:
    with _uow() as u:
        return list(u.session.exec(select(WorkItem).where(
            col(WorkItem.process_id) == process_id,
            col(WorkItem.state).in_(sorted(OPEN_WORK_STATES))).order_by(col(WorkItem.id))))


def _gist(data: dict[str, Any]) -> str:
    keys = ("decision", "outcome", "satisfaction", "complaint", "tracking_number", "spent",
            "invoice_number", "kpis_met", "goal_met", "reason")
    shown = {k: data[k] for k in keys if k in data and data[k] not in ("", None)}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "submitted"


def run_demo(echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Migrate, load the demo organisation, drive the three processes to their end (the
    campaign's sales leads worked to their outcomes before its tracking step, so its
    evaluation counts ``leads_won``), then run every recurring cycle once and answer the steps
    it hands out."""
    from mktflow.demo.cycles import run_cycles, training_outcome
    from mktflow.demo.leads import LEADS_KPI
    from mktflow.prefect.server import connect

    connection = connect()
    engine = get_engine()
    upgrade(engine)
    load_organisation(_uow(), read_organisation_file(None, demo=True),
                      source="demo")
    settings = get_settings()
    settings.step_poll_interval_s = min(settings.step_poll_interval_s, 0.5)  # snappy demo
    worked: dict[str, Any] = {}
    processes = []
    for process in PROCESSES:
        params = example(process)
        before: dict[str, Callable[[], None]] = {}
        if process == "campaign":  # its leads, worked before marketing records the actuals
            params["plan"]["kpis"].append(dict(LEADS_KPI))
            before["tracking-1"] = functools.partial(_leads_of, params["code"], echo, worked)
        processes.append(_drive(process, params, echo, before))
    closed = close_complaints(echo)
    cycles = run_cycles(echo)
    _where_to_look(echo, connection.ui_url, local=connection.source.startswith("local"))
    return {"processes": processes, "complaints": closed, "leads": worked, "cycles": cycles,
            "training": training_outcome(), "prefect_ui": connection.ui_url}


def _leads_of(code: str, echo: Callable[[str], None], into: dict[str, Any]) -> None:
    from mktflow.demo.leads import work_the_leads

    into.update(work_the_leads(code, echo))


def close_complaints(echo: Callable[[str], None]) -> list[dict[str, Any]]:
    """The complaints the order follow-up heard, each run to closure the way the departments
    would (seed 001, 客户服务部 工作流程 2.(1) C): customer service hands the case to supply,
    supply sends new boxes, the customer says they are satisfied."""
    from mktflow.engine import complaints

    members = _members()

    def first(department: str) -> str:
        return next(m.email for m in members if m.department == department)

    closed = []
    for case in reversed(complaints.list_complaints(_uow(), state="open")):
        service, supply = first(case.department), first("supply")
        echo(f"\n== complaint {case.ref} ({case.customer}, order {case.order}): {case.text}")
        complaints.hand_over(_uow(), case.id, actor_email=service, to="supply",
                             request="Send replacement boxes")
        echo(f"   handed to supply <- {service}")
        complaints.answer(_uow(), case.id, actor_email=supply,
                          done="Replacement boxes sent the next day")
        echo(f"   answered by supply <- {supply}: replacement boxes sent the next day")
        done = complaints.customer_answer(_uow(), case.id, actor_email=service, satisfied=True,
                                          note="The new boxes arrived whole")
        echo(f"   => {done.state}: the customer is satisfied")
        closed.append({"complaint": case.ref, "state": done.state})
    return closed


def mktflow_command() -> str:
    """How to run this mktflow on this data folder from any shell, as printed hints give it:
    ``MKTFLOW_DATA_DIR=/abs/.mktflow /abs/.venv/bin/mktflow`` (the data folder always, the
    program by its full path when it is not the ``mktflow`` on PATH)."""
    data = Path(get_settings().data_dir).expanduser().resolve()
    program = Path(sys.executable).parent / "mktflow"
    on_path = shutil.which("mktflow")
    same = on_path is not None and Path(on_path).resolve() == program.resolve()
    name = "mktflow" if same or not program.exists() else str(program)
    return f"MKTFLOW_DATA_DIR={shlex.quote(str(data))} {name}"


def _where_to_look(echo: Callable[[str], None], ui_url: str, *, local: bool) -> None:
    m = mktflow_command()
    server = (f"""
  The local Prefect server keeps running, so the UI above stays up; stop it with
    {m} server stop""" if local else "")
    echo(f"""
Where to see it (each command as it is, from any shell)
  Prefect UI     {ui_url}/runs   every run above, with its summary and table artifacts
                 (open a run, tab "Artifacts"; reports of every cycle: {ui_url}/artifacts)
  Processes      {m} process list
                 {m} process show P-1 --json
  Audit trails   {m} history P-1   (a whole process; or W-1 / H-1, one item)
  Queues         {m} inbox marketing   (overdue first)
  Notifications  {m} outbox list   (channels: mktflow channel add ...)
  Schedules      make serve   (in the clone: serves every deployment with its schedule; Ctrl-C
                 stops){server}""")
