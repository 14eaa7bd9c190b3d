"""The pages, a form's errors and a notice e-mail in each language, over real HTTP on SQLite and
PostgreSQL: the browser's Accept-Language, the member's language from the organisation file,
the switch on the page (remembered in a cookie, over both); English stays the default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.api_support import serving
from tests.integration.web_support import Browser

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
PLAN = {"type": "object", "required": ["goal", "kpis"], "properties": {
    "goal": {"type": "string", "minLength": 3, "title": "Goal"},
    "kpis": {"type": "array", "minItems": 1, "title": "KPIs", "items": {
        "type": "object", "required": ["name", "target"], "title": "KPI", "properties": {
            "name": {"type": "string", "minLength": 1},
            "target": {"type": "number", "exclusiveMinimum": 0, "title": "Target"}}}}}}

#: What a reader of each language sees on the marketing queue: the page's language, its
#: heading, the claim button, a column, the switch; and English words that must be gone.
QUEUE = {
    "en": ('<html lang="en">', "Marketing queue", ">Claim</button>", ">Holder</th>"),
    "zh": ('<html lang="zh-Hans">', "市场营销部工作队列", ">认领</button>", ">办理人</th>"),
    "es": ('<html lang="es">', "Cola de Marketing", ">Tomar</button>", ">Responsable</th>"),
    "ru": ('<html lang="ru">', "Очередь: Маркетинг", ">Взять</button>", ">Исполнитель</th>"),
}
ENGLISH = (">Claim</button>", ">Holder</th>", "Saved views", "Sign out", ">Filter</button>",
           "Times in ", "With the selected items")
#: A blank required goal and a target of 0 (it must be more than 0), as each language says it.
ERRORS = {
    "en": ("Goal is required", "Target must be more than 0, got 0",
           "The answer does not fit the form"),
    "zh": ("目标：为必填项", "目标值：必须大于 0，现为 0", "答复不符合表单要求"),
    "es": ("Objetivo: es obligatorio", "Meta: debe ser mayor que 0 (ahora 0)",
           "La respuesta no se ajusta al formulario"),
    "ru": ("Цель: обязательно", "Целевое значение: должно быть больше 0, сейчас 0",
           "Ответ не соответствует форме"),
}


def _app(db: Any) -> Any:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    return create_app(db.engine, settings=Settings())


@pytest.fixture
def site(db: Any) -> Iterator[str]:
    with serving(_app(db)) as url:
        yield url


def _signed_in(db: Any, site: str, email: str, **headers: str) -> Browser:
    """A browser signed in as ``email`` with a member token, sending ``headers`` always."""
    from mktflow.engine.credentials import issue_token

    b = Browser(site)
    b.client.headers.update(headers)
    b.get("/sign-in")
    r = b.post("/sign-in", {"token": issue_token(db.uow(), email).token, "next": "/my-work"})
    assert r.status_code == 200 and email in r.text, r.text
    return b


def _step(db: Any, *, assignee: str | None = None, title: str = "Plan campaign SPRING") -> int:
    from mktflow.engine.work import create_work_item

    item = create_work_item(db.uow(), actor_email=ANA, department="marketing", title=title,
                            form_schema=PLAN, assignee=assignee)
    return int(item.id)


def _with_language(db: Any, tmp_path: Path, email: str, language: str) -> None:
    """Load the demo organisation file with ``language`` set for the member ``email``."""
    from importlib import resources

    from mktflow.engine.organisation import load_organisation, read_organisation_file

    raw = yaml.safe_load(resources.files("mktflow.demo").joinpath(
        "demo-organisation.yaml").read_text())
    for member in raw["members"]:
        if member["email"] == email:
            member["language"] = language
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    load_organisation(db.uow(), read_organisation_file(path), source=str(path))


def test_the_queue_reads_in_the_browsers_language(db: Any, site: str) -> None:
    _step(db, title="Folleto de primavera")
    b = _signed_in(db, site, OLGA)
    for lang, (tag, heading, claim, column) in QUEUE.items():
        header = {"en": "en-GB,en;q=0.9", "zh": "zh-CN,zh;q=0.9,en;q=0.8",
                  "es": "es-ES,es;q=0.9", "ru": "ru-RU,ru;q=0.9,en;q=0.5"}[lang]
        page = b.get("/inbox/marketing", headers={"Accept-Language": header}).text
        assert tag in page and heading in page and claim in page and column in page, lang
        assert "Folleto de primavera" in page  # what people typed stays as typed
        if lang != "en":
            assert not [w for w in ENGLISH if w in page], lang  # no half-translated screen
    b.client.close()


def test_the_switch_is_remembered_over_the_browsers_language(db: Any, site: str) -> None:
    b = _signed_in(db, site, OLGA, **{"Accept-Language": "es"})
    assert "Cola de Marketing" in b.get("/inbox/marketing").text
    switched = b.get("/inbox/marketing?state=open&lang=ru")
    assert "Очередь: Маркетинг" in switched.text
    cookie = switched.headers["set-cookie"].lower()
    assert "mktflow_lang=ru" in cookie and "samesite=lax" in cookie and "httponly" in cookie
    # the switch keeps the filters of the page it is on, and marks the language shown
    assert 'href="/inbox/marketing?state=open&amp;lang=zh" lang="zh-Hans"' in switched.text
    assert 'hreflang="ru" aria-current="true">Русский</a>' in switched.text
    later = b.get("/my-work").text  # no ?lang: the cookie, over Accept-Language
    assert '<html lang="ru">' in later and "Мои задачи" in later
    assert "Sign out" not in b.get("/inbox/marketing?lang=xx").text  # an unknown code: ignored
    b.client.close()


def test_the_organisation_files_language_is_the_members(db: Any, site: str,
                                                        tmp_path: Path) -> None:
    _with_language(db, tmp_path, OLGA, "zh")
    b = _signed_in(db, site, OLGA, **{"Accept-Language": "es"})
    page = b.get("/inbox/marketing").text
    assert '<html lang="zh-Hans">' in page and "市场营销部工作队列" in page
    assert "退出登录" in page and "Cerrar sesión" not in page
    assert "Cola de Marketing" in b.get("/inbox/marketing?lang=es").text  # the switch wins
    b.client.close()
    other = _signed_in(db, site, ANA)  # no language anywhere: English
    assert '<html lang="en">' in other.get("/inbox/marketing").text
    other.client.close()


def test_a_step_a_process_wrote_reads_in_the_pages_language(db: Any, site: str,
                                                            cli: Any) -> None:
    """The campaign's plan step, made by the task flows/campaign.py calls (no Prefect run):
    its title and description read in Chinese on the queue, on its page and on the campaign
    calendar with ``?lang=zh``, in English without, and so does a refusal of the stale page;
    the command line and search keep the English title."""
    from mktflow.domain.words import phrase
    from mktflow.engine import processes
    from mktflow.engine.work import claim
    from mktflow.prefect import tasks

    process = processes.start_process(db.uow(), process="campaign", business_key="SPRING",
                                      owner_email=OLGA)
    item = tasks.create_step.fn(
        process_id=process.id, step_key="plan-1", department="marketing",
        title=phrase("Plan campaign %(code)s", code="SPRING"), form_schema=PLAN,
        form_name="CampaignPlan", due_in_hours=72, assignee=None, excluded=[], branch=None,
        description=phrase("Rework asked by %(member)s: %(reason)s", member=ANA,
                           reason="más detalle"), priority=50)
    typed = _step(db, title="Plan campaign SPRING, by hand")  # typed: as typed in any language
    b = _signed_in(db, site, OLGA)
    queue = b.get("/inbox/marketing").text
    assert f"W-{item} · Plan campaign SPRING<" in queue and "策划" not in queue
    english = b.get(f"/work/{item}").text
    assert "Plan campaign SPRING" in english and f"Rework asked by {ANA}: más detalle" in english
    chinese = b.get("/inbox/marketing?lang=zh&text=campaign+spring").text  # search: English
    assert f"W-{item} · 策划营销活动 SPRING<" in chinese
    assert f"W-{typed} · Plan campaign SPRING, by hand<" in chinese
    page = b.get(f"/work/{item}?lang=zh").text
    assert f"<title>W-{item} 策划营销活动 SPRING — mktflow</title>" in page
    assert f"W-{item} · 策划营销活动 SPRING</h1>" in page
    assert f"{ANA} 要求返工：más detalle" in page and "Rework asked" not in page
    assert "Plan campaign" not in page
    month = cli("work", "show", f"W-{item}", "--json").json()["due"][:7]  # its due, on the agenda
    agenda = b.get(f"/calendar?month={month}&lang=zh").text
    assert f"W-{item} · 策划营销活动 SPRING<" in agenda
    claim(db.uow(), item, actor_email=ANA)  # meanwhile: Olga's page is stale
    refused = b.post(f"/work/{item}?lang=zh", [("action", "claim")])
    assert refused.status_code == 409, refused.text
    assert f"无法对工作 W-{item}（办理人 {ANA}）执行“认领”" in refused.text
    assert "cannot claim" not in refused.text
    b.client.close()
    shown = cli("work", "show", f"W-{item}", "--json").json()  # the command line: English
    assert shown["title"] == "Plan campaign SPRING"
    assert shown["words"]["title"] == {"msgid": "Plan campaign %(code)s",
                                       "values": {"code": "SPRING"}}
    assert "words" not in cli("work", "show", f"W-{typed}", "--json").json()


def test_a_form_error_reads_in_each_language(db: Any, site: str) -> None:
    item = _step(db, assignee=OLGA)
    b = _signed_in(db, site, OLGA)
    for lang, (blank_goal, low_target, summary) in ERRORS.items():
        page = b.post(f"/work/{item}?lang={lang}", [
            ("goal", ""), ("kpis.0.name", "leads"), ("kpis.0.target", "0"),
            ("action", "complete")])
        assert page.status_code == 422, page.text
        assert f'id="e-f-goal">{blank_goal}<' in page.text, lang
        assert low_target in page.text and summary in page.text, lang
        assert 'value="leads"' in page.text  # what was typed is kept as typed
    b.client.close()


def test_a_who_may_refusal_reads_in_chinese_on_the_page(db: Any, site: str) -> None:
    """Olga (a specialist) may not cancel a marketing step: the item page says so in Chinese,
    the department named and the rule's parties worded; a saved view without a name is refused
    beside its field in Chinese; the REST API keeps the English."""
    item = _step(db)
    b = _signed_in(db, site, OLGA)
    refused = b.post(f"/work/{item}?lang=zh", [("action", "cancel"), ("reason", "not needed")])
    assert refused.status_code == 403, refused.text
    assert (f"{OLGA}（市场营销部）不得对 W-{item}（市场营销部）执行“取消”："
            "只有所属部门的负责人或其代理人可以") in refused.text
    assert "may not" not in refused.text and "only the head" not in refused.text
    view = b.post("/inbox/marketing/views?lang=zh", [("action", "save"), ("name", " ")])
    assert view.status_code == 422, view.text
    assert "保存的视图需要名称" in view.text and "needs a name" not in view.text
    b.client.close()
    from mktflow.domain.errors import NotAuthorized
    from mktflow.engine.work import cancel

    with pytest.raises(NotAuthorized, match=rf"^{OLGA} \(marketing\) may not cancel W-{item} "
                       r"\(marketing\): only the head of the owning department"):
        cancel(db.uow(), item, actor_email=OLGA, reason="not needed")  # the doors' English


def test_a_complaints_step_reads_in_the_pages_language(db: Any, site: str) -> None:
    """A complaint's respond step, made by the engine (``engine.complaint_steps``): its title
    and description on the queue and on its page in Chinese, the customer's words as typed;
    the command line's title stays English."""
    from mktflow.engine import complaints

    case = complaints.open_complaint(db.uow(), actor_email=OLGA, customer="ACME-ZH",
                                     customer_name="Acme", text="llegó tarde")
    b = _signed_in(db, site, OLGA)
    queue = b.get("/inbox/marketing?lang=zh").text
    assert f"答复投诉 C-{case.id}（Acme）：交给须处理的部门" in queue
    assert "Respond to complaint" not in queue
    from sqlmodel import Session, col, select

    from mktflow.store.tables import WorkItem

    with Session(db.engine) as session:
        item = session.exec(select(WorkItem.id).where(
            col(WorkItem.process_id) == case.process_id)).one()
    page = b.get(f"/work/{item}?lang=zh").text
    assert "客户反映：llegó tarde" in page and "The customer said" not in page
    b.client.close()


