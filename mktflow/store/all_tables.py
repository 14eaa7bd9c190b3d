"""Imports every module that defines tables, so ``SQLModel.metadata`` knows them all."""

from __future__ import annotations

from mktflow.business import tables as business_tables
from mktflow.cycles import tables as cycle_tables
from mktflow.notify import tables as notify_tables
from mktflow.store import tables

__all__ = ["business_tables", "cycle_tables", "notify_tables", "tables"]
