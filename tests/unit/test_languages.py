"""The languages (English, Simplified Chinese, Spanish, Russian): every message of the sources
is translated in every catalogue, with the same placeholders; the choice of a language; rule
messages, dates, numbers and notices in each; an organisation file names a member's language
or is refused naming the field."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from mktflow import i18n
from mktflow.domain.errors import OrganisationInvalid
from mktflow.domain.organisation import parse_organisation
from mktflow.i18n.catalog import extract, placeholders, problems
from mktflow.i18n.rules import localize
from mktflow.notify.render import Envelope, digest_text, email_message, subject_of, text_of

OTHERS = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]


@pytest.fixture(scope="module")
def template() -> Any:
    """Every message of the sources (Python, templates, rule tables, step forms)."""
    return extract()


def test_the_sources_mark_the_pages_rules_and_forms(template: Any) -> None:
    ids = {m.id for m in template if m.id}
    # a page's text, a rule's message, a notice's label, a step form's label, an action's past
    for msgid in ("Claim", "must be at most %(n)s characters, got %(got)s", "Due: %(value)s",
                  "Budget lines", "claimed", "assigned to {member}"):
        assert msgid in ids, msgid
    assert len(ids) > 400


@pytest.mark.parametrize("code", OTHERS)
def test_every_catalogue_translates_every_message(code: str, template: Any) -> None:
    assert problems(code, template) == []


def test_the_check_finds_a_missing_an_empty_and_a_mismatched_translation(
        template: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    from mktflow.i18n import catalog

    broken = Catalog(locale="es")
    broken.add("Claim", "")  # empty
    broken.add("Claim %(ref)s", "Tomar %(item)s")  # another placeholder
    broken.add("Filter", "Filtrar", flags=["fuzzy"])
    path = tmp_path / "es" / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as out:
        write_po(out, broken)
    monkeypatch.setattr(catalog, "LOCALE_DIR", tmp_path)
    found = "\n".join(problems("es", template))
    assert "es: empty translation of 'Claim'" in found
    assert "'Claim %(ref)s' and 'Tomar %(item)s' differ in placeholders" in found
    assert "es: fuzzy translation of 'Filter'" in found
    assert "es: no translation of 'Sign out'" in found
    assert placeholders("{to} by %(who)s") == ["%(who)s", "{to}"]


@pytest.mark.parametrize(("header", "chosen"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("zh-Hans", "zh"), ("es-MX, en;q=0.5", "es"),
    ("de-DE, ru;q=0.7, en;q=0.6", "ru"), ("en-GB", "en"), ("fr, de", None), ("", None),
    ("ru;q=abc, es;q=0.2", "es"), ("ru;q=0, es;q=0.1", "es")])
def test_the_browser_language_is_the_first_of_the_four_it_asks_for(header: str,
                                                                   chosen: str | None) -> None:
    assert i18n.negotiate(header) == chosen


@pytest.mark.parametrize(("code", "said"), [
    ("en", "must be at most 300 characters, got 312"),
    ("zh", "不能超过 300 个字符，现为 312 个"),
    ("es", "no puede superar 300 caracteres (ahora 312)"),
    ("ru", "максимальная длина — 300 симв., сейчас 312")])
def test_a_rule_message_reads_in_the_language_with_its_numbers(code: str, said: str) -> None:
    assert localize("must be at most 300 characters, got 312", code) == said


def test_a_message_of_no_known_shape_stays_whole_and_english() -> None:
    assert localize("W-3 is claimed by someone else", "ru") == "W-3 is claimed by someone else"
    assert localize("is required; must be a number", "es") == "es obligatorio; debe ser un número"


@pytest.mark.parametrize(("code", "said"), [
    ("en", "Plan campaign SPRING"), ("zh", "策划营销活动 SPRING"),
    ("es", "Planificar la campaña SPRING"), ("ru", "Спланировать кампанию SPRING")])
def test_a_title_a_process_wrote_reads_in_each_language(code: str, said: str) -> None:
    """The title flows/campaign.py gives its plan step: its English is the text the engine
    stores in ``title``; its message and values are kept beside it and worded per reader."""
    import pickle

    from mktflow.domain.words import from_stored, phrase, stored
    from mktflow.i18n.words import said as said_in
    from mktflow.i18n.words import worded

    title = phrase("Plan campaign %(code)s", code="SPRING")
    assert title == "Plan campaign SPRING" and isinstance(title, str)
    kept = stored(title)
    assert kept == {"msgid": "Plan campaign %(code)s", "values": {"code": "SPRING"}}
    assert worded(kept, code) == said  # the value (a code) kept as it is
    row = {"title": str(title), "words": {"title": kept}}
    assert said_in(row, "title", code) == said
    assert said_in({"title": "Plan campaign SPRING"}, "title", code) == "Plan campaign SPRING"
    assert pickle.loads(pickle.dumps(title)).msgid == title.msgid  # a task's input
    assert from_stored(kept) == title
    if code != "en":  # a notice of the step to a member who reads the language
        envelope = _envelope(code)
        notice = replace(envelope, payload={**envelope.payload, "title": str(title),
                                            "words": {"title": kept}})
        assert subject_of(notice).endswith(f": {said} — cubre a Marco".replace(
            ": ", "：" if code == "zh" else ": ", 1)), subject_of(notice)


@pytest.mark.parametrize("code", i18n.LANGUAGES)
def test_a_budget_lines_flags_read_in_each_language_with_their_amounts(code: str) -> None:
    """The budget review's flags (seed 003) in the explanation step's description: each flag
    worded, the amounts written as the language writes them, the line's typed title as typed;
    a message the catalogues do not know is shown filled, in English."""
    from decimal import Decimal

    from mktflow.domain.reviews import budget_verdict
    from mktflow.domain.words import phrase, stored
    from mktflow.i18n.words import worded

    verdict = budget_verdict(planned=Decimal(2000), allocated=Decimal(1000),
                             spent=Decimal("1234.5"), planned_to_date=Decimal(1000),
                             tolerance_pct=10, key_project_min=0)
    description = phrase("%(title)s: %(flags)s", title="Folletos", flags=list(verdict.flags))
    assert description == ("Folletos: spent 1,234.50 is 23.4% over the plan to date 1,000.00 "
                           "(tolerance 10%); spent 1,234.50 exceeds the allocation 1,000.00")
    text = worded(stored(description), code)
    spent, allocated = i18n.amount(1234.5, code), i18n.amount(1000, code)
    assert text.startswith("Folletos") and text.count(spent) == 2 and allocated in text
    assert "23.4" in text and "10%" in text and "; " in text
    if code != "en":
        assert "spent" not in text and "allocation" not in text, text
    unknown = {"msgid": "Nobody translated %(what)s", "values": {"what": "this"}}
    assert worded(unknown, code) == "Nobody translated this"


def test_dates_and_numbers_in_the_language_format() -> None:
    moment = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # a fixed past moment: its format only
    zone = ZoneInfo("Europe/Madrid")
    assert i18n.when(moment, zone, "en") == "Mon 30 Nov 2026, 17:00 CET"
    assert i18n.when(moment, zone, "zh") == "2026年11月30日 周一 17:00 CET"
    assert i18n.when(moment, zone, "es") == "lun 30 nov 2026, 17:00 CET"
    assert i18n.when(moment, zone, "ru") == "пн 30 нояб. 2026, 17:00 CET"
    assert i18n.number(1234567.5, "en") == "1,234,567.5"
    assert i18n.number(1234567.5, "es") == "1.234.567,5"
    assert i18n.number(1234567.5, "ru") == "1\xa0234\xa0567,5"
    assert i18n.money(2500, "CNY", "zh") == "¥2,500.00"
    assert i18n.money(2500, "EUR", "es") == "2.500,00\xa0€"
    assert i18n.percent(0.25, "ru") == "25\xa0%"
    assert i18n.amount(1234.5, "en") == "1,234.50" and i18n.amount(1234.5, "es") == "1.234,50"
    assert i18n.fixed(1370.25, 1, "en") == "1370.2" and i18n.fixed(1370.2, 1, "ru") == "1370,2"


def _envelope(language: str | None) -> Envelope:
    payload = {"event": "work.assigned", "ref": "W-12", "title": "Folleto de primavera",
               "department": "marketing", "recipient": "olga.petrova@example.com",
               "due": "2026-11-30T16:00:00+00:00", "reason": "cubre a Marco",
               "for": "olga.petrova@example.com", "language": language}
    return Envelope(id="m-1", event="work.assigned",
                    subject="W-12 assigned to olga.petrova@example.com: Folleto de primavera "
                            "— cubre a Marco",
                    payload=payload, link="http://mktflow.test/work/12",
                    created_at=datetime(2026, 11, 30, tzinfo=UTC), attempt=1,
                    to="olga.petrova@example.com", recipient="olga.petrova@example.com")


@pytest.mark.parametrize(("code", "subject", "lines"), [
    (None, "W-12 assigned to olga.petrova@example.com: Folleto de primavera — cubre a Marco",
     ["For: olga.petrova@example.com", "Due: 2026-11-30 16:00 UTC", "Reason: cubre a Marco",
      "Act: http://mktflow.test/work/12"]),
    ("zh", "W-12 已分派给 olga.petrova@example.com：Folleto de primavera — cubre a Marco",
     ["收件人：olga.petrova@example.com", "截止：2026年11月30日 周一 16:00 UTC",
      "原因：cubre a Marco", "办理：http://mktflow.test/work/12"]),
    ("es", "W-12 asignado a olga.petrova@example.com: Folleto de primavera — cubre a Marco",
     ["Para: olga.petrova@example.com", "Vence: lun 30 nov 2026, 16:00 UTC",
      "Motivo: cubre a Marco", "Actuar: http://mktflow.test/work/12"]),
    ("ru", "W-12 назначена исполнителю olga.petrova@example.com: Folleto de primavera — cubre "
     "a Marco",
     ["Кому: olga.petrova@example.com", "Срок: пн 30 нояб. 2026, 16:00 UTC",
      "Причина: cubre a Marco", "Перейти: http://mktflow.test/work/12"]),
])
def test_a_notice_email_reads_in_its_recipients_language(code: str | None, subject: str,
                                                         lines: list[str]) -> None:
    """The subject and every line in the member's language; the title and reason as typed."""
    message = email_message(_envelope(code), sender="mktflow@example.com")
    assert message["Subject"] == subject
    body = message.get_content()
    assert body.splitlines() == [subject, *lines]
    assert text_of(_envelope(code)) == body.rstrip("\n")


