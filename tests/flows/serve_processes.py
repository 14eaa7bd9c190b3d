"""Serve the deployments of the processes named on the command line (run by a test in a
subprocess): ``python tests/flows/serve_processes.py campaign new-product-development``."""

from __future__ import annotations

import sys

from prefect import serve
from prefect.flows import EntrypointType

from mktflow.prefect.registry import PROCESSES

if __name__ == "__main__":
    flows = [PROCESSES[name].load()[0] for name in sys.argv[1:]]
    serve(*(f.to_deployment(name=f.name, entrypoint_type=EntrypointType.MODULE_PATH)
            for f in flows), print_starting_message=False)
