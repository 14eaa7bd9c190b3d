"""What the pages' templates promise every reader, checked in the templates and their rendered
HTML with nothing running (the pages themselves are checked by axe-core in Chromium in
``tests/e2e/test_accessibility.py``): a language, a skip link to the content, a label for every
control, a name for every button, and wide tables that a keyboard can scroll."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from mktflow.config import Settings
from mktflow.web import forms as F
from mktflow.web._render import environment, render
from tests.e2e.seed_pages import DRAFT, FORM

TEMPLATES = Path(F.__file__).resolve().parent / "templates"


class _Controls(HTMLParser):
    """The controls, buttons, labels, ids and keyboard stops of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, Any]] = []
        self.stops: list[dict[str, str | None]] = []  # made focusable with tabindex="0"
        self.described: list[str] = []
        self._open_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        self.described += (a.get("aria-describedby") or "").split()
        if tag == "label":
            self._open_labels += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append({**a, "tag": tag,
                                  "in_label": "yes" if self._open_labels else None})
        elif tag == "button":
            self.buttons.append({**a, "text": ""})
        if a.get("tabindex") == "0":
            self.stops.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._open_labels -= 1

    def handle_data(self, data: str) -> None:
        if self.buttons:
            self.buttons[-1]["text"] += data


def _parsed(html: str) -> _Controls:
    found = _Controls()
    found.feed(html)
    return found


def _unlabelled(found: _Controls) -> list[dict[str, str | None]]:
    return [c for c in found.controls
            if c.get("id") not in found.label_for and not c.get("aria-label")
            and not c.get("in_label")]


def test_every_page_has_a_language_a_skip_link_and_a_main_landmark() -> None:
    base = (TEMPLATES / "base.html").read_text("utf-8")
    for lang, tag in (("en", "en"), ("zh", "zh-Hans"), ("es", "es"), ("ru", "ru")):
        page = environment(Settings(), lang).get_template("message.html").render(
            title="t", message="m", lang_links=[])
        assert f'<html lang="{tag}">' in page, lang  # the page's own language, per request
    body = base.split("<body>", 1)[1].lstrip()
    assert body.startswith('<a class="skip" href="#main">'), "the first stop skips to content"
    assert '<main id="main">' in base and "<title>" in base
    pages = [p for p in TEMPLATES.glob("*.html") if not p.name.startswith("_")
             and p.name != "base.html"]
    assert pages
    for page in pages:
        assert page.read_text("utf-8").startswith('{% extends "base.html" %}'), page.name


def test_every_control_of_a_step_form_has_a_label_and_every_button_a_name() -> None:
    raw = F.raw_from_data(FORM, DRAFT)
    tree = F.fields(FORM, raw, {"budget": "must be 0 or more", "lines.0.code": "is wrong"})
    template = environment(Settings()).from_string(
        '{% from "_macros.html" import input %}{% for f in fields %}{{ input(f, "") }}'
        "{% endfor %}")
    found = _parsed(template.render(fields=tree))
    kinds = {c.get("type") or c["tag"] for c in found.controls}
    assert {"text", "number", "date", "email", "checkbox", "select", "textarea"} <= kinds, kinds
    assert len(found.controls) >= 12
    assert not _unlabelled(found), _unlabelled(found)
    assert all(b["text"].strip() or b.get("aria-label") for b in found.buttons), found.buttons
    assert set(found.described) <= found.ids, "aria-describedby names an id not on the page"


def test_the_sign_in_page_labels_its_fields() -> None:
    html = render(Settings(), "signin.html", title="Sign in", me=None, csrf="t", next="/my-work",
                  email="x", email_error="Your work e-mail is not an e-mail address")
    found = _parsed(html)
    assert {c.get("id") for c in found.controls} == {"email", "token"}
    assert not _unlabelled(found), _unlabelled(found)
    assert set(found.described) <= found.ids


def test_a_wide_table_is_a_named_region_the_keyboard_can_scroll() -> None:
    template = environment(Settings()).from_string(
        '{% from "_macros.html" import show_data %}{{ show_data(value, "Budget lines") }}')
    found = _parsed(template.render(value=[{"code": "tv", "amount": 100}]))
    assert found.stops == [{"class": "scroll", "role": "region", "tabindex": "0",
                            "aria-label": "Budget lines table"}]
