"""The organisation file: branches, departments and members, and the rules a file must keep.

``parse_organisation`` checks a whole file and refuses it whole, naming every broken rule
with the file, the entry and the rule, so a person can fix them in one go.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from mktflow.domain.calendars import WEEKDAYS
from mktflow.domain.errors import OrganisationInvalid
from mktflow.domain.inputs import (
    CODE_MAX,
    EMAIL_MAX,
    EMAIL_SHAPE,
    NAME_MAX,
    normalise_email,
    plain_error,
)
from mktflow.domain.model import Role

__all__ = [
    "LANGUAGES",
    "REQUIRED_DEPARTMENTS",
    "BranchSpec",
    "CalendarSpec",
    "ChannelSpec",
    "ChannelType",
    "DepartmentSpec",
    "MemberSpec",
    "OrganisationSpec",
    "calendar_problems",
    "channel_problems",
    "clock_minutes",
    "parse_organisation",
]

#: Every business process routes work to these, so every organisation must have them.
REQUIRED_DEPARTMENTS = ("marketing", "sales", "tech", "production", "supply", "finance",
                        "management")


#: An e-mail in the file, as mktflow stores and compares it (NFC, lower-case): the composed
#: and the decomposed spelling of ``josé.núñez@example.com`` are one member.
Email = Annotated[str, Field(max_length=EMAIL_MAX), AfterValidator(normalise_email)]
Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=r"^[^\x00-\x1f\x7f]*$")]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class HoursSpec(_Entry):
    """A branch's daily working hours, local time (``HH:MM``; ``end`` may be ``24:00``)."""

    start: str = "09:00"
    end: str = "18:00"


class CalendarDaySpec(_Entry):
    """One company day: a day off, or an extra working day, with an optional name."""

    date: date
    name: Name | None = None


class CalendarSpec(_Entry):
    """A branch's working calendar (docs: "Working calendars"): the country (ISO 3166 code,
    ``CN``) and region (``MD``) whose public holidays and moved days it keeps, its IANA time
    zone, working week and hours, and the company's own days off and extra working days."""

    country: str | None = None
    subdivision: str | None = None
    time_zone: str | None = None
    week: list[str] | None = None
    hours: HoursSpec | None = None
    days_off: list[CalendarDaySpec] = Field(default_factory=list)
    working_days: list[CalendarDaySpec] = Field(default_factory=list)


class BranchSpec(_Entry):
    """Headquarters or a regional branch, with its working calendar (None: calendar hours)."""

    code: Code
    name: Name
    hq: bool = False
    calendar: CalendarSpec | None = None


class AwaySpec(_Entry):
    """When a department head is away; the delegate leads the department meanwhile."""

    from_: date | None = Field(default=None, alias="from")
    until: date | None = None


class DepartmentSpec(_Entry):
    """A department, with an optional delegate who leads it while the head is away."""

    code: Code
    name: Name
    delegate: Email | None = None
    head_away: AwaySpec | None = None


#: The languages of the pages and notices (docs: "Languages"): English, Simplified Chinese,
#: Spanish, Russian; a member's ``language`` is one of them.
LANGUAGES = ("en", "zh", "es", "ru")
Language = Literal["en", "zh", "es", "ru"]


class MemberSpec(_Entry):
    """A person in a department and a branch, with a role and, optionally, the language of
    their pages and notices (``LANGUAGES``; none: the browser's)."""

    name: Name
    email: Annotated[Email, Field(pattern=EMAIL_SHAPE.pattern)]
    department: str
    branch: str
    role: Role = Role.SPECIALIST
    language: Language | None = None


class ChannelType(StrEnum):
    """How a channel delivers: a signed JSON webhook, a Slack-compatible webhook, or e-mail."""

    WEBHOOK = "webhook"
    SLACK = "slack"
    EMAIL = "email"


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ChannelSpec(_Entry):
    """A notification channel of a department (or of one member), by type."""

    department: str
    type: str
    url: str | None = None
    to: str | None = None
    secret_env: str | None = None
    member: Email | None = None


