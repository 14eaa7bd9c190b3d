"""mktflow's benchmarks: ``make bench`` (``QUICK=1`` for the quick mode) runs ``python -m bench``.

See ``bench/__main__.py`` for the contract a benchmark module keeps and ``bench/_kit.py`` for
what they share (records, databases, the machine).
"""
