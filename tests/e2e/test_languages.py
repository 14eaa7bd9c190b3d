"""The marketing queue in Chromium in the four languages, chosen with the switch on the page
(a plain link: no JavaScript needed): each language's heading, buttons and columns, the
``<html lang>`` a screen reader follows, and the choice kept from page to page. Screenshots of
the same queue in each language go to ``docs/screenshots/queue-{en,zh,es,ru}.png``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import Served
from tests.e2e.test_desk import _steps
from tests.e2e.test_tasklist import _shot, _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

OLGA = "olga.petrova@example.com"  # marketing specialist, no language in the organisation file

#: (link in the switch, <html lang>, the queue's heading, the claim button, "My work" in the nav)
LANGUAGES = {
    "zh": ("中文", "zh-Hans", "市场营销部工作队列", "认领", "我的工作"),
    "es": ("Español", "es", "Cola de Marketing", "Tomar", "Mi trabajo"),
    "ru": ("Русский", "ru", "Очередь: Маркетинг", "Взять", "Мои задачи"),
    "en": ("English", "en", "Marketing queue", "Claim", "My work"),
}


def test_the_queue_in_four_languages_by_the_switch(served: Served, mktflow_api: str,
                                                  browser: Any) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:4]
    _steps(served, f"Spring flyers {tag}", f"Trade fair stand {tag}", f"Grocer mailing {tag}",
           held_by=OLGA)
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    _sign_in(page, mktflow_api, served, OLGA)
    page.goto(f"{mktflow_api}/inbox/marketing")
    expect(page.get_by_role("heading", level=1)).to_have_text("Marketing queue")
    for code, (name, tag_, heading, claim, my_work) in LANGUAGES.items():
        page.get_by_role("navigation", name={"zh": "Language", "es": "语言", "ru": "Idioma",
                                             "en": "Язык"}[code]).get_by_role(
            "link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert page.locator("html").get_attribute("lang") == tag_
        expect(page.get_by_role("button", name=claim).first).to_be_visible()
        expect(page.get_by_role("link", name=name)).to_have_attribute("aria-current", "true")
        _shot(page, f"queue-{code}", full_page=False)
        page.get_by_role("link", name=my_work).click()  # the choice holds on the next page
        expect(page.get_by_role("heading", level=1)).to_have_text(my_work)
        page.go_back()
    context.close()
