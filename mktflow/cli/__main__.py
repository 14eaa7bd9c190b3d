"""``python -m mktflow.cli``: the ``mktflow`` command."""

from __future__ import annotations

from mktflow.cli import main

main()