def _demo() -> dict[str, Any]:
    text = resources.files("mktflow.demo").joinpath("demo-organisation.yaml").read_text()
    raw: dict[str, Any] = yaml.safe_load(text)
    return raw


def test_a_member_language_comes_from_the_organisation_file() -> None:
    raw = _demo()
    raw["members"][2]["language"] = "zh"
    spec = parse_organisation(raw, "org.yaml")
    assert spec.members[2].language == "zh" and spec.members[0].language is None


def test_an_unknown_language_is_refused_naming_the_field() -> None:
    raw = _demo()
    raw["members"][2]["language"] = "fr"
    with pytest.raises(OrganisationInvalid) as info:
        parse_organisation(raw, "org.yaml")
    message = str(info.value)
    assert "members[2] (olga.petrova@example.com): language:" in message
    assert "must be en, zh, es or ru" in message


def test_a_chat_notice_reads_in_its_recipients_language() -> None:
    from mktflow.notify.render import slack_payload

    text = slack_payload(_envelope("zh"))["text"]
    assert text.startswith("*W-12 已分派给 olga.petrova@example.com：Folleto de primavera")
    assert "收件人：olga.petrova@example.com" in text and "办理：" not in text
    assert text.endswith("<http://mktflow.test/work/12|打开 W-12>")
    english = slack_payload(_envelope(None))["text"]
    assert english.endswith("<http://mktflow.test/work/12|Open W-12>")


