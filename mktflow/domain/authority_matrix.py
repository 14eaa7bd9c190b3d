"""The authority matrix: who may approve what, by process, amount and branch, and how many.

A matrix is versioned data (a YAML file ships with mktflow; a setting may point to another).
Each rule says: for this process, for amounts above ``above`` and up to ``up_to``, approvals
at this scope (``branch``: a regional branch decides locally; ``hq``: headquarters decides) go
to members of this department holding one of these roles, and this many distinct people must
approve. Rules of the same scope that share an amount range form a chain, ordered by
``stage`` (e.g. finance, then management). A branch decides locally when a branch rule covers
the amount; above its limits HQ does. Every decision records the matrix version it used.

Four eyes is expressed as the members excluded from an approval step: whoever submitted the
item, whoever already approved it in the chain, and the department's members who do not hold
a role the rule names. The engine refuses completion by an excluded member at one point,
whatever the door.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mktflow.domain.errors import BadInput, Refused
from mktflow.domain.money import money
from mktflow.domain.words import Phrase, phrase, slashed

__all__ = [
    "ApprovalChain",
    "ApprovalStage",
    "AuthorityMatrix",
    "AuthorityRule",
    "MemberInfo",
    "eligible_approvers",
    "excluded_from_approval",
    "parse_matrix",
]

_SCOPES = ("branch", "hq")


@dataclass(frozen=True)
class AuthorityRule:
    """One row of the matrix: process, amount range, scope, approving department and roles."""

    process: str
    department: str
    roles: tuple[str, ...]
    scope: str = "hq"
    branch: str | None = None  # a branch rule for one branch only; None: any regional branch
    above: Decimal | None = None  # amounts strictly above this (None: from zero)
    up_to: Decimal | None = None  # amounts up to and including this (None: no ceiling)
    approvers: int = 1
    stage: int = 1

    def covers(self, amount: Decimal) -> bool:
        """Whether ``amount`` (exact, to the cent) falls in this rule's range."""
        return (self.above is None or amount > self.above) and (
            self.up_to is None or amount <= self.up_to
        )

    def range_text(self) -> str:
        """The amount range in words, for messages."""
        low = f"above {self.above:,.2f}" if self.above is not None else "from 0"
        high = f"up to {self.up_to:,.2f}" if self.up_to is not None else "with no ceiling"
        return f"{low} {high}"


@dataclass(frozen=True)
class ApprovalStage:
    """One stage of an approval chain: a department, the roles that may approve, how many."""

    department: str
    roles: tuple[str, ...]
    approvers: int
    branch: str | None  # the branch deciding locally; None: headquarters
    stage: int


@dataclass(frozen=True)
class ApprovalChain:
    """Who must approve one amount of one process, and which matrix version said so."""

    process: str
    amount: Decimal
    matrix_version: str
    stages: tuple[ApprovalStage, ...]
    local: bool  # decided by a branch within its limits

    def describe(self) -> Phrase:
        """The chain in one line, e.g. ``finance (head) x1, then management (head) x1
        [authority matrix 2026-1]``, as a message worded where shown."""
        parts = [
            phrase("%(department)s (%(roles)s) x%(n)s in branch %(branch)s",
                   department=s.department, roles=slashed(s.roles), n=s.approvers,
                   branch=s.branch) if s.branch else
            phrase("%(department)s (%(roles)s) x%(n)s", department=s.department,
                   roles=slashed(s.roles), n=s.approvers)
            for s in self.stages
        ]
        chain: str = parts[0] if parts else ""
        for part in parts[1:]:
            chain = phrase("%(first)s, then %(second)s", first=chain, second=part)
        return phrase("%(chain)s [authority matrix %(version)s]", chain=chain,
                      version=self.matrix_version)


@dataclass(frozen=True)
class MemberInfo:
    """What four eyes needs to know of a member."""

    email: str
    department: str
    role: str
    branch: str


@dataclass(frozen=True)
class AuthorityMatrix:
    """A versioned set of approval rules."""

    version: str
    rules: tuple[AuthorityRule, ...]

    def chain(
        self, process: str, amount: Decimal | float | int | str, *, branch: str | None = None,
        branch_is_hq: bool = True
    ) -> ApprovalChain:
        """The approvals ``amount`` of ``process`` needs; a regional branch first looks locally.

        The amount is made exact first (``money``: half up to the cent), so a threshold is met
        or not by the cent: 10,000.00 is within ``up_to: 10000``, 10,000.01 is above it.
        """
        amount = money(amount)
        if amount < 0:
            raise BadInput(f"amount: must not be negative, got {amount}")
        if branch and not branch_is_hq:
            local = [r for r in self.rules if r.process == process and r.scope == "branch"
                     and r.branch in (None, branch) and r.covers(amount)]
            if local:
                return self._chain(process, amount, local, branch)
        central = [r for r in self.rules
                   if r.process == process and r.scope == "hq" and r.covers(amount)]
        if not central:
            raise Refused(
                f"authority matrix {self.version}: no rule lets anyone approve {process} "
                f"of {amount:,.2f}"
            )
        return self._chain(process, amount, central, None)

    def _chain(self, process: str, amount: Decimal, rules: list[AuthorityRule],
               branch: str | None) -> ApprovalChain:
        ordered = sorted(rules, key=lambda r: r.stage)
        stages = tuple(ApprovalStage(r.department, r.roles, r.approvers, branch, r.stage)
                       for r in ordered)
        return ApprovalChain(process, amount, self.version, stages, local=branch is not None)


