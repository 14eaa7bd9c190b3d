"""mktflow: a marketing department's processes and handoffs, run as Prefect flows."""

__version__ = "0.1.0"
