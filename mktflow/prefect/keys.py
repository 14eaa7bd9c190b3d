"""Names Prefect sees for mktflow's steps; imports nothing from Prefect."""

from __future__ import annotations

import re

__all__ = ["pause_key"]


def pause_key(step_key: str) -> str:
    """The Prefect pause/input key of a step: lowercase letters, digits and dashes only."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", step_key.lower())).strip("-")
