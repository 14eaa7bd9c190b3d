"""New flow code while runs wait (issue 20, item 8), on both databases: the version each process
runs on is recorded (0015), a run going on on changed code records the new one once, and
``mktflow process migrate`` lists what each waiting process would do on the code deployed now:
current, migrate (recorded without --dry-run) or refused (a form it waits with changed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mktflow.engine import processes, work
from mktflow.engine.queries import history, show
from mktflow.engine.views import plain
from tests.conftest import CliResult, Db

OLGA = "olga.petrova@example.com"


def _waiting(db: Db, *, version: str | None, form: type[Any]) -> tuple[int, int]:
    """A running campaign on flow ``version`` waiting at a step with ``form``: (process, step)."""
    p = processes.start_process(db.uow(), process="campaign",
                                business_key=f"FV-{uuid.uuid4().hex[:8]}", owner_email=OLGA,
                                flow_run_id=str(uuid.uuid4()), flow_version=version)
    item = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="marketing",
                                 title="Plan", process_id=p.id, step_key="plan-1",
                                 form_name=form.__name__,
                                 form_schema=form.model_json_schema())
    assert p.id is not None and item.id is not None
    return p.id, item.id


def test_a_run_on_changed_code_records_the_new_version_once(db: Db) -> None:
    from flows.campaign import CampaignPlan

    pid, _ = _waiting(db, version="v1", form=CampaignPlan)
    run = plain(show(db.uow(), f"P-{pid}", "process"))["flow_run_id"]
    assert plain(show(db.uow(), f"P-{pid}", "process"))["flow_version"] == "v1"
    assert not processes.note_flow_version(db.engine_uow(), pid, flow_run_id=run, version="v1")
    assert processes.note_flow_version(db.engine_uow(), pid, flow_run_id=run, version="v2")
    assert not processes.note_flow_version(db.engine_uow(), pid, flow_run_id=run, version="v2")
    [entry] = [e for e in plain(history(db.uow(), f"P-{pid}")) if e["action"] == "flow-version"]
    assert (entry["actor"], entry["changes"]) == ("mktflow", {"flow_version": ["v1", "v2"]})
    assert entry["reason"] == f"flow run {run} went on on changed flow code"


def test_migrate_lists_current_migrate_and_refused_and_records_only_without_dry_run(
        db: Db, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.campaign import CampaignPlan, Lessons, campaign

    deployed = str(campaign.version)
    current, _ = _waiting(db, version=deployed, form=CampaignPlan)
    older, older_step = _waiting(db, version="old-hash", form=CampaignPlan)

    changed_form = {**Lessons.model_json_schema(), "title": "Lessons (old)"}
    refused, refused_step = _waiting(db, version="old-hash", form=Lessons)
    with db.uow() as u:  # the step was created with the old code's form (another title)
        from mktflow.store.tables import WorkItem

        item = u.session.get(WorkItem, refused_step)
        item.form_schema = changed_form
        u.session.add(item)
        u.session.commit()

    refs = [f"P-{current}", f"P-{older}", f"P-{refused}"]
    dry = cli("process", "migrate", *refs, "--dry-run", "--json")
    assert dry.exit_code == 1, dry.stderr  # one is refused
    rows = {r["process"]: r for r in dry.json()}
    assert [rows[r]["outcome"] for r in refs] == ["current", "migrate", "refused"]
    assert rows[f"P-{older}"]["from_version"] == "old-hash"
    assert rows[f"P-{older}"]["to_version"] == deployed
    assert rows[f"P-{older}"]["waiting_at"] == f"W-{older_step} (plan-1)"
    assert rows[f"P-{refused}"]["detail"] == (
        f"W-{refused_step} waits with form Lessons, which the new code changed: answer or "
        "cancel it on the old code first")
    assert not any(r["recorded"] for r in rows.values())
    assert plain(show(db.uow(), f"P-{older}", "process"))["flow_version"] == "old-hash"

    done = cli("process", "migrate", f"P-{older}", "--json")
    assert done.exit_code == 0, done.stderr
    assert [(r["outcome"], r["recorded"]) for r in done.json()] == [("migrate", True)]
    assert plain(show(db.uow(), f"P-{older}", "process"))["flow_version"] == deployed
    [entry] = [e for e in plain(history(db.uow(), f"P-{older}")) if e["action"] == "flow-version"]
    assert entry["reason"].startswith(f"mktflow process migrate: from old-hash to {deployed}")
    again = cli("process", "migrate", f"P-{older}", "--json")
    assert [r["outcome"] for r in again.json()] == ["current"]
    assert plain(show(db.uow(), f"P-{refused}", "process"))["flow_version"] == "old-hash"
    text = cli("process", "migrate", f"P-{refused}")
    assert text.exit_code == 1 and f"P-{refused} (campaign " in text.stdout
    missing = cli("process", "migrate", "P-999999")
    assert missing.exit_code != 0 and "P-999999: no running process" in missing.stderr