#: A head's daily digest as the payload carries it (``MemberDigest`` as a plain dict).
DIGEST = {"member": "ivan.sokolov@example.com", "day": "2026-11-30", "zone": "Europe/Moscow",
          "link": "http://mktflow.test/my-work",
          "counts": {"overdue": 1, "due soon": 0, "open": 1, "changes": 1},
          "entries": [{"ref": "W-12", "title": "Spring flyers", "state": "claimed",
                       "band": "overdue", "kind": "work", "due": "2026-11-27T16:00:00+00:00",
                       "link": "http://mktflow.test/work/12"},
                      {"ref": "W-13", "title": "Price list", "state": "open", "band": "open",
                       "kind": "work", "link": "http://mktflow.test/work/13"}],
          "changes": [{"at": "2026-11-29T09:00:00+00:00", "subject": "W-12 assigned to ivan",
                       "link": "http://mktflow.test/work/12"}],
          "department": {"department": "sales", "counts": {"overdue": 0, "open": 2},
                         "entries": [], "by_member": [{"name": "Ivan Sokolov", "held": 2,
                                                       "overdue": 1}]}}


@pytest.mark.parametrize(("code", "said", "english"), [
    ("ru", ["Ваша сводка mktflow за 2026-11-30", "Кому: ivan.sokolov@example.com",
            "Просрочено (1)", "Открыто (1)", "Изменения, собранные для сводки (1)",
            "Отдел «Продажи»", "Кто что держит",
            "Ivan Sokolov: в работе: 2, просрочено: 1", "Перейти: http://mktflow.test/my-work"],
     ["Overdue (", "Open (", "Changes held", "Who holds what", "For: ", "Act: ", "Department "]),
    ("zh", ["您的 mktflow 每日摘要 2026-11-30", "收件人：ivan.sokolov@example.com",
            "逾期（1）", "未完成（1）", "汇入本摘要的变更（1）", "谁在办理什么",
            "办理：http://mktflow.test/my-work"],
     ["Overdue (", "Open (", "Changes held", "Who holds what", "For: ", "Act: ", "Department "]),
])
def test_a_daily_digest_says_its_headings_in_the_members_language(
        code: str, said: list[str], english: list[str]) -> None:
    """The digest's subject, headings and phrases in the member's language (the payload's
    ``language``); titles and names as typed; English keeps its wording."""
    payload = {"event": "digest.daily", "kind": "digest", "ref": "My work",
               "digest": DIGEST, "language": code}
    env = Envelope(id="digest-1", event="digest.daily", subject="Your mktflow digest 2026-11-30",
                   payload=payload, link="http://mktflow.test/my-work",
                   created_at=datetime(2026, 11, 30, tzinfo=UTC), attempt=1,
                   to="ivan.sokolov@example.com", recipient="ivan.sokolov@example.com")
    text = text_of(env)
    for words in said:
        assert words in text
    for words in english:
        assert words not in text
    assert "Spring flyers" in text and "Price list" in text
    assert "Overdue (1)" in digest_text("Your mktflow digest", DIGEST)
    assert "Who holds what" in digest_text("Your mktflow digest", DIGEST)


#: Who may do what, refused (``domain.actors.authorize``): Olga, a marketing specialist, may
#: not cancel a marketing step; each language names the department and the rule's parties.
WHO_MAY = {
    "en": "olga@x (marketing) may not cancel W-3 (marketing): only the head of the owning "
          "department or its delegate may",
    "zh": "olga@x（市场营销部）不得对 W-3（市场营销部）执行“取消”："
          "只有所属部门的负责人或其代理人可以",
    "es": "olga@x (Marketing) no puede cancelar W-3 (Marketing): solo puede el jefe del "
          "departamento responsable o su delegado",
    "ru": "olga@x (Маркетинг) не может выполнить «отменить» для W-3 (Маркетинг): это может "
          "только руководитель отдела-владельца или его заместитель",
}


