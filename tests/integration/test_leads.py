"""Sales leads, marketing → sales (seed 001, 市场营销部 工作流程 1.(2); issue 23 item 1): gather,
qualify into a handoff to sales, accept or reject, report the outcome, the funnel, the SLA
sweep on the follow-up deadline, and who may do each; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from mktflow.domain.clock import FrozenClock
from mktflow.domain.errors import BadInput, FormInvalid, NotAuthorized, TransitionRefused
from mktflow.engine import handoffs, leads, queries, sla
from mktflow.engine.views import plain
from mktflow.i18n.words import in_language

OLGA = "olga.petrova@example.com"  # marketing specialist, hq
MARCO = "marco.rossi@example.com"  # marketing specialist, north branch
CARLOS = "carlos.mendez@example.com"  # sales head
TOM = "tom.berg@example.com"  # tech specialist
MARIA = "maria.garcia@example.com"  # management


def campaign(db: Any, code: str) -> str:
    """A campaign row with business key ``code`` (the campaign flow's tables, written directly:
    these tests are about leads)."""
    from sqlmodel import Session

    from mktflow.store.tables import Campaign

    with Session(db.engine) as s:
        s.add(Campaign(code=code, name=f"Campaign {code}", owner_email=OLGA))
        s.commit()
    return code


def gathered(db: Any, **kw: Any) -> Any:
    fields = {"company": "Acme Grocers", "contact": "buyer@acme.example", "channel": "fair"}
    return leads.gather(db.uow(), actor_email=kw.pop("actor", OLGA), **(fields | kw))


def handed_over(db: Any, clock: FrozenClock, **kw: Any) -> Any:
    lead = gathered(db, **kw)
    return leads.qualify(db.uow(), lead.id, actor_email=OLGA,
                         due_at=clock.now() + timedelta(days=3), note="wants 200 cases")


def test_a_lead_goes_to_sales_and_comes_back_won(db: Any, clock: FrozenClock) -> None:
    key = campaign(db, "CMP-LEAD-1")
    lead = gathered(db, campaign=key, region="north", notes="met at the fair")
    assert (lead.state, lead.source, lead.owner_email) == ("gathered", "campaign", OLGA)

    lead = leads.qualify(db.uow(), lead.id, actor_email=OLGA,
                         due_at=clock.now() + timedelta(days=3), note="wants 200 cases")
    offered = plain(queries.show(db.uow(), f"H-{lead.handoff_id}"))
    assert (lead.state, offered["state"], offered["to_department"]) == (
        "qualified", "offered", "sales")
    assert "wants 200 cases" in offered["criteria"] and "Acme Grocers" in offered["title"]

    handoffs.accept(db.uow(), lead.handoff_id, actor_email=CARLOS)  # the handoff's own door
    lead = leads.report_outcome(db.uow(), lead.id, actor_email=CARLOS, outcome="won",
                                order="SO-9001")
    assert (lead.state, lead.order_ref) == ("won", "SO-9001")
    view = plain(leads.show_lead(db.uow(), f"L-{lead.id}", reader=OLGA))
    assert view["handoff"]["state"] == "delivered" and view["order"] == "SO-9001"

    handoffs.confirm(db.uow(), lead.handoff_id, actor_email=OLGA)  # marketing tracks it home
    trail = plain(leads.show_lead(db.uow(), lead.id, reader=MARIA))["history"]
    assert [(e["ref"], e["action"], e["actor"]) for e in trail] == [
        (f"L-{lead.id}", "gather", OLGA), (f"H-{lead.handoff_id}", "offer", OLGA),
        (f"L-{lead.id}", "qualify", OLGA), (f"H-{lead.handoff_id}", "accept", CARLOS),
        (f"L-{lead.id}", "win", CARLOS), (f"H-{lead.handoff_id}", "deliver", CARLOS),
        (f"H-{lead.handoff_id}", "confirm", OLGA)]
    funnel = plain(leads.funnel_report(db.uow(), campaign=key, reader=CARLOS))
    counts = funnel["by_campaign"][key]
    assert (counts["gathered"], counts["qualified"], counts["accepted"], counts["won"]) == (
        1, 1, 1, 1)
    assert [e["action"] for e in plain(queries.history(db.uow(), f"H-{lead.handoff_id}"))] == [
        "offer", "accept", "deliver", "confirm"]


def test_rejections_losses_and_drops_are_counted_per_channel(db: Any,
                                                            clock: FrozenClock) -> None:
    won = handed_over(db, clock, channel="fair")
    rejected = handed_over(db, clock, channel="web")
    lost = handed_over(db, clock, channel="web")
    dropped = gathered(db, channel="web")
    gathered(db, channel="web")  # still waiting for marketing

    handoffs.accept(db.uow(), won.handoff_id, actor_email=CARLOS)
    leads.report_outcome(db.uow(), won.id, actor_email=CARLOS, outcome="won", order="SO-1")
    handoffs.reject(db.uow(), rejected.handoff_id, actor_email=CARLOS,
                    reason="outside our delivery area")
    handoffs.accept(db.uow(), lost.handoff_id, actor_email=CARLOS)
    leads.report_outcome(db.uow(), lost.id, actor_email=CARLOS, outcome="lost",
                         reason="bought from a competitor")
    leads.disqualify(db.uow(), dropped.id, actor_email=OLGA, reason="a student project")

    funnel = plain(leads.funnel_report(db.uow()))
    web = funnel["by_channel"]["web"]
    assert {k: web[k] for k in ("gathered", "qualified", "accepted", "won", "disqualified",
                                "rejected", "lost")} == {
        "gathered": 4, "qualified": 2, "accepted": 1, "won": 0, "disqualified": 1,
        "rejected": 1, "lost": 1}
    assert web["rates"] == {"qualified": 0.5, "accepted": 0.5, "won": 0.0, "overall": 0.0}
    assert funnel["total"]["won"] == 1 and funnel["by_campaign"][""]["gathered"] == 5
    shown = plain(leads.show_lead(db.uow(), rejected.id))
    assert shown["handoff"]["reason"] == "outside our delivery area"
    assert plain(leads.show_lead(db.uow(), lost.id))["reason"] == "bought from a competitor"


def test_only_marketing_gathers_and_qualifies_and_only_sales_reports(
        db: Any, clock: FrozenClock) -> None:
    with pytest.raises(NotAuthorized, match="only its members may"):
        gathered(db, actor=CARLOS)
    with pytest.raises(NotAuthorized, match="branch north"):
        gathered(db, actor=MARCO, region="south")
    lead = gathered(db)
    due = clock.now() + timedelta(days=2)
    with pytest.raises(NotAuthorized):
        leads.qualify(db.uow(), lead.id, actor_email=TOM, due_at=due)
    with pytest.raises(BadInput, match="follow-up deadline"):
        leads.qualify(db.uow(), lead.id, actor_email=OLGA, due_at=None)
    with pytest.raises(TransitionRefused, match="never handed to sales"):
        leads.report_outcome(db.uow(), lead.id, actor_email=CARLOS, outcome="lost",
                             reason="gone")
    lead = leads.qualify(db.uow(), lead.id, actor_email=OLGA, due_at=due)
    with pytest.raises(TransitionRefused, match="it is qualified"):
        leads.disqualify(db.uow(), lead.id, actor_email=OLGA, reason="changed my mind")

    with pytest.raises(TransitionRefused, match="offered"):  # sales accepts first
        leads.report_outcome(db.uow(), lead.id, actor_email=CARLOS, outcome="won", order="SO-2")
    with pytest.raises(NotAuthorized):  # the handoff's row: the receiving department only
        handoffs.accept(db.uow(), lead.handoff_id, actor_email=OLGA)
    handoffs.accept(db.uow(), lead.handoff_id, actor_email=CARLOS)
    with pytest.raises(NotAuthorized):
        leads.report_outcome(db.uow(), lead.id, actor_email=OLGA, outcome="won", order="SO-2")
    with pytest.raises(BadInput, match="reason: a lost lead needs a reason"):
        leads.report_outcome(db.uow(), lead.id, actor_email=CARLOS, outcome="lost")
    with pytest.raises(BadInput, match="order: a won lead names the order"):  # any door
        handoffs.deliver(db.uow(), lead.handoff_id, actor_email=CARLOS, data={"outcome": "won"})
    assert plain(leads.show_lead(db.uow(), lead.id))["state"] == "qualified"

    with pytest.raises(NotAuthorized, match="may not see"):
        plain(leads.show_lead(db.uow(), lead.id, reader=TOM))
    with pytest.raises(NotAuthorized, match="may not see the lead funnel"):
        plain(leads.funnel_report(db.uow(), reader=TOM))
    assert plain(leads.list_leads(db.uow(), reader=TOM)) == []
    assert [x["ref"] for x in plain(leads.list_leads(db.uow(), reader=MARIA))] == [f"L-{lead.id}"]


def test_marketing_returns_a_doubtful_outcome_and_sales_reports_again(
        db: Any, clock: FrozenClock) -> None:
    lead = handed_over(db, clock)
    handoffs.accept(db.uow(), lead.handoff_id, actor_email=CARLOS)
    leads.report_outcome(db.uow(), lead.id, actor_email=CARLOS, outcome="won", order="SO-X")
    handoffs.return_(db.uow(), lead.handoff_id, actor_email=OLGA,
                     reason="no order SO-X in the books")
    assert plain(leads.show_lead(db.uow(), lead.id))["state"] == "qualified"
    lead = leads.report_outcome(db.uow(), lead.id, actor_email=CARLOS, outcome="won",
                                order="SO-7")
    assert (lead.state, lead.order_ref) == ("won", "SO-7")
    actions = [e["action"] for e in plain(queries.history(db.uow(), f"H-{lead.handoff_id}"))]
    assert actions == ["offer", "accept", "deliver", "return", "deliver"]


def test_marketing_hands_a_rejected_lead_over_again(db: Any, clock: FrozenClock) -> None:
    lead = handed_over(db, clock)
    due = clock.now() + timedelta(days=4)
    with pytest.raises(TransitionRefused, match=f"H-{lead.handoff_id} is offered"):
        leads.hand_over(db.uow(), lead.id, actor_email=OLGA, due_at=due)
    handoffs.reject(db.uow(), lead.handoff_id, actor_email=CARLOS, reason="no budget now")
    with pytest.raises(NotAuthorized):
        leads.hand_over(db.uow(), lead.id, actor_email=CARLOS, due_at=due)
    again = leads.hand_over(db.uow(), lead.id, actor_email=OLGA, due_at=due,
                            note="called them: budget from March")
    assert again.handoff_id != lead.handoff_id
    shown = plain(leads.show_lead(db.uow(), lead.id))
    assert (shown["state"], shown["handoff"]["state"]) == ("qualified", "offered")
    assert plain(leads.funnel_report(db.uow()))["total"]["rejected"] == 0  # it is with sales again


def test_an_overdue_follow_up_escalates_through_the_sla_sweep(db: Any,
                                                             clock: FrozenClock) -> None:
    lead = leads.qualify(db.uow(), gathered(db).id, actor_email=OLGA,
                         due_at=clock.now() + timedelta(hours=4))
    handoffs.accept(db.uow(), lead.handoff_id, actor_email=CARLOS)
    later = FrozenClock(clock.now() + timedelta(hours=5))
    summary = sla.sweep(db.uow(clock=later))
    (raised,) = [e for e in summary.escalations if e["ref"] == f"H-{lead.handoff_id}"]
    assert raised["level"] == 1
    assert plain(leads.show_lead(db.uow(), lead.id))["handoff"]["escalation_level"] == 1


def test_a_campaigns_evaluation_counts_its_funnel_kpis_from_its_leads(
        db: Any, clock: FrozenClock) -> None:
    from sqlmodel import Session, select

    from mktflow.domain.campaign import evaluate
    from mktflow.engine import campaigns
    from mktflow.store.tables import Campaign, Kpi

    key = campaign(db, "CMP-LEAD-KPI")
    with Session(db.engine) as s:
        camp = s.exec(select(Campaign).where(Campaign.code == key)).one()
        for name, target, typed in (("leads_won", 2, 9), ("reach", 1000, 1500)):
            s.add(Kpi(campaign_id=camp.id, name=name, target=target, actual=typed,
                      owner_email=OLGA, department="marketing"))
        s.commit()
        campaign_id = camp.id
    won = handed_over(db, clock, campaign=key)
    handed_over(db, clock, campaign=key)  # still with sales
    gathered(db)  # of no campaign
    handoffs.accept(db.uow(), won.handoff_id, actor_email=CARLOS)
    leads.report_outcome(db.uow(), won.id, actor_email=CARLOS, outcome="won", order="SO-3")

    kpis = {k.name: k.actual for k in campaigns.campaign_figures(db.uow(), campaign_id)["kpis"]}
    assert kpis == {"leads_won": 1.0, "reach": 1500}  # counted, not the typed 9
    result = evaluate(campaigns.campaign_figures(db.uow(), campaign_id)["kpis"], [])
    assert [(r.name, r.met) for r in result.kpis] == [("leads_won", False), ("reach", True)]


def test_an_import_is_all_or_nothing_unless_bad_rows_are_skipped(db: Any) -> None:
    key = campaign(db, "CMP-LEAD-IMP")
    rows = leads.read_csv(
        "company,contact,channel,campaign,region\n"
        f"Acme,buyer@acme.example,fair,{key},north\n"
        ",x@y.example,web,,\n"
        "Beta,b@beta.example,web,CMP-NOPE,mars\n")
    with pytest.raises(FormInvalid) as refused:
        leads.import_leads(db.uow(), actor_email=OLGA, rows=[dict(r) for r in rows])
    assert [(e["row"], e["field"]) for e in refused.value.errors] == [
        (3, "company"), (4, "campaign"), (4, "region")]
    assert "row 3, company: must not be empty" in str(refused.value)
    # each row's problem is a message, read in the reader's language (the English as before)
    said = [in_language(e["message"], "zh") for e in refused.value.errors]
    assert said == ["第 3 行，company：不能为空",  # noqa: RUF001 (Chinese punctuation)
                    "第 4 行，campaign：没有业务键为 'CMP-NOPE' 的营销活动",  # noqa: RUF001
                    "第 4 行，region：没有代码为 'mars' 的分公司"]  # noqa: RUF001
    assert db.count("lead") == 0

    report = leads.import_leads(db.uow(), actor_email=OLGA, rows=rows, skip_bad=True)
    assert (len(report["imported"]), report["skipped"]) == (1, [3, 4])
    (only,) = plain(leads.list_leads(db.uow()))
    assert (only["source"], only["campaign"], only["region"]) == ("import", key, "north")
    with pytest.raises(BadInput, match="no column channel"):
        leads.read_csv("company,contact\nA,b\n")


# --- the command line ---------------------------------------------------------------------------


def test_the_command_line_imports_qualifies_reports_and_counts(
        db: Any, cli: Any, clock: FrozenClock, tmp_path: Any) -> None:
    key = campaign(db, "CMP-LEAD-CLI")
    bad = tmp_path / "bad.csv"
    bad.write_text("company,contact,channel,campaign\n"
                   f"Acme,buyer@acme.example,fair,{key}\n"
                   f"Beta,,web,{key}\n", "utf-8")
    refused = cli("lead", "import", str(bad), "--as", OLGA, "--json")
    assert refused.exit_code == 2 and db.count("lead") == 0
    assert refused.json()["errors"] == [{"row": 3, "field": "contact", "rule": "must not be empty",
                                         "message": "row 3, contact: must not be empty"}]
    assert "row 3, contact: must not be empty" in refused.stderr
    assert cli("lead", "import", str(bad), "--as", CARLOS, "--json").exit_code == 2  # row 2 too

    report = cli("lead", "import", str(bad), "--as", OLGA, "--skip-bad", "--json").json()
    (ref,) = report["imported"]
    qualified = cli("lead", "qualify", ref, "--due", "2 working days", "--as", OLGA,
                    "--json").json()
    handoff = qualified["handoff"]["ref"]
    assert qualified["state"] == "qualified" and qualified["handoff"]["to"] == "sales"
    assert qualified["handoff"]["due"] > clock.now().isoformat()  # the hq calendar's
    refused_outcome = cli("lead", "outcome", ref, "--won", "--order", "SO-5", "--as", OLGA,
                          "--json")
    assert refused_outcome.exit_code == 1
    assert cli("handoff", "accept", handoff, "--as", CARLOS).exit_code == 0
    won = cli("lead", "outcome", ref, "--won", "--order", "SO-5", "--as", CARLOS, "--json")
    assert won.json()["state"] == "won" and won.json()["order"] == "SO-5"
    shown = cli("lead", "show", ref, "--as", OLGA).stdout
    assert "state: won" in shown and f"{handoff} deliver" in shown

    funnel = cli("lead", "funnel", "--campaign", key, "--as", CARLOS, "--json").json()
    counts = funnel["by_campaign"][key]
    assert (counts["gathered"], counts["qualified"], counts["accepted"], counts["won"]) == (
        1, 1, 1, 1)
    assert "CMP-LEAD-CLI" in cli("lead", "funnel").stdout
    assert cli("lead", "funnel", "--as", TOM, "--json").exit_code == 1


# --- the REST API -------------------------------------------------------------------------------


def test_the_api_gathers_qualifies_reports_and_counts(db: Any, clock: FrozenClock) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import as_member, member_api

    key = campaign(db, "CMP-LEAD-API")
    with member_api(db, create_app(db.engine, settings=Settings()), OLGA) as api:
        refused = api.post("/leads", json={"company": "Acme", "contact": "x@acme.example",
                                           "channel": "web"}, headers=as_member(CARLOS))
        assert refused.status_code == 403
        bad = api.post("/leads", json={"company": "Acme", "contact": "x@acme.example",
                                       "channel": "web", "campaign": "CMP-NOPE"})
        assert bad.status_code == 404 and bad.json()["detail"].startswith("campaign: ")
        made = api.post("/leads", json={"company": "Acme", "contact": "x@acme.example",
                                        "channel": "web", "campaign": key})
        ref = made.json()["ref"]
        assert made.status_code == 201 and made.headers["Location"] == f"/leads/{ref}"
        due = (clock.now() + timedelta(days=2)).isoformat()
        handed = api.post(f"/leads/{ref}/qualify", json={"due": due, "note": "hot"}).json()
        handoff = handed["handoff"]["ref"]
        assert api.post(f"/handoffs/{handoff}/accept",
                        headers=as_member(CARLOS)).status_code == 200
        lost = api.post(f"/leads/{ref}/outcome", json={"outcome": "lost"},
                        headers=as_member(CARLOS))
        assert lost.status_code == 422 and "reason" in lost.json()["detail"]
        won = api.post(f"/leads/{ref}/outcome", json={"outcome": "won", "order": "SO-77"},
                       headers=as_member(CARLOS))
        assert won.status_code == 200 and won.json()["state"] == "won"
        assert api.get(f"/leads/{ref}", headers=as_member(TOM)).status_code == 403
        assert [x["ref"] for x in api.get("/leads", params={"campaign": key}).json()] == [ref]
        funnel = api.get("/leads/funnel", params={"campaign": key},
                         headers=as_member(CARLOS)).json()
        assert funnel["by_campaign"][key]["won"] == 1 and funnel["total"]["accepted"] == 1
        assert api.get("/leads/funnel", headers=as_member(TOM)).status_code == 403
        for missing in ("L-999999", "L-99999999999"):
            answer = api.get(f"/leads/{missing}")
            assert answer.status_code == 404 and "does not exist" in answer.json()["detail"]


# --- the pages ----------------------------------------------------------------------------------


def test_the_leads_page_shows_the_funnel_and_only_the_leads_one_may_see(
        db: Any, clock: FrozenClock) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import serving
    from tests.integration.web_support import Browser

    key = campaign(db, "CMP-LEAD-PAGE")
    lead = handed_over(db, clock, campaign=key, company="Page Grocers")
    gathered(db, company="Still Marketing's")
    with serving(create_app(db.engine, settings=Settings())) as url:
        browsers = {who: Browser(url) for who in (OLGA, CARLOS, TOM)}
        try:
            for who, b in browsers.items():
                b.sign_in(db, who)
            olga = browsers[OLGA].get("/leads").text
            assert "Page Grocers" in olga and "Still Marketing" in olga
            assert "Funnel per campaign" in olga and key in olga
            assert f'href="/handoffs/{lead.handoff_id}"' in olga
            carlos = browsers[CARLOS].get("/leads", params={"campaign": key}).text
            assert "Page Grocers" in carlos and "Still Marketing" not in carlos
            tom = browsers[TOM].get("/leads")
            assert tom.status_code == 200 and "Funnel" not in tom.text
            assert "Grocers" not in tom.text and "No lead you may see." in tom.text
        finally:
            for b in browsers.values():
                b.client.close()


def _field_error(page: str, field_id: str) -> str:
    """The refusal shown beside the field ``field_id`` of a page's form ("" when none)."""
    import re

    found = re.search(rf'<span class="field-error" id="e-{field_id}">([^<]*)</span>', page)
    return found.group(1) if found else ""


