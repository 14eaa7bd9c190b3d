"""Imports every module that defines tables, so ``SQLModel.metadata`` knows them all."""

from __future__ import annotations

from mktflow.notify import tables as notify_tables
from mktflow.store import tables

__all__ = ["notify_tables", "tables"]