def _refusal(call: Any, kind: type[Exception] | None = None) -> Any:
    """The message of the domain error ``call()`` raises (a ``Phrase`` where it is worded),
    which must be a ``kind`` (any of mktflow's errors when None)."""
    from mktflow.domain.errors import MktflowError

    with pytest.raises(kind or MktflowError) as refused:
        call()
    return refused.value.args[0]


def _read_in_english_and_chinese(said: dict[str, tuple[str, str]]) -> None:
    """Each refusal of ``said`` is its English text, and reads as given in Chinese."""
    from mktflow.i18n.words import in_language

    for message, (english, chinese) in said.items():
        assert message == english
        assert in_language(message, "zh") == chinese
        assert in_language(message, "en") == english


@pytest.mark.parametrize("code", i18n.LANGUAGES)
def test_who_may_do_what_is_refused_in_each_language(code: str) -> None:
    """The write table's refusal, the read table's (its parties ``a, b or c`` and its why) and
    an approval's (the authority matrix's chain worded too); the API's English unchanged."""
    from decimal import Decimal

    from mktflow.domain.actors import Actor, Approval, Target, authorize, authorize_read
    from mktflow.domain.authority_matrix import ApprovalChain, ApprovalStage
    from mktflow.domain.model import WORK_RULES, Readable, read_rule
    from mktflow.domain.words import Phrase
    from mktflow.i18n.words import in_language

    olga = Actor(email="olga@x", department="marketing")
    cancel = next(r for r in WORK_RULES if r.action == "cancel")
    said = _refusal(lambda: authorize(olga, cancel, Target(ref="W-3", department="marketing")))
    assert isinstance(said, Phrase) and in_language(said, code) == WHO_MAY[code]
    seen = _refusal(lambda: authorize_read(Actor(email="hana@x", department="tech"),
                                           read_rule(Readable.WORK),
                                           Target(ref="W-3", department="marketing")))
    assert seen.startswith("hana@x (tech) may not see W-3: only a member of the owning "
                           "department, the owner of its process or a member of management "
                           "may (a step (its form")
    chain = ApprovalChain("campaign", Decimal(12500), "2026-1", (
        ApprovalStage("finance", ("head", "deputy"), 1, None, 1),
        ApprovalStage("management", ("head",), 1, None, 2)), False)
    assert chain.describe() == ("finance (head/deputy) x1, then management (head) x1 "
                                "[authority matrix 2026-1]")
    approve = next(r for r in WORK_RULES if r.action == "complete")
    approver = _refusal(lambda: authorize(olga, approve, Target(
        ref="W-5", department="finance", assignee="olga@x",
        approval=Approval("finance", ("head", "deputy"), rule=chain.describe()))))
    text = in_language(said, code) + in_language(seen, code) + in_language(approver, code)
    for kept in ("olga@x", "hana@x", "W-3", "W-5", "2026-1"):  # the values, as written
        assert kept in text
    if code != "en":
        for english in ("may not", "only ", "authority matrix", "then ", "head", "a step"):
            assert english not in text, (english, text)
        assert i18n.gettext(code, "specialist") in in_language(approver, code)


@pytest.mark.parametrize(("code", "end", "unknown"), [
    ("en", "2027-03-01 is before start 2027-03-02", "charges unknown budget line"),
    ("zh", "结束日期 2027-03-01 早于开始日期 2027-03-02", "记入了不存在的预算科目"),
    ("es", "2027-03-01 es anterior al inicio 2027-03-02", "se carga a una partida desconocida"),
    ("ru", "2027-03-01 раньше начала 2027-03-02", "относится на неизвестную статью бюджета")])
def test_a_campaign_plans_problems_read_in_each_language(code: str, end: str,
                                                         unknown: str) -> None:
    """The plan's problems beside their fields (``domain.campaign.plan_field_problems``); the
    one-line English of ``plan_problems`` is what the API and the command line say."""
    from datetime import date

    from mktflow.domain.campaign import plan_field_problems, plan_problems
    from mktflow.i18n.words import in_language

    plan = {"start": date(2027, 3, 2), "end": date(2027, 3, 1), "kpi_names": ["r", "r"],
            "activity_lines": [("Ads", "nope")], "budget_codes": ["a"]}
    found = dict(plan_field_problems(**plan))  # type: ignore[arg-type]
    assert list(found) == ["end", "kpis.1.name", "activities.0.budget_line"]
    assert in_language(found["end"], code) == end
    assert unknown in in_language(found["activities.0.budget_line"], code)
    assert "'Ads'" in in_language(found["activities.0.budget_line"], code)
    assert "'r'" in in_language(found["kpis.1.name"], code)
    assert plan_problems(**plan)[0] == "end: 2027-03-01 is before start 2027-03-02"  # type: ignore[arg-type]