def test_marketing_gathers_qualifies_and_disqualifies_through_the_pages(
        db: Any, clock: FrozenClock) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import serving
    from tests.integration.web_support import Browser

    key = campaign(db, "CMP-LEAD-FORM")
    with serving(create_app(db.engine, settings=Settings())) as url:
        olga = Browser(url)
        try:
            olga.sign_in(db, OLGA)
            assert "Gather a lead" in olga.get("/leads").text
            made = olga.post("/leads/new", {"company": "Form Grocers", "contact":
                                            "buyer@form.example", "channel": "fair",
                                            "campaign": key, "action": "gather"})
            assert made.status_code == 200 and "Qualify the lead" in made.text
            ref = str(made.url.path).rsplit("/", 1)[1]
            assert f"{ref} gathered." in made.text and "Disqualify the lead" in made.text
            lead = leads.show_lead(db.uow(), ref)
            assert (lead.state, lead.source, lead.campaign, lead.owner) == (
                "gathered", "campaign", key, OLGA)

            past = (clock.now() - timedelta(days=1)).date().isoformat()
            late = olga.post(f"/leads/{ref}", {"action": "qualify", "due": past})
            assert late.status_code == 422 and "already past" in _field_error(late.text,
                                                                             "due-qualify")
            assert leads.show_lead(db.uow(), ref).state == "gathered"  # nothing written
            handed = olga.post(f"/leads/{ref}", {"action": "qualify", "due": "2 working days",
                                                 "note": "wants 200 cases"})
            assert handed.status_code == 200 and f"{ref} qualified." in handed.text
            lead = leads.show_lead(db.uow(), ref)
            offered = plain(queries.show(db.uow(), lead.handoff.ref))
            assert (lead.state, offered["state"], offered["to_department"]) == (
                "qualified", "offered", "sales")
            assert "wants 200 cases" in offered["criteria"]
            assert datetime.fromisoformat(lead.handoff.due) > clock.now()  # working days ahead
            assert "Qualify the lead" not in handed.text  # done: no form left for it
            assert f'href="/handoffs/{lead.handoff.ref[2:]}"' in handed.text

            # sales rejects it: marketing hands it over again from the same page
            handoffs.act(db.uow(), int(lead.handoff.ref[2:]), "reject", actor_email=CARLOS,
                         reason="the buyer left")
            again = olga.get(f"/leads/{ref}")
            assert "Hand the lead over again" in again.text and "the buyer left" in again.text
            olga.post(f"/leads/{ref}", {"action": "hand-over", "due": "3 working days"})
            renewed = leads.show_lead(db.uow(), ref)
            assert renewed.handoff.ref != lead.handoff.ref and renewed.handoff.state == "offered"

            other = olga.post("/leads/new", {"company": "Cold Grocers", "contact": "x@c.example",
                                             "channel": "web"})
            other_ref = str(other.url.path).rsplit("/", 1)[1]
            bare = olga.post(f"/leads/{other_ref}", {"action": "disqualify", "reason": " "})
            assert bare.status_code == 422
            assert "needs a reason" in _field_error(bare.text, "reason-disqualify")
            olga.post(f"/leads/{other_ref}", {"action": "disqualify", "reason": "no budget"})
            dropped = leads.show_lead(db.uow(), other_ref)
            assert (dropped.state, dropped.reason, dropped.handoff) == (
                "disqualified", "no budget", None)
        finally:
            olga.client.close()