def channel_problems(c: ChannelSpec) -> list[str]:
    """What is wrong with one channel on its own (departments and members are checked apart).

    Webhooks are signed, so they name the environment variable holding their secret; the
    secret itself never appears in a file.
    """
    types = " or ".join(t.value for t in ChannelType)
    if c.type not in set(ChannelType):
        return [f"type: {c.type!r} is not a channel type (use {types})"]
    problems = []
    if c.type == ChannelType.EMAIL:
        if not c.to:
            problems.append("to: an email channel needs the address to send to")
        elif not EMAIL_SHAPE.match(c.to):
            problems.append(f"to: {c.to!r} is not an e-mail address")
        if c.url:
            problems.append("url: an email channel has no url (use to)")
    else:
        if not c.url:
            problems.append(f"url: a {c.type} channel needs the url to post to")
        elif not re.match(r"^https?://[^/\s]+", c.url):
            problems.append(f"url: {c.url!r} is not an http(s) URL")
        if c.to:
            problems.append(f"to: a {c.type} channel has no to address (use url)")
    if c.secret_env is not None and not _ENV_NAME.match(c.secret_env):
        problems.append(f"secret_env: {c.secret_env!r} is not an environment variable name "
                        "(letters, digits and _, not starting with a digit)")
    if c.type == ChannelType.WEBHOOK and not c.secret_env:
        problems.append("secret_env: a webhook channel is signed: name the environment variable "
                        "holding its secret")
    if c.type != ChannelType.WEBHOOK and c.secret_env:
        problems.append(f"secret_env: only webhook channels are signed, not {c.type}")
    return problems


class OrganisationSpec(_Entry):
    """A whole organisation file."""

    branches: list[BranchSpec]
    departments: list[DepartmentSpec]
    members: list[MemberSpec]
    channels: list[ChannelSpec] = Field(default_factory=list)


