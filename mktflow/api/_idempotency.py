"""``Idempotency-Key`` on every POST of the API, and the notes a command tells beside its answer.

A POST sent with ``Idempotency-Key: "<key>"`` (IETF draft "The Idempotency-Key HTTP Header
Field": a structured-field string; a bare token is accepted too) by a proven member:

* first time: runs as usual; its answer (any status below 500) is kept for
  ``MKTFLOW_IDEMPOTENCY_KEY_HOURS`` before it is sent;
* again with the same key and the same request (method, path, body: the same bytes): the
  first answer, status, body and headers, with ``Idempotent-Replayed: true``; nothing runs;
* again with another request: 422, problem type ``idempotency-key-reused``;
* while the first is still running: 409 ``idempotency-key-in-flight`` with ``Retry-After``;
* after a first request that changed something but whose answer could not be kept (the
  server failed right after): 409 ``idempotency-key-answer-lost``: look at the item.

Keys belong to the member who sent them (another member's same key is another key). A key
that is not 1 to 255 printable ASCII characters is answered 422 ``request-invalid`` naming the
header. A request whose member is not proven (no token, a page's form) passes on untouched: the
route answers it. The handlers, and why the answer is exact even when the server fails midway,
are in ``mktflow.engine.idempotency``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mktflow.api._deps import identify
from mktflow.api._notes import NOTE
from mktflow.api._problems import PROBLEM_JSON, problem, problem_of
from mktflow.domain.errors import MktflowError
from mktflow.domain.inputs import format_time
from mktflow.engine import idempotency
from mktflow.engine.idempotency import Answer, Claim

__all__ = ["HEADER", "REPLAYED", "IdempotencyKeys", "document", "parse_key"]

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
log = logging.getLogger("mktflow.api")

_BARE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,255}")
_QUOTED = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\]){1,255})"')
#: Headers never kept with an answer: recomputed, per answer, or secret.
_NOT_KEPT = {"content-length", "date", "server", "set-cookie", "transfer-encoding",
             "connection", NOTE.lower()}
_RULE = (f"{HEADER} must be a string of 1 to 255 printable ASCII characters, sent as a "
         'structured-field string (e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324", with the '
         "quotes) or bare, without spaces, quotes or backslashes")


def parse_key(values: list[str]) -> str | None:
    """The key the header carries, or None when it breaks ``_RULE`` (or comes twice)."""
    if len(values) != 1:
        return None
    value = values[0].strip()
    quoted = _QUOTED.fullmatch(value)
    if quoted:
        key = re.sub(r'\\(["\\])', r"\1", quoted.group(1))
        return key if 1 <= len(key) <= 255 else None
    return value if _BARE.fullmatch(value) else None


def _bad_key() -> Any:
    return problem(422, f"the request does not fit the API: {_RULE}",
                   title="The request does not fit the API's schema",
                   type_="urn:mktflow:problem:request-invalid",
                   errors=[{"field": HEADER, "in": "header", "rule": "idempotency-key",
                            "message": _RULE}])


def _member(request: Request) -> str | None:
    """The member the request proves, or None (the route answers who is not proven)."""
    try:
        return identify(request, need_member=True)
    except MktflowError:
        return None


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _answer_of(messages: list[Message]) -> Answer:
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in start.get("headers", [])
               if n.decode("latin-1").lower() not in _NOT_KEPT]
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Answer(int(start["status"]), headers, body)


async def _replay(answer: Answer, send: Send) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer.headers]
    headers += [(b"content-length", str(len(answer.body)).encode()),
                (REPLAYED.lower().encode(), b"true")]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def _refusal(claim: Claim, key: str, keep_hours: float) -> Any:
    if claim.kind == "reused":
        return problem(
            422, f"{HEADER} {key!r} was sent with another request ({claim.first_request}) "
                 f"within the last {keep_hours:g} hours: a key names one request, sent again "
                 "only unchanged (the same method, path and body); use a new key for a new "
                 "request", title=f"{HEADER} is already used",
            type_="urn:mktflow:problem:idempotency-key-reused")
    if claim.kind == "in_flight":
        return problem(
            409, f"a request with {HEADER} {key!r} is still being answered; send it again "
                 f"in {claim.retry_after_s} s to get its answer",
            title=f"A request is outstanding for this {HEADER}",
            type_="urn:mktflow:problem:idempotency-key-in-flight",
            headers={"Retry-After": str(claim.retry_after_s)})
    when = format_time(claim.changed_at) if claim.changed_at else "earlier"
    return problem(
        409, f"the request sent with {HEADER} {key!r} ({claim.first_request}) made its change "
             f"at {when}, but its answer could not be kept (the server failed before it was): "
             "look at the item to see it, and do not send the request again",
        title=f"The answer to this {HEADER} was lost",
        type_="urn:mktflow:problem:idempotency-key-answer-lost")


class IdempotencyKeys:
    """ASGI middleware: the ``Idempotency-Key`` rules of this module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        values = Headers(scope=scope).getlist(HEADER) if scope["type"] == "http" \
            and scope["method"] == "POST" else []
        if not values:
            await self.app(scope, receive, send)
            return
        key = parse_key(values)
        if key is None:
            await _bad_key()(scope, receive, send)
            return
        request = Request(scope, receive)
        member = await run_in_threadpool(_member, request)
        if member is None:
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        await self._keyed(scope, send, key, member, body)

    async def _keyed(self, scope: Scope, send: Send, key: str, member: str, body: bytes) -> None:
        wiring = scope["app"].state.wiring
        keep_hours = wiring.settings.idempotency_key_hours
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope.get("root_path", "") + scope["path"] + (f"?{query}" if query else "")
        fingerprint = hashlib.sha256(f"POST {path}\n".encode("utf-8", "surrogateescape")
                                     + body).hexdigest()
        try:
            claim = await run_in_threadpool(
                idempotency.begin, wiring.uow(), member=member, key=key,
                fingerprint=fingerprint, request=f"POST {path}"[:2100], keep_hours=keep_hours)
        except MktflowError as exc:
            await problem_of(exc)(scope, _no_body, send)
            return
        if claim.kind == "replay":
            assert claim.answer is not None
            await _replay(claim.answer, send)
            return
        if claim.kind != "started":
            await _refusal(claim, key, keep_hours)(scope, _no_body, send)
            return
        assert claim.stamp is not None
        scope.setdefault("state", {})["idempotency"] = claim.stamp
        await self._run(scope, send, claim, body)

    async def _run(self, scope: Scope, send: Send, claim: Claim, body: bytes) -> None:
        """Run the request; keep its answer before sending it (a retry right after it gets
        the same), or let the key go when it failed."""
        wiring = scope["app"].state.wiring
        stamp = claim.stamp
        assert stamp is not None
        sent = False
        messages: list[Message] = []

        async def once() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def keep(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, once, keep)
        except BaseException:
            await _let_go(wiring, stamp)
            raise
        answer = _answer_of(messages)
        if answer.status < 500:
            try:
                await run_in_threadpool(idempotency.finish, wiring.uow(), stamp, answer)
            except MktflowError as exc:  # the change stands; a retry is told its answer is lost
                log.warning("the answer to %s could not be kept for its Idempotency-Key: %s",
                            scope["path"], exc)
        for message in messages:
            await send(message)
        if answer.status >= 500:
            await _let_go(wiring, stamp)


