"""Organisation files are refused whole, naming the file, the entry and the rule."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from mktflow.domain.errors import OrganisationInvalid
from mktflow.domain.organisation import REQUIRED_DEPARTMENTS, parse_organisation


def demo() -> dict[str, Any]:
    text = resources.files("mktflow.demo").joinpath("demo-organisation.yaml").read_text()
    return yaml.safe_load(text)


def refused(raw: Any) -> str:
    with pytest.raises(OrganisationInvalid) as info:
        parse_organisation(raw, "org.yaml")
    return str(info.value)


def test_demo_organisation_keeps_every_rule() -> None:
    spec = parse_organisation(demo(), "demo")
    departments = {d.code for d in spec.departments}
    assert set(REQUIRED_DEPARTMENTS) <= departments
    for code in departments:
        members = [m for m in spec.members if m.department == code]
        assert len(members) >= 2, code
        assert sum(m.role == "head" for m in members) == 1, code
    assert sum(b.hq for b in spec.branches) == 1 and len(spec.branches) >= 3


def test_unknown_department() -> None:
    raw = demo()
    raw["members"][3]["department"] = "salse"
    message = refused(raw)
    assert "org.yaml: members[3] (marco.rossi@example.com): unknown department 'salse'" in message


def test_duplicate_email_is_caught_case_insensitively() -> None:
    raw = demo()
    raw["members"][1]["email"] = raw["members"][0]["email"].upper()
    assert "duplicate e-mail" in refused(raw)


def test_department_without_a_head() -> None:
    raw = demo()
    raw["members"] = [m for m in raw["members"]
                      if not (m["department"] == "finance" and m["role"] == "head")]
    assert "departments[5] (finance): department without a head" in refused(raw)


def test_member_in_unknown_branch() -> None:
    raw = demo()
    raw["members"][0]["branch"] = "east"
    assert "members[0] (ana.torres@example.com): unknown branch 'east'" in refused(raw)


def test_every_problem_is_reported_at_once() -> None:
    raw = demo()
    raw["members"][0]["branch"] = "east"
    raw["members"][4]["department"] = "nowhere"
    message = refused(raw)
    assert "unknown branch 'east'" in message and "unknown department 'nowhere'" in message


def test_missing_required_department() -> None:
    raw = demo()
    raw["departments"] = [d for d in raw["departments"] if d["code"] != "supply"]
    raw["members"] = [m for m in raw["members"] if m["department"] != "supply"]
    assert "required department 'supply' is missing" in refused(raw)


def test_bad_field_values_are_named() -> None:
    raw = demo()
    raw["members"][2]["role"] = "boss"
    raw["members"][5]["email"] = "not-an-email"
    message = refused(raw)
    assert "members[2] (olga.petrova@example.com): role:" in message
    assert "members[5] (not-an-email): email:" in message


def test_unknown_keys_are_refused() -> None:
    raw = demo()
    raw["members"][0]["salary"] = 1
    assert "members[0] (ana.torres@example.com): salary: Extra inputs" in refused(raw)


def test_not_a_mapping() -> None:
    assert "must be a mapping" in refused(["a", "b"])


def test_delegate_must_be_a_member() -> None:
    raw = copy.deepcopy(demo())
    raw["departments"][0]["delegate"] = "ghost@example.com"
    assert "delegate 'ghost@example.com' is not a member" in refused(raw)