def test_a_notice_email_is_in_the_members_language(db: Any, tmp_path: Path) -> None:
    """Olga reads Russian (the organisation file): the e-mail telling her a step is hers comes
    in Russian; the department's own channel, which speaks for no one member, in English."""
    from mktflow.domain.organisation import ChannelSpec
    from mktflow.engine.channels import add_channel
    from mktflow.engine.work import assign
    from mktflow.notify.senders import SmtpMailer
    from mktflow.notify.testing import SmtpReceiver
    from tests.integration.notify_support import relay_for

    _with_language(db, tmp_path, OLGA, "ru")
    with SmtpReceiver() as smtp:
        add_channel(db.uow(), ChannelSpec(department="marketing", type="email", member=OLGA,
                                          to=OLGA))
        item = _step(db, title="Весенняя рассылка")
        assign(db.uow(), item, to=OLGA, actor_email=ANA)
        mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout_s=5)
        with relay_for(db, env={}, mailer=mailer) as relay:
            relay.drain()
    (mail,) = [m for m in smtp.mails if m.rcpt_tos == [OLGA]]
    subject = str(mail.message["Subject"])
    assert subject == f"W-{item} назначена исполнителю {OLGA}: Весенняя рассылка"
    body = mail.message.get_content()
    assert body.splitlines()[1:] == [f"Кому: {OLGA}", f"Перейти: http://127.0.0.1:8787/work/{item}"]


