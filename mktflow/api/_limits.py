"""The API's gate for requests: query text, a body size limit, then the one JSON rule of
every door.

Before any route runs, a query parameter holding a NUL, a lone surrogate or a control
character is answered 422 naming it (PostgreSQL cannot even compare such text); a body larger
than ``MKTFLOW_API_MAX_BODY_BYTES`` is answered 413; and a JSON body is parsed with
``mktflow.domain.inputs.load_json`` (no ``NaN``/``Infinity``/``1e400``, integers within 64
bits, nesting bounded, no NUL or lone surrogate): a body that breaks the rule is answered 422
naming the field (``body.data.budget: must be a finite number ...``). All are problem+json.
The body read here is handed on to the app unchanged.
"""

from __future__ import annotations

from email.message import Message
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from mktflow.api._problems import problem, problem_of
from mktflow.domain.errors import BadInput
from mktflow.domain.inputs import check_text, load_json

__all__ = ["RequestLimits"]


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI reads a body without a content type as JSON
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json"))


class RequestLimits:
    """ASGI middleware: bodies bounded in size, JSON bodies held to ``load_json``'s rule."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> JSONResponse:
        return problem(413, f"the request body is larger than {self.max_bytes} bytes "
                            "(MKTFLOW_API_MAX_BODY_BYTES)",
                       type_="urn:mktflow:problem:request-too-large")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            for name, value in parse_qsl(query, keep_blank_values=True):
                check_text(name, field="a query parameter's name", max_length=200)
                check_text(value, field=f"query parameter {name}", max_length=None)
        except BadInput as exc:
            await problem_of(exc)(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(headers.get("content-type")):
            try:
                load_json(body, field="body")
            except BadInput as exc:
                await problem_of(exc)(scope, receive, send)
                return
        replayed = False

        async def replay() -> AsgiMessage:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
