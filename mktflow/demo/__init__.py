"""The demo: its organisation and authority matrix (YAML) and ``mktflow demo`` (runner, cycles)."""
