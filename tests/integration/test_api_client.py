"""A client generated from the served ``/openapi.json`` runs handoffs through their life."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.integration.api_support import serving

ANA = "ana.torres@example.com"  # marketing head: offers and confirms
CARLOS = "carlos.mendez@example.com"  # sales head: accepts, delivers, rejects
PACKAGE = "mktflow_client"


def generate_client(spec_url: str, out: Path) -> None:
    """What the docs tell a client author to run (``--meta none``: a bare package).

    The document is read once first, with a generous timeout: the API builds it on its first
    request (a second or two of CPU for every operation's schema, longer on a machine busy
    with the rest of the suite), and the generator gives up on a fetch after 5 s."""
    httpx.get(spec_url, timeout=60).raise_for_status()
    config = out.parent / "client-config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter needed to import the code
    done = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--url", spec_url,
         "--meta", "none", "--output-path", str(out), "--config", str(config)],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture
def clients(db: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Generated ``mktflow_client.AuthenticatedClient``s on the API served for ``db``, one per
    member, each with that member's token (e-mail -> client)."""
    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from mktflow.engine.credentials import issue_token

    with serving(create_app(db.engine, settings=Settings(api_token=None))) as url:
        generate_client(f"{url}/openapi.json", tmp_path / PACKAGE)
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]  # the other database's run generated one too
        sys.path.insert(0, str(tmp_path))
        try:
            generated = importlib.import_module(PACKAGE)
            made = {who: generated.AuthenticatedClient(
                base_url=url, token=issue_token(db.uow(), who).token,
                raise_on_unexpected_status=True, timeout=httpx.Timeout(10))
                for who in (ANA, CARLOS)}
            try:
                yield made
            finally:
                for client in made.values():
                    client.get_httpx_client().close()
        finally:
            sys.path.remove(str(tmp_path))


def _operation(name: str) -> ModuleType:
    """The generated module of one operation, e.g. ``handoffs.handoffs_accept``."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def test_generated_client_runs_handoffs_through_their_life(clients: dict[str, Any],
                                                          clock: Any) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    client = clients[ANA]  # reads with Ana's token

    def offer(title: str) -> Any:
        body = models.OfferHandoff(
            from_department="marketing", to_department="sales", title=title,
            due=clock.now() + timedelta(days=5), criteria="signed off by legal",
            deliverables=["price list"])
        made = _operation("handoffs.handoffs_create").sync_detailed(
            client=clients[ANA], body=body)
        assert made.status_code == 201 and isinstance(made.parsed, models.HandoffPublic)
        return made.parsed

    def act(name: str, handoff: Any, who: str, **body: Any) -> Any:
        return _operation(f"handoffs.handoffs_{name}").sync(
            str(handoff.id), client=clients[who], **body)  # the token says who acts

    kit = offer("Launch kit")
    assert (kit.ref, kit.state, kit.deliverables) == (f"H-{kit.id}", "offered", ["price list"])
    waiting = _operation("reads.reads_inbox").sync("sales", client=clients[CARLOS])
    assert f"H-{kit.id}" in [e.ref for e in waiting.rows]

    refused = act("confirm", kit, ANA)  # not delivered yet: a typed problem, not an exception
    assert isinstance(refused, models.Problem)
    assert (refused.status, refused.type_) == (409, "urn:mktflow:problem:transition-refused")

    accepted = act("accept", kit, CARLOS)
    assert accepted.state == "accepted"
    data = models.DeliverHandoffDataType0.from_dict({"prices": "v1"})
    delivered = act("deliver", kit, CARLOS, body=models.DeliverHandoff(data=data))
    assert (delivered.state, delivered.data.to_dict()) == ("delivered", {"prices": "v1"})
    confirmed = act("confirm", kit, ANA)
    assert (confirmed.state, confirmed.closed_at is not None) == ("confirmed", True)

    brief = offer("Dealer brief")
    rejected = act("reject", brief, CARLOS,
                   body=models.RejectHandoff(reason="no capacity before Q1"))
    assert (rejected.state, rejected.reason) == ("rejected", "no capacity before Q1")
    missing = act("reject", brief, CARLOS, body=models.RejectHandoff(reason=" "))
    assert isinstance(missing, models.Problem) and missing.status in (409, 422)

    trail = _operation("reads.reads_history").sync(f"H-{kit.id}", client=client)
    assert [e.action for e in trail] == ["offer", "accept", "deliver", "confirm"]