def excluded_from_approval(
    stage: ApprovalStage,
    members: Iterable[MemberInfo],
    *,
    submitter: str | None,
    earlier_approvers: Iterable[str] = (),
) -> list[str]:
    """Members who may not complete one approval step of ``stage`` (sorted, lower case).

    The submitter and earlier approvers (four eyes), and members of the approving department
    who do not hold a role the rule names. Branch limits are the engine's: a branch item is
    acted on by members of that branch or of headquarters.
    """
    out = {e.strip().lower() for e in earlier_approvers if e}
    if submitter:
        out.add(submitter.strip().lower())
    for m in members:
        if m.department != stage.department:
            continue
        if m.role not in stage.roles:
            out.add(m.email.lower())
    return sorted(out)


def eligible_approvers(
    stage: ApprovalStage, members: Iterable[MemberInfo], excluded: Iterable[str]
) -> list[str]:
    """Members of the approving department who may still approve this stage."""
    barred = set(excluded)
    return sorted(m.email for m in members if m.department == stage.department
                  and m.role in stage.roles and m.email not in barred)


def _amount(value: Any, where: str, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise BadInput(f"{where}: {name} must be a number, got {value!r}")
    return money(value, f"{where}: {name}")


def _rule(raw: Any, where: str, departments: set[str] | None) -> AuthorityRule:
    if not isinstance(raw, Mapping):
        raise BadInput(f"{where}: a rule is a mapping, got {type(raw).__name__}")
    unknown = set(raw) - {"process", "department", "roles", "scope", "branch", "above",
                          "up_to", "approvers", "stage"}
    if unknown:
        raise BadInput(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("process", "department", "roles"):
        if not raw.get(key):
            raise BadInput(f"{where}: {key} is required")
    roles = raw["roles"] if isinstance(raw["roles"], list) else [raw["roles"]]
    scope = str(raw.get("scope", "hq"))
    if scope not in _SCOPES:
        raise BadInput(f"{where}: scope must be one of {', '.join(_SCOPES)}, got {scope!r}")
    approvers = raw.get("approvers", 1)
    if not isinstance(approvers, int) or approvers < 1:
        raise BadInput(f"{where}: approvers must be a whole number of at least 1")
    if departments is not None and raw["department"] not in departments:
        raise BadInput(f"{where}: unknown department {raw['department']!r}")
    rule = AuthorityRule(
        process=str(raw["process"]), department=str(raw["department"]),
        roles=tuple(str(r) for r in roles), scope=scope,
        branch=str(raw["branch"]) if raw.get("branch") else None,
        above=_amount(raw.get("above"), where, "above"),
        up_to=_amount(raw.get("up_to"), where, "up_to"),
        approvers=approvers, stage=int(raw.get("stage", 1)),
    )
    if rule.above is not None and rule.up_to is not None and rule.up_to <= rule.above:
        raise BadInput(f"{where}: up_to ({rule.up_to}) must be greater than above ({rule.above})")
    return rule


def _overlaps(a: AuthorityRule, b: AuthorityRule) -> bool:
    low_a = a.above if a.above is not None else Decimal(-1)
    low_b = b.above if b.above is not None else Decimal(-1)
    high_a = a.up_to if a.up_to is not None else Decimal("Infinity")
    high_b = b.up_to if b.up_to is not None else Decimal("Infinity")
    return low_a < high_b and low_b < high_a


def parse_matrix(raw: Any, source: str, *, departments: set[str] | None = None) -> AuthorityMatrix:
    """Check and read a matrix document; refusals name the source, the rule and the problem."""
    if not isinstance(raw, Mapping) or "version" not in raw or "rules" not in raw:
        raise BadInput(f"{source}: an authority matrix needs 'version' and 'rules'")
    if not isinstance(raw["rules"], list) or not raw["rules"]:
        raise BadInput(f"{source}: rules must be a non-empty list")
    rules = tuple(_rule(r, f"{source}: rule {i + 1}", departments)
                  for i, r in enumerate(raw["rules"]))
    for i, a in enumerate(rules):
        for j, b in enumerate(rules[i + 1:], start=i + 2):
            same = (a.process, a.scope, a.branch, a.stage) == (b.process, b.scope, b.branch,
                                                              b.stage)
            if same and _overlaps(a, b):
                raise BadInput(f"{source}: rules {i + 1} and {j} overlap: {a.process} "
                               f"{a.scope} stage {a.stage} {a.range_text()} / {b.range_text()}")
    return AuthorityMatrix(version=str(raw["version"]), rules=rules)