#: The load page's and the forecast form's chrome, as English says it: gone in zh and ru.
LOAD_ENGLISH = ("By member", "When their open work falls due", ">Member</th>", "Due within",
                "open work by member", "Waiting between departments", "Who is blocking whom",
                "Hours waited", "Handoff ledger", "Sign out")
FORECAST_ENGLISH = ("What next quarter will cost", "The plan", "Starts per month", "Month 1",
                    "Jammed when", "Seed (", ">Forecast</button>", "Campaigns", "a whole number",
                    "The plan is not complete")
#: What a reader of each language sees there instead: the load's heading and due chart, the
#: forecast's heading and a month field's error.
DESK = {"zh": ("按成员", "各成员未完成工作及截止时间", "下季度的工作负荷", "0 至 "),
        "ru": ("По сотрудникам", "открытые задачи по сотрудникам и срокам",
               "Во что обойдётся следующий квартал", "целое число от 0 до ")}


def test_the_load_and_forecast_pages_have_no_english_left(db: Any, site: str) -> None:
    """The marketing head's load page (its tables, charts, waits) and the forecast form with
    a refused field read wholly in Chinese and in Russian; English keeps its words."""
    _step(db, assignee=OLGA, title="Folleto de primavera")
    b = _signed_in(db, site, ANA)
    for lang, (by_member, chart, forecast, refused) in DESK.items():
        load = b.get(f"/inbox/marketing/load?lang={lang}")
        assert load.status_code == 200 and by_member in load.text and chart in load.text, lang
        assert not [w for w in LOAD_ENGLISH if w in load.text], lang
        page = b.get(f"/forecast?campaign_1=many&lang={lang}")
        assert page.status_code == 422 and forecast in page.text and refused in page.text, lang
        assert not [w for w in FORECAST_ENGLISH if w in page.text], lang
    english = b.get("/inbox/marketing/load?lang=en").text
    assert "When their open work falls due" in english and "open work by member" in english
    assert "a whole number from 0 to" in b.get("/forecast?campaign_1=many").text
    b.client.close()


