"""Serve the order-handling deployment (run by the deployment test in a subprocess)."""

from __future__ import annotations

from prefect import serve
from prefect.flows import EntrypointType

from flows.order_handling import order_handling

if __name__ == "__main__":
    serve(order_handling.to_deployment(name="order-handling",
                                       entrypoint_type=EntrypointType.MODULE_PATH),
          print_starting_message=False)