async def _let_go(wiring: Any, stamp: Any) -> None:
    try:
        await run_in_threadpool(idempotency.release, wiring.uow(), stamp)
    except MktflowError as exc:  # the key's lease runs out by itself
        log.warning("an Idempotency-Key could not be let go now: %s", exc)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def document(schema: dict[str, Any]) -> None:
    """Every POST of the OpenAPI document takes the optional ``Idempotency-Key`` header, may
    answer 409 and 422 for it, and says when an answer is a replay."""
    problem_body = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    parameter = {
        "name": HEADER, "in": "header", "required": False,
        "description": (
            "Makes a retry safe (IETF draft \"The Idempotency-Key HTTP Header Field\"): a "
            "unique value per request, e.g. a UUID as a structured-field string "
            '(`"8e03978e-40d5-43e8-bc93-6894a57f9324"`). Sent again with the same request '
            "within MKTFLOW_IDEMPOTENCY_KEY_HOURS (24 h by default), the first answer comes "
            f"back (with `{REPLAYED}: true`) and nothing is done twice. Keys are per member."),
        "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": r"^[\u0021\u0023-\u005b\u005d-\u007e]+$"},
    }
    replayed = {REPLAYED: {"description": "`true` when this is the answer kept for the "
                                          f"request's {HEADER}, sent again; nothing was done.",
                           "schema": {"type": "string", "enum": ["true"]}}}
    extra = {
        "409": f"Another request with this {HEADER} is still being answered (Retry-After), "
               "or its answer was lost after its change was made; or a business rule refused.",
        "422": f"The {HEADER} was used with another request (problem type "
               "idempotency-key-reused) or breaks the header's rule; or the body breaks a rule.",
    }
    for operation in (path.get("post") for path in schema["paths"].values()):
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == HEADER for p in parameters):
            parameters.append(dict(parameter))
        responses = operation.setdefault("responses", {})
        for status, description in extra.items():
            responses.setdefault(status, {"description": description,
                                          "content": dict(problem_body)})
        for status, answer in responses.items():
            if status.startswith("2"):
                answer.setdefault("headers", {}).update(replayed)