def test_a_comment_a_flow_wrote_reads_in_the_pages_language(db: Any, site: str,
                                                             cli: Any) -> None:
    """The comment a flow adds when it sends an answer back (``tasks.comment``, as
    flows/campaign.py calls it) keeps its message in the history entry's ``words`` (migration
    0029) and reads in Chinese on the item's page, its reason too; a comment a member typed
    reads as typed; the history (what the API answers) keeps the English beside the message."""
    from mktflow.domain.words import joined, on_field, phrase
    from mktflow.engine import queries
    from mktflow.engine.work import comment
    from mktflow.prefect import tasks

    item = _step(db, assignee=OLGA)
    problems = [on_field("activities.0.owner", phrase("%(email)s is not an active member",
                                                      email="gone@example.com"))]
    tasks.comment.fn(item, phrase("Asked again: %(problems)s", problems=joined(problems)),
                     reason=joined(problems))
    comment(db.uow(), item, actor_email=OLGA, text="Asked again: ya lo corregí")  # typed
    trail = queries.history(db.uow(), f"W-{item}")
    flows_, typed = [e for e in trail if e.action == "comment"]
    assert flows_.data["text"] == (  # type: ignore[index]
        "Asked again: activities.0.owner: gone@example.com is not an active member")
    assert flows_.words["text"]["msgid"] == "Asked again: %(problems)s"  # type: ignore[index]
    assert "reason" in flows_.words and typed.words is None  # type: ignore[operator]
    b = _signed_in(db, site, OLGA)
    page = b.get(f"/work/{item}?lang=zh").text
    assert "要求重新填写：activities.0.owner: gone@example.com 不是在职成员" in page
    assert "Asked again: activities" not in page
    assert "Asked again: ya lo corregí" in page  # typed: as typed
    english = b.get(f"/work/{item}?lang=en").text
    assert "Asked again: activities.0.owner: gone@example.com is not an active member" in english
    b.client.close()
