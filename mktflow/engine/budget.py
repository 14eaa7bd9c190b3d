"""Command handlers for budget lines: plan, allocate, record spend. Each in one unit of work,
with its audit entry."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import col, select

from mktflow.domain.errors import BadInput, NotAuthorized, NotFound
from mktflow.domain.money import money
from mktflow.domain.words import on_field, phrase
from mktflow.engine.common import actor_for
from mktflow.store.tables import BudgetLine, SpendEntry
from mktflow.store.uow import UnitOfWork

__all__ = ["allocate", "record_spend"]


def _line(uow: UnitOfWork, line_id: int) -> BudgetLine:
    line = uow.session.get(BudgetLine, line_id, with_for_update=True)
    if line is None:
        raise NotFound(phrase("budget line %(number)s does not exist", number=line_id))
    return line


def allocate(uow: UnitOfWork, line_id: int, *, amount: Decimal | float, actor_email: str,
             process_id: int | None = None) -> BudgetLine:
    """Finance sets the amount allocated to a budget line (rounded half up to the cent)."""
    amount = money(amount)
    if amount < 0:
        raise BadInput(on_field("amount", phrase(
            "an allocation must not be negative, got %(got)s", got=str(amount))))
    with uow:
        actor = actor_for(uow, actor_email)
        if not actor.system and not actor.in_department("finance"):
            raise NotAuthorized(phrase("%(actor)s may not allocate budget: only finance may",
                                       actor=actor.email))
        line = _line(uow, line_id)
        before = line.allocated
        line.allocated = amount
        line.updated_at = uow.now()
        uow.session.add(line)
        assert line.id is not None
        uow.audit(actor=actor.email, entity_type="budget_line", entity_id=line.id,
                  process_id=process_id, action="allocate",
                  changes={"allocated": [before, line.allocated]})
        uow.commit()
        return line


def record_spend(uow: UnitOfWork, line_id: int, *, amount: Decimal | float, key: str,
                 actor_email: str, note: str = "", process_id: int | None = None) -> BudgetLine:
    """Record money spent against a budget line (rounded half up to the cent); the same
    ``key`` is recorded once."""
    amount = money(amount)
    if amount < 0:
        raise BadInput(on_field("amount", phrase("spend must not be negative, got %(got)s",
                                                 got=str(amount))))
    with uow:
        existing = uow.session.exec(select(SpendEntry).where(col(SpendEntry.key) == key)).first()
        if existing is not None:
            line = uow.session.get(BudgetLine, existing.budget_line_id)
            assert line is not None
            return line
        actor = actor_for(uow, actor_email)
        line = _line(uow, line_id)
        before = line.spent
        line.spent = money(line.spent + amount)
        line.updated_at = uow.now()
        uow.session.add(line)
        uow.session.add(SpendEntry(budget_line_id=line_id, key=key, amount=amount,
                                   note=note, recorded_by=actor.email, process_id=process_id,
                                   at=uow.now()))
        uow.audit(actor=actor.email, entity_type="budget_line", entity_id=line_id,
                  process_id=process_id, action="spend", data={"amount": amount, "note": note},
                  changes={"spent": [before, line.spent]})
        uow.commit()
        return line