@pytest.mark.parametrize(("code", "said"), [
    ("en", ["Respond to complaint C-4 (Acme): hand it to the department that must act",
            "Minutes of the quarterly marketing meeting 2027-Q1 (M-2)",
            "Training plan 2027-Q1 for sales",
            "nobody in finance with role head/deputy is left to approve: excluded ana@x (four "
            "eyes)", "name: a saved view needs a name"]),
    ("zh", ["答复投诉 C-4（Acme）：交给须处理的部门", "2027-Q1 季度营销会议纪要（M-2）",
            "销售部 2027-Q1 培训计划",
            "财务部中已没有角色为负责人/副职的人可以审批：已排除 ana@x（四眼原则）",
            "name: 保存的视图需要名称"]),
    ("es", ["Responder a la reclamación C-4 (Acme): pasarla al departamento que debe actuar",
            "Acta de la reunión trimestral de marketing 2027-Q1 (M-2)",
            "Plan de formación 2027-Q1 de Ventas",
            "no queda nadie en Finanzas con la función jefe/adjunto que pueda aprobar: "
            "excluidos ana@x (cuatro ojos)", "name: una vista guardada necesita un nombre"]),
    ("ru", ["Ответить на жалобу C-4 (Acme): передать отделу, который должен действовать",
            "Протокол: квартальное совещание по маркетингу 2027-Q1 (M-2)",
            "План обучения на 2027-Q1: отдел «Продажи»",
            "в отделе «Финансы» не осталось сотрудников с ролью руководитель/заместитель, "
            "которые могут согласовать: исключены ana@x (принцип четырёх глаз)",
            "name: у сохранённого представления должно быть название"]),
])
def test_the_newer_routines_steps_and_refusals_read_in_each_language(
        code: str, said: list[str]) -> None:
    """A complaint step's title (``engine.complaint_steps``), a meeting's and a training plan's
    (their ``meeting_name`` and department worded), the approval chain's "nobody left" and a
    saved view's refusal (its field named as the API names it), stored and read back."""
    from mktflow.domain.complaints import StepKind
    from mktflow.domain.desk import check_view_name
    from mktflow.domain.meetings import meeting_name
    from mktflow.domain.words import from_stored, phrase, slashed, stored, word
    from mktflow.engine.complaint_steps import _title
    from mktflow.i18n.words import in_language, worded

    texts = [
        _title(StepKind.RESPOND, "C-4", "Acme"),
        phrase("Minutes of the %(meeting)s (%(ref)s)", meeting=meeting_name("quarterly",
                                                                           "2027-Q1"),
               ref="M-2"),
        phrase("Training plan %(period)s for %(department)s", period="2027-Q1",
               department="sales"),
        phrase("nobody in %(department)s with role %(roles)s is left to approve: excluded "
               "%(excluded)s (four eyes)", department="finance",
               roles=slashed(("head", "deputy")), excluded="ana@x"),
        _refusal(lambda: check_view_name(" ")),
    ]
    assert [worded(stored(from_stored(stored(t))), code) for t in texts[:4]] == said[:4]
    assert in_language(texts[4], code) == said[4]
    assert in_language(word("no member"), code) != ("no member" if code != "en" else "")


@pytest.mark.parametrize(("code", "head", "met", "spent", "line"), [
    ("en", "| kpi | target | actual | achievement | met |", "| yes |", "Spent **1,234.50**",
     "| BX-1 | Caja | 1200 | 3.50 |"),
    ("zh", "| KPI | 目标值 | 实际值 | 达成率 | 是否达成 |", "| 是 |", "已花费 **1,234.50**",
     "| BX-1 | Caja | 1,200 | 3.50 |"),
    ("es", "| KPI | meta | real | logro | cumplido |", "| sí |", "Gastado **1.234,50**",
     "| BX-1 | Caja | 1.200 | 3,50 |"),
    ("ru", "| KPI | цель | факт | достижение | выполнен |", "| да |",
     "Потрачено **1\u00a0234,50**", "| BX-1 | Caja | 1\u00a0200 | 3,50 |")])
def test_the_evaluation_and_order_lines_tables_read_in_each_language(
        code: str, head: str, met: str, spent: str, line: str) -> None:
    """The campaign evaluation's and the order's lines' tables in a step's description: the
    head, yes / no and the sentence worded, amounts grouped the language's way, the numbers in
    the rows in the language's format (``babel.numbers.format_decimal``), the cells typed (a
    KPI's name, a line's SKU) as typed; English as the flows always wrote it."""
    from decimal import Decimal

    from flows.campaign import _evaluation_md
    from flows.order_handling import _lines_md
    from mktflow.domain.campaign import BudgetFigures, KpiFigures, evaluate
    from mktflow.domain.words import stored
    from mktflow.i18n.words import worded

    result = evaluate([KpiFigures("leads", 100, 120), KpiFigures("sales", 10, 5)],
                      [BudgetFigures("A", Decimal(1000), Decimal("1234.5"))])
    text = worded(stored(_evaluation_md(result)), code)  # type: ignore[arg-type]
    assert text.startswith(head) and met in text and spent in text, text
    assert "| leads | 100 | 120 | 120% |" in text
    lines = _lines_md({"lines": [{"sku": "BX-1", "description": "Caja", "quantity": 1200,
                                  "unit_price": Decimal("3.5")}]})
    said = worded(stored(lines), code)  # type: ignore[arg-type]
    assert line in said and ("unit_price" in said) == (code == "en"), said
    assert str(lines).endswith("| BX-1 | Caja | 1200 | 3.50 |\n")  # the English column
    if code == "en":
        assert text == str(_evaluation_md(result)) and text.endswith("1 of 2 KPIs met.")


