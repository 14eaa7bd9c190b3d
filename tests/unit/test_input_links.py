"""The one rule for links (issue 19, item 8): http, https and mailto only, named in the refusal."""

from __future__ import annotations

import pytest

from mktflow.domain.errors import BadInput
from mktflow.domain.inputs import (
    LINK_MAX,
    LINKS_MAX,
    check_link,
    check_links,
    is_acceptable_link,
    link_refusal,
)


@pytest.mark.parametrize("link", [
    "https://x.test/q4?a=1&b=2#top", "http://127.0.0.1:8787/work/3", "HTTPS://EXAMPLE.COM",
    "mailto:olga.petrova@example.com", "https://[::1]:8080/x", "https://münchen.example/ä"])
def test_web_and_mail_links_are_accepted(link: str) -> None:
    assert link_refusal(link) is None and is_acceptable_link(link)
    assert check_link(f"  {link} ", field="links") == link


@pytest.mark.parametrize(("link", "why"), [
    ("javascript:alert(1)", "uses the scheme javascript:"),
    (" JaVaScRiPt:alert(1)", "uses the scheme javascript:"),
    ("data:text/html,<script>alert(1)</script>", "uses the scheme data:"),
    ("https://x.test/a b", "must not contain spaces"),
    ("data:text/html;base64,PHNjcmlwdD4=", "uses the scheme data:"),
    ("vbscript:msgbox(1)", "uses the scheme vbscript:"),
    ("file:///etc/passwd", "uses the scheme file:"),
    ("ftp://example.com/x", "uses the scheme ftp:"),
    ("java\tscript:alert(1)", "control character (U+0009)"),
    ("java\nscript:alert(1)", "line break"),
    ("/work/1", "has no scheme"),
    ("//evil.example/x", "has no scheme"),
    ("javascript&colon;alert(1)", "has no scheme"),
    ("https:evil.example", "names no host"),
    ("https://", "names no host"),
    ("mailto:", "names no address"),
    ("", "is empty"),
    ("https://x.test/" + "a" * LINK_MAX, f"longer than {LINK_MAX}"),
])
def test_anything_else_is_refused_naming_the_rule(link: str, why: str) -> None:
    assert why in (link_refusal(link) or "")
    assert not is_acceptable_link(link)
    with pytest.raises(BadInput, match=r"^links: ") as refused:
        check_link(link, field="links")
    assert why in str(refused.value)


def test_a_list_of_links_names_the_one_refused() -> None:
    assert check_links(None) == [] and check_links([" https://a.test "]) == ["https://a.test"]
    with pytest.raises(BadInput, match=r"^links: link 2, 'javascript:x' uses the scheme "
                                       r"javascript:, and only http, https and mailto links "
                                       r"are accepted$"):
        check_links(["https://a.test", "javascript:x"])
    with pytest.raises(BadInput, match=f"at most {LINKS_MAX} links"):
        check_links(["https://a.test"] * (LINKS_MAX + 1))
    assert not is_acceptable_link(None) and not is_acceptable_link(["https://a.test"])
