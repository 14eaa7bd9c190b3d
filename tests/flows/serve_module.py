"""Serve every flow of one module as a deployment (run by a test in a subprocess, the module's
folder on PYTHONPATH): ``python tests/flows/serve_module.py changing_flow``."""

from __future__ import annotations

import importlib
import sys

from prefect import Flow, serve
from prefect.flows import EntrypointType

if __name__ == "__main__":
    module = importlib.import_module(sys.argv[1])
    flows = [v for v in vars(module).values() if isinstance(v, Flow)]
    serve(*(f.to_deployment(name=f.name, entrypoint_type=EntrypointType.MODULE_PATH)
            for f in flows), print_starting_message=False)