@pytest.mark.parametrize(("code", "email", "day"), [
    ("en", "to: 'olga' is not an e-mail address", "due: '2027-13-01' is not a date (YYYY-MM-DD)"),
    ("zh", "to: 'olga' 不是电子邮件地址", "due: '2027-13-01' 不是日期（YYYY-MM-DD）"),
    ("es", "to: 'olga' no es una dirección de correo",
     "due: '2027-13-01' no es una fecha (AAAA-MM-DD)"),
    ("ru", "to: 'olga' — не адрес электронной почты", "due: '2027-13-01' — не дата (ГГГГ-ММ-ДД)")])
def test_a_forms_refusal_names_its_field_and_reads_in_each_language(
        code: str, email: str, day: str) -> None:
    """A refusal made with ``on_field``: the field's name as the API names it, the problem
    worded; the page takes the problem to show it beside its field."""
    from mktflow.domain.inputs import check_email, parse_date
    from mktflow.domain.words import FIELD
    from mktflow.i18n.words import in_language

    said = _refusal(lambda: check_email("olga", field="to"))
    assert said.msgid == FIELD and said.values["field"] == "to"
    assert in_language(said, code) == email
    assert in_language(_refusal(lambda: parse_date("2027-13-01", field="due")), code) == day


def test_a_digest_says_the_subjects_it_gathered_in_the_members_language() -> None:
    """A notice a digest gathered keeps what its subject is made of (``DigestChange.event`` and
    ``fill``); the member's digest says it in their language, the typed title as typed; a
    change kept without them (a digest written before) as the engine wrote it."""
    gathered = {"at": "2026-11-29T09:00:00+00:00", "subject": "W-12 assigned to ivan@x: Flyers",
                "link": "http://mktflow.test/work/12", "event": "work.assigned",
                "fill": {"ref": "W-12", "title": "Flyers", "recipient": "ivan@x",
                         "department": "sales"}}
    older = {"at": "2026-11-29T10:00:00+00:00", "subject": "W-13 claimed: Price list"}
    digest = {**DIGEST, "counts": {**DIGEST["counts"], "changes": 2},  # type: ignore[dict-item]
              "changes": [gathered, older]}
    env = Envelope(id="digest-2", event="digest.daily", subject="Your mktflow digest",
                   payload={"event": "digest.daily", "kind": "digest", "ref": "My work",
                            "digest": digest, "language": "zh"},
                   link=None, created_at=datetime(2026, 11, 30, tzinfo=UTC), attempt=1)
    text = text_of(env)
    assert "W-12 已分派给 ivan@x：Flyers: http://mktflow.test/work/12" in text
    assert "assigned to" not in text
    assert "W-13 claimed: Price list" in text  # kept without its parts: as written
    assert "W-12 assigned to ivan@x: Flyers" in digest_text("Your mktflow digest", digest)


def test_the_rarer_refusals_read_in_each_language() -> None:
    """No such item, order, complaint, report or meeting, a reference that is ambiguous or no
    reference, a draft that is not a JSON object: messages, read in Chinese (and Spanish,
    Russian) where shown; the English as the API and the command line always said it."""
    from types import SimpleNamespace

    from mktflow.domain.errors import BadInput, NotFound
    from mktflow.domain.inputs import check_id
    from mktflow.engine.actions import action_of
    from mktflow.engine.budget import allocate
    from mktflow.engine.complaints import complaint_number, list_complaints
    from mktflow.engine.dashboards import _period
    from mktflow.engine.meetings import meeting_number
    from mktflow.engine.orders import _order
    from mktflow.engine.refs import parse_ref
    from mktflow.engine.work import save_draft
    from mktflow.i18n.words import in_language

    nothing = SimpleNamespace(session=SimpleNamespace(get=lambda *a, **k: None))
    said = {
        _refusal(lambda: parse_ref("12"), BadInput): (
            "'12' is ambiguous: write W-12, H-12 or P-12", "'12' 有歧义：请写 W-12、H-12 或 P-12"),
        _refusal(lambda: parse_ref("x-1"), BadInput): (
            "'x-1' is not an item reference: expected e.g. W-12, H-3, P-4",
            "'x-1' 不是事项编号：应形如 W-12、H-3、P-4"),
        _refusal(lambda: parse_ref("H-3", "work"), BadInput): (
            "'H-3' is not a work reference", "'H-3' 不是工作的编号"),
        _refusal(lambda: check_id(0, "P-0"), NotFound): ("P-0 does not exist", "P-0 不存在"),
        _refusal(lambda: _order(nothing, 7), NotFound): (  # type: ignore[arg-type]
            "order 7 does not exist", "订单 7 不存在"),
        _refusal(lambda: complaint_number("acme"), NotFound): (
            "complaint: 'acme' names no complaint (a complaint is named C-<number>)",
            "complaint: 'acme' 不是投诉编号（投诉编号形如 C-<编号>）"),
        _refusal(lambda: meeting_number("Q1"), NotFound): (
            "meeting: 'Q1' names no meeting (a meeting is named M-<number>)",
            "meeting: 'Q1' 不是会议编号（会议编号形如 M-<编号>）"),
        _refusal(lambda: save_draft(nothing, 3, actor_email="a@x", draft=[1]),  # type: ignore
                BadInput): ("draft: must be a JSON object, got list",
                            "draft: 必须是 JSON 对象，实际为 list"),
        _refusal(lambda: _period("Q4"), BadInput): (
            "period: 'Q4' is no period: a year (2026), a half (2026-H2), a quarter (2026-Q4) "
            "or a month (2026-11)", "period: 'Q4' 不是期间：应为年（2026）、半年（2026-H2）、"
            "季度（2026-Q4）或月份（2026-11）"),
        _refusal(lambda: action_of("handoff", "claim"), BadInput): (
            "action: 'claim' is not an action on a handoff item (one of: accept, reject, "
            "deliver, confirm, return, cancel, comment)",
            "action: 'claim' 不是交接事项的操作（可选：accept, reject, deliver, confirm, return, "
            "cancel, comment）"),
        _refusal(lambda: allocate(nothing, 1, amount=-5, actor_email="a@x"),  # type: ignore
                BadInput): ("amount: an allocation must not be negative, got -5.00",
                            "amount: 分配金额不能为负数，现为 -5.00"),
        _refusal(lambda: list_complaints(nothing, state="lost"), BadInput): (  # type: ignore
            "state: must be one of open, handed_over, answered, closed, cancelled, got 'lost'",
            "state: 必须是以下之一：open, handed_over, answered, closed, cancelled，"
            "收到的是 'lost'"),
    }
    _read_in_english_and_chinese(said)
    ambiguous = _refusal(lambda: parse_ref("12"), BadInput)
    assert in_language(ambiguous, "es") == "'12' es ambiguo: escriba W-12, H-12 o P-12"
    assert in_language(ambiguous, "ru") == "'12' неоднозначно: напишите W-12, H-12 или P-12"