def test_sales_has_no_marketing_forms_and_is_refused_when_posting_them(
        db: Any, clock: FrozenClock) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import serving
    from tests.integration.web_support import Browser

    handed = handed_over(db, clock, company="Handed Grocers")
    waiting = gathered(db, company="Waiting Grocers")
    with serving(create_app(db.engine, settings=Settings())) as url:
        carlos = Browser(url)
        try:
            carlos.sign_in(db, CARLOS)
            assert "Gather a lead" not in carlos.get("/leads").text
            page = carlos.get(f"/leads/L-{handed.id}")
            assert page.status_code == 200 and "Handed Grocers" in page.text
            assert not any(f in page.text for f in ("Qualify the lead", "Disqualify the lead",
                                                     "Hand the lead over again"))
            before = len(leads.list_leads(db.uow()))
            made = carlos.post("/leads/new", {"company": "Sales' own", "contact": "x@s.example",
                                              "channel": "web"})
            assert made.status_code == 403 and "may not gather" in made.text
            assert len(leads.list_leads(db.uow())) == before
            for action, extra in (("qualify", {"due": "2 working days"}),
                                  ("disqualify", {"reason": "not ours"})):
                refused = carlos.post(f"/leads/L-{waiting.id}", {"action": action, **extra})
                assert refused.status_code == 403, action
            assert leads.show_lead(db.uow(), f"L-{waiting.id}").state == "gathered"
        finally:
            carlos.client.close()


def test_a_gather_forms_refusal_names_the_field_in_the_readers_language(
        db: Any, clock: FrozenClock) -> None:
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import serving
    from tests.integration.web_support import Browser

    with serving(create_app(db.engine, settings=Settings())) as url:
        olga = Browser(url)
        try:
            olga.sign_in(db, OLGA)
            olga.get("/leads?lang=zh")
            before = len(leads.list_leads(db.uow()))
            empty = olga.post("/leads/new", {"company": "", "contact": "x@e.example",
                                             "channel": "web", "campaign": "CMP-NONE"})
            assert empty.status_code == 422 and "不能为空" in _field_error(empty.text, "g-company")
            assert _field_error(empty.text, "g-contact") == ""
            assert 'value="x@e.example"' in empty.text  # what was typed is kept
            unknown = olga.post("/leads/new", {"company": "Acme", "contact": "x@e.example",
                                               "channel": "web", "campaign": "CMP-NONE"})
            assert unknown.status_code == 404
            said = _field_error(unknown.text, "g-campaign")
            assert "CMP-NONE" in said and "campaign" not in said.lower()  # worded in Chinese
            assert len(leads.list_leads(db.uow())) == before
        finally:
            olga.client.close()