def _pydantic_problems(source: str, raw: dict[str, Any], exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = err["loc"]
        entry = ".".join(str(p) for p in loc[:2]) if len(loc) >= 2 else ".".join(map(str, loc))
        if len(loc) >= 2 and isinstance(loc[1], int):
            item = raw.get(str(loc[0]), [])[loc[1]]
            label = item.get("email") or item.get("code") if isinstance(item, dict) else None
            entry = f"{loc[0]}[{loc[1]}]" + (f" ({label})" if label else "")
        # the field's path inside the entry: ``email``, ``calendar.hours.start``
        field = ".".join(str(p) for p in loc[2:]) if len(loc) > 2 else ""
        message = _PATTERN_WORDS.get(str(loc[-1]), "") \
            if err["type"] == "string_pattern_mismatch" else ""
        message = message or plain_error(err)
        problems.append(f"{source}: {entry}: {field + ': ' if field else ''}{message}")
    return problems


#: What a field's pattern asks for, in words (never the regex itself).
_PATTERN_WORDS = {
    "code": "must be lower-case letters, digits, - and _, starting with a letter or digit",
    "name": "must not hold control characters or line breaks",
}


class _Rest:
    """What the entries that broke a field rule still say (their codes, e-mails and heads), so
    the rules across the file are checked in the same pass without reporting them as
    missing."""

    def __init__(self) -> None:
        self.branches: set[str] = set()
        self.departments: set[str] = set()
        self.members: dict[str, str] = {}  # e-mail -> department
        self.heads: Counter[str] = Counter()  # department -> heads among them
        self.index: dict[str, list[int]] = {}  # list -> the file's index of each kept entry

    def at(self, key: str, i: int) -> int:
        """The file's index of the ``i``-th kept entry of list ``key``."""
        return self.index[key][i] if key in self.index else i


def _valid_entries(raw: dict[str, Any], rest: _Rest) -> OrganisationSpec:
    """The file with only the entries that keep every field rule, each checked on its own."""
    def entries(key: str, model: type[BaseModel]) -> list[Any]:
        good = []
        items = raw.get(key)
        rest.index[key] = []
        for n, item in enumerate(items if isinstance(items, list) else []):
            try:
                good.append(model.model_validate(item))
                rest.index[key].append(n)
            except ValidationError:
                if not isinstance(item, dict):
                    continue
                code, email = str(item.get("code", "")), str(item.get("email", "")).lower()
                if key == "branches":
                    rest.branches.add(code)
                elif key == "departments":
                    rest.departments.add(code)
                elif key == "members":
                    rest.members[email] = str(item.get("department", ""))
                    if item.get("role") == Role.HEAD:
                        rest.heads[str(item.get("department", ""))] += 1
        return good

    return OrganisationSpec.model_construct(
        branches=entries("branches", BranchSpec), departments=entries("departments",
                                                                      DepartmentSpec),
        members=entries("members", MemberSpec), channels=entries("channels", ChannelSpec))


def parse_organisation(raw: object, source: str,
                       countries: Mapping[str, Collection[str]] | None = None
                       ) -> OrganisationSpec:
    """Validate an organisation file's content; refuse it whole with every problem named.

    ``countries``: the countries a branch's calendar may name, each with its regions (the
    engine passes those its holiday library knows); None leaves countries unchecked."""
    if not isinstance(raw, dict):
        raise OrganisationInvalid([f"{source}: the file must be a mapping with branches, "
                                   "departments and members"])
    try:
        spec = OrganisationSpec.model_validate(raw)
    except ValidationError as exc:  # and the rules across the file, in the same report
        rest = _Rest()
        problems = _pydantic_problems(source, raw, exc)
        problems += _rule_problems(_valid_entries(raw, rest), source, rest, countries)
        raise OrganisationInvalid(problems) from None
    problems = _rule_problems(spec, source, countries=countries)
    if problems:
        raise OrganisationInvalid(problems)
    return spec


def clock_minutes(text: str, *, field: str) -> int:
    """``HH:MM`` as minutes after midnight (``24:00`` is 1440); ValueError naming ``field``
    and the rule otherwise."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not match or int(match.group(2)) > 59 or not 0 <= minutes <= 1440:
        raise ValueError(f"{field}: {text!r} is not a time of day (HH:MM, 00:00 to 24:00)")
    return minutes


def calendar_problems(c: CalendarSpec, countries: Mapping[str, Collection[str]] | None = None
                      ) -> list[str]:
    """What is wrong with one branch's calendar, each starting with the field: an unknown
    country or region (when ``countries`` is given), a region without a country, a country
    without a time zone, a time zone that is not an IANA name, unknown or repeated weekdays,
    hours that end before they start, a day both off and working."""
    problems = []
    if c.country is not None and countries is not None and c.country not in countries:
        problems.append(f"country: {c.country!r} is not a country the holiday calendar knows "
                        "(an ISO 3166 code in capitals: CN, ES, RU)")
    elif c.subdivision is not None and c.country is None:
        problems.append("subdivision: a region needs its country")
    elif (c.subdivision is not None and countries is not None and c.country is not None
          and c.subdivision not in countries[c.country]):
        known = ", ".join(sorted(countries[c.country])[:40]) or "none"
        problems.append(f"subdivision: {c.subdivision!r} is not a region of {c.country} "
                        f"(known: {known})")
    if c.country is not None and c.time_zone is None:
        problems.append("time_zone: a branch with a country needs its IANA time zone "
                        "(e.g. Asia/Shanghai)")
    if c.time_zone is not None:
        try:
            ZoneInfo(c.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"time_zone: {c.time_zone!r} is not an IANA time zone "
                            "(e.g. Europe/Madrid)")
    if c.week is not None:
        unknown = [d for d in c.week if d not in WEEKDAYS]
        if unknown:
            problems.append(f"week: {', '.join(map(repr, unknown))} not a weekday (use "
                            f"{', '.join(WEEKDAYS)})")
        elif not c.week or len(set(c.week)) != len(c.week):
            problems.append("week: list each working weekday once, at least one")
    if c.hours is not None:
        try:
            start = clock_minutes(c.hours.start, field="hours.start")
            end = clock_minutes(c.hours.end, field="hours.end")
            if end <= start:
                problems.append(f"hours: the end ({c.hours.end}) must be after the start "
                                f"({c.hours.start})")
        except ValueError as exc:
            problems.append(str(exc))
    both = {d.date for d in c.days_off} & {d.date for d in c.working_days}
    for day in sorted(both):
        problems.append(f"days_off: {day} is also in working_days; a day is one or the other")
    return problems


def _duplicates(values: list[str]) -> set[str]:
    return {v for v, n in Counter(values).items() if n > 1}


def _rule_problems(spec: OrganisationSpec, source: str, rest: _Rest | None = None,
                   countries: Mapping[str, Collection[str]] | None = None) -> list[str]:
    """The rules across the file; ``rest`` the entries left out for breaking a field rule."""
    rest = rest or _Rest()
    problems: list[str] = []
    for i, b in enumerate(spec.branches):
        entry = f"{source}: branches[{rest.at('branches', i)}] ({b.code})"
        if b.calendar is not None:
            problems.extend(f"{entry}: calendar.{p}"
                            for p in calendar_problems(b.calendar, countries))
    branches = {b.code for b in spec.branches} | rest.branches
    departments = {d.code for d in spec.departments} | rest.departments
    member_departments = {m.email.lower(): m.department for m in spec.members} | rest.members
    emails = set(member_departments)
    for code in sorted(_duplicates([b.code for b in spec.branches])):
        problems.append(f"{source}: branches ({code}): duplicate branch code")
    if sum(b.hq for b in spec.branches) != 1 and not rest.branches:
        problems.append(f"{source}: branches: exactly one branch must be hq: true")
    for code in sorted(_duplicates([d.code for d in spec.departments])):
        problems.append(f"{source}: departments ({code}): duplicate department code")
    for code in REQUIRED_DEPARTMENTS:
        if code not in departments:
            problems.append(f"{source}: departments: required department {code!r} is missing")
    dup_emails = _duplicates([m.email.lower() for m in spec.members])
    for i, m in enumerate(spec.members):
        entry = f"{source}: members[{rest.at('members', i)}] ({m.email})"
        if m.email.lower() in dup_emails:
            problems.append(f"{entry}: duplicate e-mail")
        if m.department not in departments:
            problems.append(f"{entry}: unknown department {m.department!r}")
        if m.branch not in branches:
            problems.append(f"{entry}: unknown branch {m.branch!r}")
    for email, department in rest.members.items():  # entries with a broken field, too
        if department and department not in departments:
            problems.append(f"{source}: members ({email}): unknown department {department!r}")
    for i, d in enumerate(spec.departments):
        heads = [m for m in spec.members if m.department == d.code and m.role == Role.HEAD]
        entry = f"{source}: departments[{rest.at('departments', i)}] ({d.code})"
        if not heads and not rest.heads[d.code]:
            problems.append(f"{entry}: department without a head")
        elif len(heads) > 1:
            names = ", ".join(h.email for h in heads)
            problems.append(f"{entry}: more than one head ({names})")
        if d.delegate and d.delegate.lower() not in emails:
            problems.append(f"{entry}: delegate {d.delegate!r} is not a member")
        elif d.delegate and member_departments[d.delegate.lower()] != d.code:
            problems.append(f"{entry}: delegate {d.delegate!r} is in "
                            f"{member_departments[d.delegate.lower()]}, not {d.code}: a "
                            "department's delegate is one of its own members")
        if d.head_away and not d.delegate:
            problems.append(f"{entry}: head_away needs a delegate")
    for i, c in enumerate(spec.channels):
        entry = f"{source}: channels[{rest.at('channels', i)}] ({c.department})"
        if c.department not in departments:
            problems.append(f"{entry}: unknown department {c.department!r}")
        if c.member and c.member.lower() not in emails:
            problems.append(f"{entry}: member {c.member!r} is not a member")
        elif c.member and member_departments[c.member.lower()] != c.department:
            problems.append(f"{entry}: member {c.member!r} is in "
                            f"{member_departments[c.member.lower()]}, not {c.department}")
        problems.extend(f"{entry}: {p}" for p in channel_problems(c))
    return problems