def test_the_refusals_of_the_pages_forms_read_in_each_language() -> None:
    """Refusals the pages' forms and actions meet (a text too long or with a control character,
    a report's kind, period and empty "done", the calendar's quarter, the customer's answer,
    an unknown action on an item or a handoff, a lead to sales without a deadline, a due time
    out of range, an amount that is no amount, a link refused) are messages, read in Chinese
    (and Spanish, Russian) where shown; English as before."""
    from datetime import date

    from mktflow.domain.calendars import parse_due
    from mktflow.domain.campaign_calendar import period_of
    from mktflow.domain.complaints import check_customer_answer
    from mktflow.domain.errors import BadInput, TransitionRefused
    from mktflow.domain.inputs import check_links, check_text, parse_date
    from mktflow.domain.model import WORK_RULES, rule_for
    from mktflow.domain.money import money
    from mktflow.domain.work_reports import check_texts, parse_period, report_kind
    from mktflow.i18n.words import in_language

    today = date(2026, 12, 7)
    said = {
        _refusal(lambda: check_text("x" * 11, field="title", max_length=10), BadInput): (
            "title: must be at most 10 characters, got 11",
            "title: 不能超过 10 个字符，现为 11 个"),
        _refusal(lambda: check_text("a\nb", field="title", max_length=10), BadInput): (
            "title: must not contain a line break (this field is a single line)",
            "title: 不能包含换行（此字段只能是一行）"),
        _refusal(lambda: report_kind("hourly"), BadInput): (
            "kind: 'hourly' is not a report kind (daily, weekly or monthly)",
            "kind: 'hourly' 不是报告类型（daily、weekly 或 monthly）"),
        _refusal(lambda: parse_period("weekly", "soon", today), BadInput): (
            "period: 'soon' is not a weekly period (give 2026-W50 or a day in it)",
            "period: 'soon' 不是周报的期间（请给出 2026-W50 或其中的某一天）"),
        _refusal(lambda: check_texts(" ", None, None), BadInput): (
            "done: must not be empty: say what you did in the period",
            "done: 不能为空：请说明您在此期间做了什么"),
        _refusal(lambda: period_of(quarter="2026-Q5", today=today), BadInput): (
            "quarter: '2026-Q5' is not a quarter (YYYY-Qn, n from 1 to 4, e.g. 2026-Q2)",
            "quarter: '2026-Q5' 不是季度（YYYY-Qn，n 为 1 到 4，例如 2026-Q2）"),
        _refusal(lambda: check_customer_answer(False, " "), BadInput): (
            "note: a customer who is not satisfied needs a note (what they still want)",
            "note: 客户不满意时需要填写备注（客户仍有什么诉求）"),
        _refusal(lambda: rule_for(WORK_RULES, "W-3", "adopt", "open"), TransitionRefused): (
            "W-3: unknown action 'adopt'", "W-3：未知操作 'adopt'"),
        _refusal(lambda: parse_due("1000 working days"), BadInput): (
            "due: '1000 working days': working days must be between 1 and 999",
            "due: '1000 working days'：工作日数必须在 1 到 999 之间"),
        _refusal(lambda: money("x", "price"), BadInput): (
            "price: must be an amount of money, got 'x'", "price: 必须是金额，现为 'x'"),
        _refusal(lambda: parse_date("9999-01-01", field="on"), BadInput): (
            "on: '9999-01-01' is out of range (dates between 1970-01-01 and 3000-01-01)",
            "on: '9999-01-01' 超出范围（日期须在 1970-01-01 至 3000-01-01 之间）"),
        _refusal(lambda: check_links(["https://a.example", "javascript:x"]), BadInput): (
            "links: link 2, 'javascript:x' uses the scheme javascript:, and only http, https and "
            "mailto links are accepted", "links: 第 2 个链接，'javascript:x' 使用了协议 "
            "javascript:，而只接受 http、https 和 mailto 链接"),
    }
    _read_in_english_and_chinese(said)
    kind = _refusal(lambda: report_kind("hourly"), BadInput)
    assert in_language(kind, "es") == ("kind: 'hourly' no es un tipo de informe (daily, weekly "
                                       "o monthly)")
    assert in_language(kind, "ru") == ("kind: 'hourly' — это не вид отчёта (daily, weekly или "
                                       "monthly)")


