"""The pages' form renderer (schema → fields, posted form → typed data, errors → fields) and the
session cookie's signature, with nothing running."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from flows.campaign import CampaignPlan
from flows.order_handling import OrderEntry
from mktflow.domain.errors import FormInvalid
from mktflow.engine.forms import validate_form
from mktflow.engine.web_sessions import session_key
from mktflow.prefect.approvals import ApprovalForm
from mktflow.web import forms as F
from mktflow.web._guard import origin_of
from mktflow.web.session import Session, SessionKeys, form_token
from tests.views import work_item

PLAN = CampaignPlan.model_json_schema()
DRAFT: dict[str, Any] = {
    "name": "Spring", "goal": "Reach 50 grocers", "target_customers": "grocers",
    "channels": ["email", "in-store"], "start": "2027-03-01", "end": "2027-04-30",
    "kpis": [{"name": "leads", "unit": "", "target": 100.0, "higher_is_better": True}],
    "activities": [{"title": "Tasting", "owner": "olga.petrova@example.com", "channel": "store",
                    "start": None, "end": "2027-03-20", "budget_line": "TASTE"}],
    "budget_lines": [{"code": "TASTE", "title": "Tastings", "amount": 2500.5}],
}


def _by_name(fields: list[F.Field]) -> dict[str, F.Field]:
    found: dict[str, F.Field] = {}
    for f in fields:
        found[f.name] = f
        found.update(_by_name(f.children + f.rows))
    return found


def test_the_campaign_plan_renders_as_fields_people_fill() -> None:
    fields = _by_name(F.fields(PLAN, F.raw_from_data(PLAN, DRAFT)))
    kinds = {name: f.kind for name, f in fields.items()}
    assert kinds["goal"] == "text" and kinds["start"] == "date"
    assert kinds["kpis"] == kinds["activities"] == kinds["budget_lines"] == "list"
    assert kinds["channels"] == "list" and kinds["channels.1"] == "text"
    assert kinds["kpis.0"] == "object" and kinds["kpis.0.target"] == "number"
    assert kinds["kpis.0.higher_is_better"] == "boolean"
    assert kinds["activities.0.start"] == "date"  # date | None
    assert fields["kpis"].label == "KPIs" and fields["kpis.0"].label == "KPI 1"
    assert fields["budget_lines"].label == "Budget lines"
    assert fields["budget_lines"].item_label == "Budget line"
    assert fields["activities"].item_label == "Activity"
    # pre-filled with the draft, as the inputs show it
    assert fields["kpis.0.target"].value == "100"
    assert fields["budget_lines.0.amount"].value == "2500.5"
    assert fields["activities.0.start"].value == "" and fields["channels.1"].value == "in-store"
    assert fields["kpis.0.higher_is_better"].value == "true"
    assert fields["kpis.0.target"].attrs["step"] == "any"
    assert fields["goal"].required and not fields["kpis.0.unit"].required
    assert fields["activities.0.owner"].description == "Owner's e-mail"


def test_choices_and_their_values() -> None:
    fields = _by_name(F.fields(ApprovalForm.model_json_schema(), {}))
    decision = fields["decision"]
    assert decision.kind == "choice" and decision.required
    assert decision.choices == [("approve", "Approve"), ("reject", "Reject"),
                                ("rework", "Rework")]
    assert fields["reason"].kind == "textarea"  # "Why ..." reads as a longer text
    data, errors = F.data_from_raw({"type": "object", "required": ["n"],
                                    "properties": {"n": {"enum": [1, 2, "x"]}}}, {"n": "2"})
    assert data == {"n": 2} and errors == {}
    _, errors = F.data_from_raw({"type": "object", "properties": {"n": {"enum": [1]}}},
                                {"n": "7"})
    assert errors == {"n": "is not one of the choices"}


def test_the_draft_comes_back_as_the_same_data() -> None:
    for schema, draft in ((PLAN, DRAFT), (OrderEntry.model_json_schema(), {
            "customer_code": "C1", "customer_name": "", "delivery_date": "2027-01-02",
            "note": "", "lines": [{"sku": "A", "description": "", "quantity": 2.5,
                                   "unit_price": 0}]})):
        data, errors = F.data_from_raw(schema, F.raw_from_data(schema, draft))
        assert errors == {} and data == draft
        validate_form(schema, data, ref="W-1")


def test_a_posted_form_becomes_typed_data() -> None:
    pairs = [("csrf", "t"), ("action", "complete"), ("name", "Spring"), ("goal", "Grow"),
             ("target_customers", "grocers"), ("start", "2027-03-01"), ("end", "2027-04-30"),
             ("channels.0", "email"), ("channels.1", "  "), ("channels.5", "radio"),
             ("kpis.0.name", "leads"), ("kpis.0.target", "1,200"),
             ("kpis.0.higher_is_better", "false"),  # the hidden input of an unticked box
             ("kpis.3.name", "visits"), ("kpis.3.target", "2.5"),
             ("kpis.3.higher_is_better", "false"), ("kpis.3.higher_is_better", "true"),
             ("activities.0.title", "Tasting"), ("activities.0.owner", "o@example.com"),
             ("activities.0.start", ""), ("activities.0.budget_line", "T"),
             ("budget_lines.0.code", "T"), ("budget_lines.0.title", "Tastings"),
             ("budget_lines.0.amount", "300"), ("injected", "x"), ("kpis.x.name", "odd")]
    data, errors = F.data_from_raw(PLAN, F.raw_from_post(PLAN, pairs))
    assert errors == {}
    assert data["channels"] == ["email", "radio"]  # the blank row is no channel
    assert data["kpis"] == [{"name": "leads", "unit": "", "target": 1200,
                             "higher_is_better": False},
                            {"name": "visits", "unit": "", "target": 2.5,
                             "higher_is_better": True}]  # rows renumbered 0, 1
    assert data["activities"][0]["start"] is None and data["activities"][0]["channel"] == ""
    assert data["budget_lines"] == [{"code": "T", "title": "Tastings", "amount": 300}]
    assert "injected" not in data
    validate_form(PLAN, data, ref="W-1")


@pytest.mark.parametrize(("typed", "error"), [
    ("lots", "must be a number"), ("nan", "must be a finite number"),
    ("inf", "must be a finite number"), ("", "is required")])
def test_what_cannot_be_read_is_named_by_field(typed: str, error: str) -> None:
    raw = F.raw_from_post(PLAN, [("kpis.0.name", "leads"), ("kpis.0.target", typed),
                                 ("start", "2027-01-01"), ("end", "2027-01-02")])
    data, errors = F.data_from_raw(PLAN, raw)
    assert errors == {"kpis.0.target": error}
    assert "target" not in data["kpis"][0]
    # the input keeps what was typed, and carries the error
    field = _by_name(F.fields(PLAN, raw, errors))["kpis.0.target"]
    assert (field.value, field.error) == (typed, error)


def test_integer_fields_take_whole_numbers() -> None:
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    assert F.data_from_raw(schema, {"n": "12"}) == ({"n": 12}, {})
    assert F.data_from_raw(schema, {"n": "1.5"})[1] == {"n": "must be a whole number"}


def test_rows_are_added_and_removed() -> None:
    raw = F.raw_from_data(PLAN, DRAFT)
    assert F.add_row(PLAN, raw, "budget_lines") == "budget_lines.1"
    assert raw["budget_lines"][1] == {"code": "", "title": "", "amount": ""}
    assert F.add_row(PLAN, raw, "kpis") == "kpis.1"
    assert raw["kpis"][1]["higher_is_better"] == "true"  # the item's default
    assert F.add_row(PLAN, raw, "goal") is None and F.add_row(PLAN, raw, "nope") is None
    assert F.remove_row(raw, "kpis.0") == "kpis"
    assert len(raw["kpis"]) == 1 and raw["kpis"][0]["name"] == ""
    assert F.remove_row(raw, "kpis.7") is None and F.remove_row(raw, "goal") is None
    names = _by_name(F.fields(PLAN, raw))
    assert "budget_lines.1.amount" in names and "kpis.1" not in names


def test_the_engines_errors_land_beside_their_fields() -> None:
    raw = F.raw_from_data(PLAN, DRAFT)
    F.add_row(PLAN, raw, "budget_lines")
    raw["budget_lines"][1] = {"code": "tv spots", "title": "TV", "amount": "-5"}
    data, unread = F.data_from_raw(PLAN, raw)
    assert unread == {}
    with pytest.raises(FormInvalid) as refused:
        validate_form(PLAN, data, ref="W-1")
    errors = F.error_paths(refused.value.errors)
    assert set(errors) == {"budget_lines.1.code", "budget_lines.1.amount"}
    fields = _by_name(F.fields(PLAN, raw, errors))
    assert "does not match" in fields["budget_lines.1.code"].error
    assert fields["budget_lines.1.amount"].error == "must be at least 0, got -5"
    assert fields["budget_lines.1.amount"].value == "-5"
    assert F.field_names(F.fields(PLAN, raw)) >= set(errors)


def test_a_part_the_form_cannot_edit_is_kept_as_it_was() -> None:
    schema = {"type": "object", "properties": {
        "title": {"type": "string"},
        "extra": {"type": "object", "additionalProperties": {"type": "number"}}}}
    raw = F.raw_from_data(schema, {"title": "t", "extra": {"a": 1.5}})
    field = _by_name(F.fields(schema, raw))["extra"]
    assert field.kind == "fixed" and '"a": 1.5' in field.value
    posted = F.raw_from_post(schema, [("title", "t2"), ("extra.__json", field.value)])
    assert F.data_from_raw(schema, posted) == ({"title": "t2", "extra": {"a": 1.5}}, {})


def test_a_step_without_a_form_has_no_fields() -> None:
    assert F.fields(None, {}) == [] and F.data_from_raw(None, {}) == ({}, {})
    assert F.fields({"type": "object"}, {}) == []


def test_the_session_cookie_is_signed_and_expires(tmp_path: Any) -> None:
    keys = SessionKeys(b"k" * 32, max_age_s=3600)
    session = Session.signed_in("a-session-secret", now=1_000_000)
    cookie = keys.dump(session)
    assert keys.load(cookie, now=1_000_100) == session
    assert keys.load(cookie, now=1_000_000 + 3601) is None  # expired
    body, mac = cookie.split(".")
    forged = keys.dump(Session.signed_in("another-secret", now=session.started))
    assert keys.load(f"{forged.split('.')[0]}.{mac}", now=1_000_100) is None
    visitor = Session.visitor(now=1_000_000)
    assert keys.load(keys.dump(visitor), now=1_000_100) == visitor and visitor.secret is None
    # a signed-in session's form token comes from its secret, and gives it away to nobody
    assert session.csrf == form_token("a-session-secret") != visitor.csrf
    assert "a-session-secret" not in session.csrf
    assert SessionKeys(b"x" * 32, max_age_s=3600).load(cookie, now=1_000_100) is None
    for junk in ("", "a.b", "....", "x" * 5000, f"{body}.{mac}x"):
        assert keys.load(junk, now=1_000_100) is None
    key = session_key(None, tmp_path)
    assert session_key(None, tmp_path) == key and len(key) == 32
    assert (tmp_path / "web-session.key").stat().st_mode & 0o077 == 0
    assert session_key("from-settings-secret", tmp_path) == b"from-settings-secret"


def test_the_first_pages_asked_at_once_all_read_the_same_whole_session_key(
        tmp_path: Path) -> None:
    """A new data folder's first page requests come in threads at once (50 browsers after a
    start): each reads the key file its neighbour is making, and none may read half of it."""
    import threading

    for attempt in range(30):
        folder = tmp_path / str(attempt)
        keys: list[bytes] = []
        failed: list[Exception] = []

        def read(into: list[bytes] = keys, errors: list[Exception] = failed,
                 where: Path = folder) -> None:
            try:
                key = session_key(None, where)
                SessionKeys(key, max_age_s=60)
                into.append(key)
            except Exception as exc:  # the key half-written: "at least 16 bytes"
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failed == [] and len(keys) == 8 and len(set(keys)) == 1, (attempt, failed)
        assert len(keys[0]) == 32


def test_origins_are_compared_as_browsers_send_them() -> None:
    assert origin_of("http://127.0.0.1:8787/work/3") == "http://127.0.0.1:8787"
    assert origin_of("HTTPS://Tasks.Example.com:443/") == "https://tasks.example.com"
    assert origin_of("null") == "" and origin_of("http://[::1]:80/x") == "http://[::1]"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\t/evil.example",
                                    "\\\\evil.example", "work/1", "", None])
def test_after_sign_in_nobody_is_sent_to_another_site(target: str | None) -> None:
    from mktflow.web.pages import _local

    assert _local(target) == "/my-work"
    assert _local("/work/12?done=claimed") == "/work/12?done=claimed"


# --- the trial's findings on the pages (9) and the Prefect UI's resume form (13) ---------------

APPROVAL = ApprovalForm.model_json_schema()


def _approval_errors(data: dict[str, Any]) -> dict[str, str]:
    """What the page shows beside the fields of an approval answered with ``data``."""
    try:
        validate_form(APPROVAL, data, ref="W-4")
    except FormInvalid as exc:
        return F.conditional_errors(APPROVAL, data, F.error_paths(exc.errors))
    return {}


def test_a_reason_missing_for_a_decision_says_the_decision_needs_one() -> None:
    assert _approval_errors({"decision": "reject", "reason": ""}) == {
        "reason": "is required when Decision is Reject"}
    assert _approval_errors({"decision": "rework"}) == {
        "reason": "is required when Decision is Rework"}
    assert _approval_errors({"decision": "reject", "reason": "no"}) == {
        "reason": "needs at least 3 characters when Decision is Reject"}
    assert _approval_errors({"decision": "approve", "reason": ""}) == {}
    assert _approval_errors({"decision": "reject", "reason": "over budget"}) == {}


def test_no_decision_chosen_asks_for_the_decision_not_a_reason() -> None:
    data, unread = F.data_from_raw(APPROVAL, {"decision": "", "reason": ""})
    assert unread == {"decision": "is required (choose one)"}
    # the engine's check of what was read adds its own errors; the reason's is left out
    try:
        validate_form(APPROVAL, data, ref="W-4")
    except FormInvalid as exc:
        shown = F.conditional_errors(APPROVAL, data, {**F.error_paths(exc.errors), **unread})
    assert shown == {"decision": "is required (choose one)"}


def test_a_condition_leaves_other_errors_alone() -> None:
    errors = {"reason": "'x' is too long", "decision": "is not one of the choices"}
    assert F.conditional_errors(APPROVAL, {"reason": "x"}, errors) == errors
    assert F.conditional_errors({"type": "object"}, {}, {"a": "is required"}) == {
        "a": "is required"}


@pytest.mark.parametrize(("priority", "band"), [
    (None, "Normal"), (50, "Normal"), (0, "Low"), (29, "Low"), (30, "Normal"), (69, "Normal"),
    (70, "High"), (89, "High"), (90, "Urgent"), (100, "Urgent")])
def test_priority_bands_read_the_default_as_normal(priority: int | None, band: str) -> None:
    from mktflow.web._render import band as band_of

    assert band_of(priority) == band


def test_a_description_keeps_its_paragraphs_and_line_breaks_and_no_html() -> None:
    from mktflow.config import Settings
    from mktflow.web._render import environment

    text = ("Goal: win <b>400</b> customers.\n\nAmount 15,000.00.\nMay not approve: olga")
    html = environment(Settings()).from_string("{{ t|markdown }}").render(t=text)
    assert html == ("<p>Goal: win &lt;b&gt;400&lt;/b&gt; customers.</p>\n"
                    "<p>Amount 15,000.00.\nMay not approve: olga</p>\n")


def test_a_description_reads_as_markdown_tables_bold_and_headings_under_the_pages() -> None:
    from mktflow.web._markdown import markdown

    html = markdown("# Campaign SPRING\n\n| kpi | target |\n|---|---:|\n| leads | 1,200 |\n\n"
                    "Total **11,000.00**, ~~10,000~~")
    assert "<h3>Campaign SPRING</h3>" in html and "<h1>" not in html
    assert '<div class="scroll" role="region" tabindex="0" aria-label="Table"><table>' in html
    assert "<th>kpi</th>" in html
    assert '<td style="text-align:right">1,200</td>' in html
    assert "<strong>11,000.00</strong>" in html and "<s>10,000</s>" in html
    assert "|" not in html and "**" not in html


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))", "[x](data:text/html;base64,PHNjcmlwdD4=)", "[x](//evil.test/)",
    "<javascript:alert(1)>", "![x](javascript:alert(1))", "[x](vbscript:msgbox)",
    '[x](https://ok.test/" onclick="alert(1))', "<a href='https://ok.test'>x</a>",
])
def test_a_description_lets_no_html_or_unsafe_link_through(hostile: str) -> None:
    from mktflow.web._markdown import markdown

    html = str(markdown(f"see {hostile} here"))
    assert "<script" not in html and "<img" not in html  # shown as typed, escaped
    for bad in ("javascript:", "JAVASCRIPT:", "data:", "vbscript:", "//evil"):
        assert f'href="{bad}' not in html
    assert 'onclick="' not in html and "<a href='" not in html


def test_a_description_links_only_to_safe_places_and_never_fetches_an_image() -> None:
    from mktflow.web._markdown import markdown

    html = str(markdown("[plan](https://docs.test/plan) [step](/work/12) "
                        "[mail](mailto:ana@example.com) ![chart](https://img.test/c.png)"))
    assert '<a href="https://docs.test/plan" rel="noopener noreferrer">plan</a>' in html
    assert '<a href="/work/12" rel="noopener noreferrer">step</a>' in html
    assert '<a href="mailto:ana@example.com" rel="noopener noreferrer">mail</a>' in html
    assert "<img" not in html
    assert '<a href="https://img.test/c.png" rel="noopener noreferrer">chart</a>' in html
    assert markdown("") == "" and markdown(None) == ""


def test_a_draft_shows_only_what_was_filled_in() -> None:
    from mktflow.config import Settings
    from mktflow.web._render import environment

    filled = environment(Settings()).filters["filled"]
    assert filled({"reason": "", "decision": None}) == {}
    assert filled({"goal": "Go", "kpis": [], "lines": [{"code": "", "amount": 5}]}) == {
        "goal": "Go", "lines": [{"amount": 5}]}


def test_the_resume_form_shows_times_in_the_organisations_zone_and_claims_only_if_open(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mktflow.config import get_settings
    from mktflow.prefect.steps import StepHandle, instructions

    monkeypatch.setenv("MKTFLOW_WEB_TIMEZONE", "Europe/Madrid")
    get_settings.cache_clear()
    handle = StepHandle(6, "k", ApprovalForm, "Tasting days", "marketing", "")
    open_view = work_item(ref="W-6", id=6, due="2026-12-02T19:27:20.030138Z")
    text = instructions(handle, open_view)
    assert "due 2026-12-02 20:27 CET" in text and "T19:27" not in text
    assert "`mktflow work claim W-6 --as YOU`" in text
    claimed = dataclasses.replace(open_view, state="claimed",
                                  assignee="marco.rossi@example.com")
    text = instructions(handle, claimed)
    assert "work claim" not in text and "`mktflow work complete W-6 --as YOU`" in text
    assert "assigned to **marco.rossi@example.com**" in text
    get_settings.cache_clear()


def test_a_required_list_starts_with_the_rows_it_needs() -> None:
    """An empty campaign plan or order shows one row of each list that needs one (minItems 1):
    nothing to press before typing; a list that may stay empty starts empty."""
    fields = _by_name(F.fields(PLAN, F.raw_from_data(PLAN, {})))
    for name in ("kpis", "activities", "budget_lines", "channels"):
        assert len(fields[name].rows) == 1, name
    assert fields["kpis.0"].label == "KPI 1" and fields["kpis.0.target"].value == ""
    assert fields["kpis.0.higher_is_better"].value == "true"  # the row's default
    order = OrderEntry.model_json_schema()
    assert len(_by_name(F.fields(order, F.raw_from_data(order, {})))["lines"].rows) == 1
    # a draft with rows keeps them, and gets none added
    assert len(_by_name(F.fields(PLAN, F.raw_from_data(PLAN, DRAFT)))["kpis"].rows) == 1
    two = {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "array", "minItems": 2, "items": {"type": "string"}},
        "b": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "c": {"anyOf": [{"type": "array", "minItems": 1, "items": {"type": "string"}},
                        {"type": "null"}]}}}
    raw = F.raw_from_data(two, {})
    assert raw == {"a": ["", ""], "b": [], "c": []}


@pytest.mark.parametrize(("schema", "value", "message"), [
    ({"type": "string", "minLength": 1}, "", "is required"),
    ({"type": "string", "minLength": 3}, "  ", "is required"),
    ({"type": "string", "minLength": 3}, "no", "must be at least 3 characters, got 2"),
    ({"type": "string", "maxLength": 300}, "x" * 312, "must be at most 300 characters, got 312"),
    ({"type": "array", "minItems": 1}, [], "is required (at least one entry)"),
    ({"type": "array", "minItems": 2}, [1], "must have at least 2 entries, got 1"),
    ({"type": "array", "maxItems": 1}, [1, 2], "must have at most 1 entry, got 2"),
    ({"type": "number", "minimum": 0}, -1, "must be at least 0, got -1"),
    ({"type": "number", "maximum": 100}, 100.5, "must be at most 100, got 100.5"),
    ({"type": "number", "exclusiveMinimum": 0}, 0, "must be more than 0, got 0"),
    ({"type": "string", "enum": ["approve", "reject"]}, "maybe",
     "must be one of: approve, reject"),
])
def test_a_broken_rule_reads_in_words(schema: dict[str, Any], value: Any, message: str) -> None:
    """The engine's check words each rule as people say it, never ``'' is too short``; the
    API's request models (pydantic) say the same."""
    with pytest.raises(FormInvalid) as refused:
        validate_form({"type": "object", "properties": {"a": schema}}, {"a": value}, ref="W-1")
    assert refused.value.errors[0]["message"] == message
    assert "too short" not in str(refused.value) and "is too long" not in str(refused.value)


def test_the_apis_request_errors_read_in_the_same_words() -> None:
    from typing import Literal

    from pydantic import BaseModel, Field, ValidationError

    from mktflow.domain.inputs import plain_error

    class Body(BaseModel):
        title: str = Field(min_length=1, max_length=300)
        reason: str = Field(min_length=1)
        lines: list[int] = Field(min_length=1)
        priority: int = Field(ge=0, le=100)
        decision: Literal["approve", "reject"]

    with pytest.raises(ValidationError) as refused:
        Body(title="x" * 301, reason="", lines=[], priority=101,
             decision="maybe")  # type: ignore[arg-type]
    said = {e["loc"][0]: plain_error(e, echo=False) for e in refused.value.errors()}
    assert said == {"title": "must be at most 300 characters, got 301", "reason": "is required",
                    "lines": "is required (at least one entry)",
                    "priority": "must be at most 100",  # echo=False: not the number sent
                    "decision": "must be approve or reject"}
    assert plain_error(next(e for e in refused.value.errors() if e["loc"] == ("priority",))
                       ) == "must be at most 100, got 101"
