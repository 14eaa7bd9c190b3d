"""What a command said beside its answer, as ``Mktflow-Note`` headers.

A command that succeeds may still have something to say (``mktflow.domain.notes``): its change
was recorded although the database connection dropped while it was committed, or it repeated
a change already made by the same member (nothing changed). The answer is the usual one (200,
201); each note is a ``Mktflow-Note`` header (ASCII: other characters become ``?``).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mktflow.domain import notes

__all__ = ["NOTE", "Notes"]

NOTE = "Mktflow-Note"


class Notes:
    """ASGI middleware: what the request's commands said beside their answer
    (``mktflow.domain.notes``) as ``Mktflow-Note`` headers, one per note."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with notes.collected() as said:

            async def with_notes(message: Message) -> None:
                if message["type"] == "http.response.start" and said:
                    headers = MutableHeaders(scope=message)
                    for note in said:
                        headers.append(NOTE, note.encode("ascii", "replace").decode("ascii"))
                await send(message)

            await self.app(scope, receive, with_notes)