def test_a_calendars_a_meetings_and_a_gatherings_refusals_read_in_each_language(
        clock: Any) -> None:
    """A calendar with no working time, a period that is no meeting's, no daily report to
    gather, a control character in a step's answer (issue 25): messages, read in Chinese (and
    Spanish, Russian) as a page words them; English as before."""
    from mktflow.domain.calendars import WorkingCalendar
    from mktflow.domain.errors import BadInput
    from mktflow.domain.inputs import check_json
    from mktflow.domain.meetings import meeting_kind
    from mktflow.domain.work_reports import gather, previous_working_day
    from mktflow.i18n.words import in_language

    never = WorkingCalendar(label="hq, CN", week=frozenset())  # no working day at all
    today = clock.today().isoformat()
    said = {
        _refusal(lambda: never.next_working_moment(clock.now()), BadInput): (
            "calendar hq, CN: no working hours in 400 days", "日历 hq, CN：400 天内没有工作时间"),
        _refusal(lambda: previous_working_day(never, clock.today()), BadInput): (
            f"calendar hq, CN: no working day in the 400 days before {today}",
            f"日历 hq, CN：{today} 之前的 400 天内没有工作日"),
        _refusal(lambda: meeting_kind("Q1"), BadInput): (
            "period: 'Q1' is no meeting period (a quarter, e.g. 2027-Q1, or a year, e.g. 2027)",
            "period: 'Q1' 不是会议期间（应为季度，例如 2027-Q1，或年份，例如 2027）"),
        _refusal(lambda: gather([]), BadInput): (
            "period: no daily report to gather", "period: 没有可汇总的日报"),
        _refusal(lambda: check_json({"notes": "a\x07b"}, field="data"), BadInput): (
            "data.notes: must not contain a control character (U+0007)",
            "data.notes: 不能包含控制字符（U+0007）"),
    }
    _read_in_english_and_chinese(said)
    gathered = _refusal(lambda: gather([]), BadInput)
    assert in_language(gathered, "es") == "period: no hay ningún informe diario que reunir"
    assert in_language(gathered, "ru") == ("period: нет ежедневных отчётов, из которых можно "
                                           "собрать сводный")


def test_a_lead_files_field_problems_read_in_each_language() -> None:
    """A lead's field problems (a lead file's rows) are messages: an empty field, one too long,
    a control character, an unknown field, read in Chinese; English as before."""
    from mktflow.domain.leads import lead_problems
    from mktflow.i18n.words import in_language

    problems = dict(lead_problems({"company": " ", "contact": "a\x07b", "channel": "x" * 301,
                                   "fax": "1"}))
    assert problems == {"fax": "unknown field (the fields are: company, contact, channel, "
                               "campaign, region, notes, owner)",
                        "company": "must not be empty",
                        "contact": "must not contain a control character (U+0007)",
                        "channel": "must be at most 64 characters, got 301"}
    assert [in_language(p, "zh") for p in problems.values()] == [
        "未知字段（字段为：company, contact, channel, campaign, region, notes, owner）", "不能为空",
        "不能包含控制字符（U+0007）", "不能超过 64 个字符，现为 301 个"]


def test_a_reason_a_process_wrote_reads_in_the_members_language_in_a_notice() -> None:
    """A notice's reason a process wrote keeps its message in the payload's ``words`` (as the
    title does): its subject and its body say it in the member's language; a typed reason, and
    English, as written."""
    from mktflow.domain.words import phrase, stored

    reason = phrase("%(ref)s was already done: the first completion wins", ref="W-12")
    payload = {"event": "work.cancelled", "ref": "W-12", "title": "Flyers", "recipient": "i@x",
               "reason": str(reason), "words": {"reason": stored(reason)}, "language": "zh"}
    env = Envelope(id="n-1", event="work.cancelled", subject=f"W-12 cancelled: Flyers — {reason}",
                   payload=payload, link=None, created_at=datetime(2026, 11, 30, tzinfo=UTC),
                   attempt=1, recipient="i@x")
    assert subject_of(env).endswith("— W-12 已经完成：以最先的完成为准")
    assert "原因：W-12 已经完成：以最先的完成为准" in text_of(env)
    english = replace(env, payload={**payload, "language": None})
    assert "Reason: W-12 was already done: the first completion wins" in text_of(english)
    typed = replace(env, payload={**payload, "reason": "por el precio", "words": None})
    assert "原因：por el precio" in text_of(typed)
