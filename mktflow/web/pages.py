"""The departments' pages: sign-in, "My work", "My department", "Handoffs", a head's load, the
campaign calendar, and the page of each work item and handoff, with their forms.

Server-rendered (Jinja2); no script at all, so every page works with the keyboard, a screen
reader and no JavaScript. Adding or removing a row of a list (a KPI, a budget line) is a
submit button: the form comes back with the row added or removed and everything typed kept.

Every form posts to its own page (form-encoded, with an ``action``); a post must come from
these pages (origin) with the session's form token (CSRF), then runs the same engine command
as the API and answers post/redirect/get, or the page again with the refusal and what was
typed.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from mktflow import i18n
from mktflow.config import Settings
from mktflow.domain import clock
from mktflow.domain.actors import IdentifiedBy
from mktflow.domain.calendars import parse_due
from mktflow.domain.campaign_calendar import FEED_DAYS_AHEAD, FEED_DAYS_BACK
from mktflow.domain.complaints import CUSTOMER_SERVICE, ComplaintState
from mktflow.domain.desk import BULK_ACTIONS, FILTERS, PRIORITY_BANDS
from mktflow.domain.errors import (
    BadInput,
    FormInvalid,
    MktflowError,
    NotAuthorized,
    NotFound,
    TooManyRequests,
)
from mktflow.domain.inputs import EMAIL_SHAPE, due_ahead
from mktflow.domain.leads import LEAD_RULES
from mktflow.domain.model import HANDOFF_RULES, WORK_RULES
from mktflow.domain.words import FIELD, Phrase, on_field, phrase
from mktflow.engine import (
    UnitOfWork,
    actions,
    campaign_calendar,
    complaint_handoffs,
    complaints,
    dashboards,
    desk,
    digests,
    leads,
    meetings,
    processes,
    queries,
    tasklist,
    training,
    web_sessions,
    work,
    work_reports,
    workload,
)
from mktflow.engine.credentials import safe_next_path
from mktflow.engine.refs import parse_ref
from mktflow.engine.reports import handoff_ledger
from mktflow.engine.views import InboxRow, WorkItemPublic, show_item
from mktflow.engine.work import merge_draft
from mktflow.i18n.words import in_language, said
from mktflow.web import desk_charts
from mktflow.web import forms as F
from mktflow.web._guard import form_refusal, session_of, set_session
from mktflow.web._render import department_name, render
from mktflow.web.session import Session, SessionKeys

__all__ = ["PAGE_SIZE", "WebState", "calendar_page", "complaint_page", "complaints_page",
           "inbox_page", "item_page", "lead_page", "leads_page", "meeting_page", "meetings_page",
           "process_page", "reports_page", "router", "work_balance_page"]

router = APIRouter(include_in_schema=False)
log = logging.getLogger("mktflow.web")
#: What a member's e-mail looks like (the organisation file's rule, domain.organisation).
PAGE_SIZE = 25
#: The cookie that remembers the language switch (a preference, no secret), for a year.
LANG_COOKIE = "mktflow_lang"
LANG_COOKIE_AGE_S = 365 * 24 * 3600
_MAX_FORM_BYTES = 1_000_000
#: What the queue page says after a saved view's form (``?done=view-save`` ...).
_VIEW_DONE = {"save": i18n.N_("view saved"), "delete": i18n.N_("view deleted"),
              "default": i18n.N_("default view chosen"),
              "no-default": i18n.N_("default view cleared")}
#: What the page says was done (``?done=``): each rule's past tense, and the page's own
#: actions that are no rule of the tables.
_DONE = {**{r.action: r.past for r in (*WORK_RULES, *HANDOFF_RULES)},
         **{f"lead-{r.action}": r.past for r in LEAD_RULES},
         "draft": i18n.N_("draft saved"), "reassign-all": "reassigned",
         "end-process": i18n.N_("ended with its process"),
         "feed-revoked": i18n.N_("feed revoked"),
         "digest-saved": i18n.N_("your notice choice is saved"),
         **{f"view-{k}": v for k, v in _VIEW_DONE.items()}}


class WebState:
    """What the pages need from the app: the settings and the session keys (made lazily, so
    an app that serves no page never writes the key file)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._keys: SessionKeys | None = None

    @property
    def keys(self) -> SessionKeys:
        """The session keys (``MKTFLOW_WEB_SESSION_SECRET`` or the data folder's key file)."""
        if self._keys is None:
            secret = self.settings.web_session_secret
            self._keys = SessionKeys(
                web_sessions.session_key(secret.get_secret_value() if secret else None,
                                         self.settings.data_dir),
                max_age_s=self.settings.web_session_hours * 3600)
        return self._keys


@dataclass
class Visit:
    """One request to a page: who is signed in (``me``), the session, and how to answer."""

    request: Request
    state: WebState
    session: Session
    fresh: bool  # the session is new: send its cookie
    me: dict[str, Any] | None
    had_session: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        """A new unit of work on the app's wiring; its audit entries say the member acted in a
        signed-in session."""
        uow: UnitOfWork = self.request.app.state.wiring.uow(identified_by=IdentifiedBy.SESSION)
        return uow

    @property
    def lang(self) -> str:
        """The page's language (docs: "Languages"): the switch (``?lang=``, then remembered
        in the ``mktflow_lang`` cookie), else the member's from the organisation file, else
        the browser's ``Accept-Language``, else English."""
        if "lang" not in self.extra:
            asked = i18n.normal(self.request.query_params.get("lang"))
            if asked:
                self.extra["set_lang"] = asked
            self.extra["lang"] = (
                asked or i18n.normal(self.request.cookies.get(LANG_COOKIE))
                or i18n.normal((self.me or {}).get("language"))
                or i18n.negotiate(self.request.headers.get("accept-language")) or i18n.DEFAULT)
        lang: str = self.extra["lang"]
        return lang

    def t(self, message: str, **fill: object) -> str:
        """``message`` in the page's language, its ``%(name)s`` filled."""
        return i18n.gettext(self.lang, message, **fill)

    def said(self, row: Any, field: str = "title") -> str:
        """A row's title (or ``field``) in the page's language when a process wrote it
        (``i18n.words.said``); as typed otherwise."""
        return said(row, field, self.lang)

    def dept(self, code: str) -> str:
        """A department as the page's language names it (English: its code)."""
        return department_name(code, self.lang)

    def errors(self, found: dict[str, str] | None) -> dict[str, str]:
        """Field errors in the page's language (``i18n.words.in_language``: a process rule's
        message worded, a form rule's by its shape, ``i18n.rules.localize``)."""
        return {k: in_language(m, self.lang) for k, m in (found or {}).items()}

    def refusal(self, exc: Exception) -> str:
        """What the engine refused, in the page's language when the refusal is worded as a
        message (``mktflow.domain.words``) or has a rule's shape; else whole, in English."""
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        return in_language(message, self.lang)

    def _lang_links(self) -> list[tuple[str, str, str]]:
        """The switch: (code, name, this page's address with ``lang=code``) per language."""
        url = self.request.url
        kept = [(k, val) for k, val in parse_qsl(url.query, keep_blank_values=True)
                if k not in ("lang", "done", "ref")]
        return [(code, name, f"{url.path}?{urlencode([*kept, ('lang', code)])}")
                for code, name in i18n.NAMES.items()]

    def _finish(self, response: Response) -> Response:
        if "set_lang" in self.extra:
            response.set_cookie(LANG_COOKIE, self.extra["set_lang"], max_age=LANG_COOKIE_AGE_S,
                                path="/", httponly=True, samesite="lax",
                                secure=self.request.url.scheme == "https"
                                or self.state.settings.api_url.startswith("https:"))
        response.headers["Vary"] = "Accept-Language, Cookie"
        if self.fresh:
            set_session(response, self.request, self.state.keys, self.session,
                        api_url=self.state.settings.api_url)
        response.headers["Cache-Control"] = "no-store"
        return response

    def page(self, template: str, *, status: int = 200, **context: Any) -> Response:
        """The page ``template`` with who is signed in and the form token."""
        html = render(self.state.settings, template, lang=self.lang, me=self.me,
                      csrf=self.session.csrf, lang_links=self._lang_links(),
                      flash=context.pop("flash", None) or self._flash(), **context)
        return self._finish(HTMLResponse(html, status_code=status))

    def redirect(self, url: str) -> Response:
        """See other (303): after a post, or to the sign-in page."""
        return self._finish(RedirectResponse(url, status_code=303))

    def _flash(self) -> str | None:
        done = self.request.query_params.get("done", "")
        ref = self.request.query_params.get("ref", "")
        if done in _DONE.values() and re.fullmatch(r"[WHL]-\d{1,12}", ref or "W-0"):
            said = self.t(done)
            if self.lang != i18n.DEFAULT:
                return (self.t("%(ref)s: %(done)s.", ref=ref, done=said) if ref
                        else self.t("%(done)s.", done=said[:1].upper() + said[1:]))
            return f"{ref} {done}." if ref else f"{done[:1].upper()}{done[1:]}."
        return None

    def sign_in_first(self) -> Response:
        """To the sign-in page, coming back here afterwards."""
        url = self.request.url
        here = url.path + (f"?{url.query}" if url.query else "")
        return self.redirect("/sign-in?" + urlencode({"next": here}))


def _state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def visit(request: Request) -> Visit:
    """Who is visiting: the member of the cookie's session, if its row still signs them in
    (not ended, not expired, not idle, an active member): checked on every request."""
    state = _state(request)
    session = session_of(request, state.keys)
    had = session is not None
    fresh = False
    me = None
    if session is None:
        session, fresh = Session.visitor(), True
    elif session.secret:
        wiring = request.app.state.wiring
        email = web_sessions.session_member(wiring.uow(), session.secret)
        if email is not None:
            with contextlib.suppress(NotFound):  # deactivated this very moment
                me = tasklist.whoami(wiring.uow(), email)
        if me is None:  # ended, expired or its member left: signed out now
            session, fresh = Session.visitor(), True
    return Visit(request, state, session, fresh, me, had_session=had)


def _local(path: str | None, default: str = "/my-work") -> str:
    """``path`` if it is a path on this site (no other host, no scheme, no control
    character a browser would drop to make ``//host``), else ``default``."""
    return safe_next_path(path) or default


async def _pairs(request: Request) -> list[tuple[str, str]]:
    """The posted form (``application/x-www-form-urlencoded``, up to 1 MB) as name/value pairs."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return []
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return []
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True,
                     max_num_fields=20_000)


def _last(pairs: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in reversed(pairs) if k == name), "")


async def _posted(request: Request) -> tuple[Visit, list[tuple[str, str]], Response | None]:
    """The visit and the posted pairs; a refusal page (403) when the post is not from these
    pages with this session's form token."""
    v = visit(request)
    pairs = await _pairs(request)
    why = form_refusal(request, v.session if v.had_session else None, _last(pairs, "csrf"),
                       v.state.settings.api_url)
    if why:
        return v, pairs, v.page("message.html", status=403, title=v.t("Refused"),
                                message=v.t("Not done: %(why)s.", why=why), link="/my-work",
                                link_text=v.t("Back to my work"))
    return v, pairs, None


async def _posted_by_member(request: Request
                            ) -> tuple[Visit, dict[str, Any], list[tuple[str, str]]] | Response:
    """``_posted`` for a form only a signed-in member may post: the visit, the member (the
    visit's ``me``) and the posted pairs; else the page to show instead (the refusal, or the
    sign-in page)."""
    v, pairs, refused = await _posted(request)
    if refused:
        return refused
    if not v.me:
        return v.sign_in_first()
    return v, v.me, pairs


# --- sign-in ------------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    """To "My work", or to the sign-in page."""
    v = visit(request)
    return v.redirect("/my-work") if v.me else v.sign_in_first()


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    """Sign in with a member token, or ask for a one-time link."""
    v = visit(request)
    if v.me:
        return v.redirect(_local(next))
    return v.page("signin.html", title=v.t("Sign in"), next=_local(next))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """A member token signs in at once; an e-mail gets a one-time link through the member's
    channel. The page says the same, in the same time, whether or not the e-mail is a
    member's; too many requests for one address or from one client are refused (429)."""
    from mktflow.engine import credentials

    v, pairs, refused = await _posted(request)
    if refused:
        return refused
    next_path = _local(_last(pairs, "next"))
    token = _last(pairs, "token").strip()
    if token:
        try:
            holder = credentials.token_holder(v.uow(), token)
            return _signed_in(v, holder.member, next_path, by="token", token_id=holder.id)
        except MktflowError:
            return v.page("signin.html", status=401, title=v.t("Sign in"), next=next_path,
                          refusal=v.t("That token does not sign anyone in: it is wrong, "
                                      "revoked or expired."))
    email = _last(pairs, "email").strip()
    if not email:
        return v.page("signin.html", status=422, title=v.t("Sign in"), next=next_path,
                      refusal=v.t("Give your work e-mail (for a link) or a member token."))
    if not EMAIL_SHAPE.fullmatch(email):  # says nothing of who is a member
        why = v.t("is not an e-mail address: it needs a name, @ and a domain "
                  "(name@example.com)")
        return v.page("signin.html", status=422, title=v.t("Sign in"), next=next_path,
                      refusal=v.t("%(email)s %(why)s.", email=repr(email[:320]), why=why),
                      email=email[:320],
                      email_error=v.t("Your work e-mail %(why)s", why=why))
    try:  # the same work, the same answer, for members and strangers: counted, then taken
        credentials.request_sign_in_link(v.uow(), email, client=_client_of(request))
    except TooManyRequests as exc:
        return _too_many(v, exc, next_path, email)
    except MktflowError:  # the database is busy or away: nothing was taken, say so
        log.exception("could not take a request for a sign-in link")
        return v.page("signin.html", status=503, title=v.t("Sign in"), next=next_path,
                      email=email[:320], refusal=v.t("mktflow could not take your request "
                                                     "just now. Try again in a moment."))
    page = v.page("signin.html", title=v.t("Sign in"), next=next_path, sent=email)
    # a member's link is made and queued after the answer has gone, so its time tells nothing
    page.background = BackgroundTask(_send_link, v.request.app.state.wiring, email, next_path)
    return page


def _client_of(request: Request) -> str:
    """The client's IP address as the server sees it (behind a reverse proxy on 127.0.0.1,
    uvicorn takes it from X-Forwarded-For: ``FORWARDED_ALLOW_IPS``)."""
    return request.client.host if request.client else "unknown"


def _too_many(v: Visit, exc: TooManyRequests, next_path: str, email: str) -> Response:
    """429: too many links asked for; when to try again, in words and in ``Retry-After``.
    Members and strangers are counted alike, so it says nothing of who is a member."""
    again = clock.now() + timedelta(seconds=exc.retry_after_s)
    minutes = max(1, -(-exc.retry_after_s // 60))
    page = v.page("signin.html", status=429, title=v.t("Sign in"), next=next_path,
                  email=email[:320], again=again,
                  refusal=v.t("Too many sign-in links were asked for this e-mail address or "
                              "from this network lately. Try again in %(minutes)s minute(s), or "
                              "sign in with a member token.", minutes=minutes)
                  if v.lang != i18n.DEFAULT else
                  f"Too many sign-in links were asked for this e-mail address or from "
                  f"this network lately. Try again in {minutes} "
                  f"minute{'s' if minutes != 1 else ''}, or sign in with a member token.")
    page.headers["Retry-After"] = str(exc.retry_after_s)
    return page


def _send_link(wiring: Any, email: str, next_path: str) -> None:
    """Make and queue the member's link (nothing for a stranger), after the answer; a
    failure is logged: the person asks again."""
    from mktflow.engine import credentials

    try:
        credentials.send_sign_in_link(wiring.uow(), email, next_path=next_path)
    except MktflowError:
        log.exception("could not queue a sign-in link")


def _signed_in(v: Visit, email: str, next_path: str, *, by: str,
               token_id: int | None = None) -> Response:
    """A new session for ``email`` (a new secret and form token, never the cookie the browser
    came with; the session it had ends), then where they were going. Raises
    NotAuthenticated when the member left or the token was revoked meanwhile."""
    opened = web_sessions.open_session(v.uow(), email, signed_in_by=by, token_id=token_id,
                                       replacing=v.session.secret)
    v.session, v.fresh = Session.signed_in(opened.secret), True
    return v.redirect(next_path)


@router.get("/sign-in/{code}")
def sign_in_link_page(request: Request, code: str) -> Response:
    """The one-time link's page: a button signs in (link checkers that fetch it spend nothing)."""
    v = visit(request)
    return v.page("redeem.html", title=v.t("Sign in"))


@router.post("/sign-in/{code}")
async def sign_in_with_link(request: Request, code: str) -> Response:
    """Redeem the one-time link: signed in, then to the page it was sent for."""
    from mktflow.engine import credentials

    v, _, refused = await _posted(request)
    if refused:
        return refused
    try:
        email, next_path = credentials.redeem_sign_in_link(v.uow(), code)
        return _signed_in(v, email, _local(next_path), by="link")
    except MktflowError:
        return v.page("message.html", status=400, title=v.t("This link does not sign in"),
                      message=v.t("It was used already, or it has expired. Ask for a new one."),
                      link="/sign-in", link_text=v.t("Sign in"))


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session on this browser, on the server: a copy of its cookie signs nobody in."""
    v, _, refused = await _posted(request)
    if refused:
        return refused
    if v.session.secret:
        web_sessions.end_session(v.uow(), v.session.secret, why="signed out")
    v.session, v.fresh, v.me = Session.visitor(), True, None
    return v.page("message.html", title=v.t("Signed out"), message=v.t("You are signed out."),
                  link="/sign-in", link_text=v.t("Sign in again"))


# --- lists ----------------------------------------------------------------------------------


#: The queue's filters in the address (``holder``: the e-mail of who holds the items;
#: ``priority``: a band; ``text``: words in the title), as a saved view stores them.
_FILTERS = FILTERS


def _work_list(v: Visit, department: str, *, member: str | None = None, views: bool = False
               ) -> tuple[list[InboxRow], dict[str, Any]]:
    """One page (``?cursor=``) of the department's open work items matching ``?process=``,
    ``?state=``, ``?due=overdue|on-time``, ``?holder=``, ``?priority=`` (a band) and ``?text=``
    (words in the title), overdue first (the engine's
    keyset-paged inbox). With ``views`` (a department's queue): the member's saved views of
    it, and their default view's filters when the address names no filter."""
    q = v.request.query_params
    filters = {name: q.get(name, "") for name in _FILTERS}
    assert v.me is not None
    me = v.me["email"]
    saved: list[Any] = []
    current = None
    if views:
        saved = desk.list_views(v.uow(), reader=me, department=department)
        asked = q.get("view", "")
        if not any(name in q for name in (*_FILTERS, "cursor", "view")):
            current = next((s for s in saved if s.default), None)
            if current is not None:
                filters = {name: getattr(current, name) or "" for name in _FILTERS}
        elif asked:
            current = next((s for s in saved if s.ref == asked), None)
    overdue = {"overdue": True, "on-time": False}.get(filters["due"])
    page = queries.work_page(v.uow(), department, member=member or filters["holder"] or None,
                             states=[filters["state"]] if filters["state"] else None,
                             overdue=overdue, process=filters["process"] or None,
                             priority=filters["priority"] or None,
                             text=filters["text"] or None,
                             limit=PAGE_SIZE, cursor=q.get("cursor") or None, reader=me)
    running = queries.process_list(v.uow(), status="running", reader=me)
    args = {k: val for k, val in filters.items() if val}
    if current is not None:
        args["view"] = current.ref
    path = v.request.url.path
    extra = {
        "filters": filters, "states": ["open", "claimed", "delegated"],
        "processes": sorted({p.business_key for p in running if p.business_key}),
        "next_page": f"{path}?{urlencode({**args, 'cursor': page.next_cursor})}"
        if page.next_cursor else None,
        "prev_page": f"{path}?{urlencode(args)}" if q.get("cursor") else None,
        "here": path + (f"?{v.request.url.query}" if v.request.url.query else ""),
        "saved_views": saved, "current_view": current, "views": views,
        "bands": list(PRIORITY_BANDS), "filter_names": _FILTERS,
    }
    return page.rows, extra


@router.get("/my-work")
def my_work(request: Request) -> Response:
    """What I hold, overdue first, and my choice of notices."""
    return _my_work(request)


def _my_work(request: Request, *, status: int = 200, digest_error: tuple[str, str] | None = None,
             typed: dict[str, str] | None = None, v: Visit | None = None) -> Response:
    """What I hold, overdue first; and how I am told of changes addressed to me: each notice
    at once, or a daily digest at a time of my working day (the form posts to
    ``/my-work/digest``; a refusal is shown beside its field, ``digest_error``: field, words)."""
    v = v or visit(request)
    if not v.me:
        return v.sign_in_first()
    try:
        shown, extra = _work_list(v, v.me["department"], member=v.me["email"])
        choice = digests.show_choice(v.uow(), v.me["email"])
    except MktflowError as exc:  # a filter or cursor that does not fit
        return v.page("message.html", status=exc.http_status, title=v.t("My work"),
                      message=v.refusal(exc), link="/my-work", link_text=v.t("My work"))
    digest_typed = typed or {"mode": choice.mode, "at": choice.at}
    return v.page("list.html", status=status, title=v.t("My work"), nav="work",
                  heading=v.t("My work"), items=shown,
                  empty=v.t("You hold nothing. Claim work from your department's queue."),
                  actions=False, digest=choice, digest_typed=digest_typed,
                  digest_errors=dict([digest_error]) if digest_error else {}, **extra)


#: How the notice choice's form refuses each field (``domain.digests``), said on the page.
_DIGEST_REFUSALS = {
    "mode": i18n.N_("%(typed)s is not a digest mode (each: one notice per change; daily: one "
                    "digest a working day)"),
    "at": i18n.N_("%(typed)s is not a time of day (HH:MM, 00:00 to 23:59, in your working "
                  "calendar's time zone)")}


@router.post("/my-work/digest")
async def digest_form(request: Request) -> Response:
    """The My work page's notice choice: ``mode`` each or daily, ``at`` HH:MM in the member's
    working calendar's zone; refused input comes back beside its field, nothing saved."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    typed = {k: _last(pairs, k)[:40] for k in ("mode", "at")}
    try:
        digests.set_choice(v.uow(), me["email"], mode=typed["mode"], at=typed["at"])
    except MktflowError as exc:
        words = str(exc)
        field = "at" if words.startswith("at:") else "mode"
        if v.lang != i18n.DEFAULT and words.startswith(f"{field}:"):
            words = v.t(_DIGEST_REFUSALS[field], typed=repr(typed[field].strip()[:20]))
        return _my_work(request, status=exc.http_status, digest_error=(field, words),
                        typed=typed, v=v)
    return v.redirect("/my-work?done=your+notice+choice+is+saved#digest")


@router.get("/department")
def my_department(request: Request) -> Response:
    """My department's queue."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    return v.redirect(f"/inbox/{v.me['department']}")


def inbox_page(request: Request, department: str) -> Response:
    """A department's queue (``GET /inbox/{department}`` for a browser): work waiting for it,
    overdue first, with a Claim button on what is open, the member's saved views of it (their
    default applied when the address names no filter), and a box on each row for the bulk
    actions."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    return _queue(v, department)


def _queue(v: Visit, department: str, *, status: int = 200, bulk: Any = None,
           refusal: str = "", typed: dict[str, str] | None = None,
           field_errors: dict[str, str] | None = None) -> Response:
    assert v.me is not None
    try:
        shown, extra = _work_list(v, department, views=True)
        waiting = len(queries.handoff_page(v.uow(), department, limit=200,
                                           reader=v.me["email"]).rows)
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status,
                      title=v.t("%(department)s queue", department=v.dept(department)),
                      message=v.refusal(exc), link="/my-work", link_text=v.t("Back to my work"))
    mine = department == v.me["department"]
    name = v.dept(department)
    count = f"{waiting}{'+' if waiting >= 200 else ''}"
    return v.page("list.html", status=status,
                  title=v.t("%(department)s queue", department=name),
                  nav="department" if mine else "",
                  heading=v.t("%(department)s queue", department=name[:1].upper() + name[1:]),
                  items=shown, actions=True,
                  intro=v.t("%(count)s handoff(s) wait for %(department)s: see Handoffs.",
                            count=count, department=name) if waiting else "",
                  empty=v.t("Nothing is waiting in the %(department)s queue.", department=name),
                  department=department, members=tasklist.members_of(v.uow(), department),
                  bulk_actions=BULK_ACTIONS, bulk=bulk, refusal=refusal, typed=typed or {},
                  field_errors=v.errors(field_errors), **extra)


@router.post("/inbox/{department}/views")
async def views_form(request: Request, department: str) -> Response:
    """The saved views' forms of a department's queue: save the filters shown as a view
    (``action=save``: name, shared), delete one, choose one as default, or clear the default;
    then back to the queue with the view's filters."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    action, email = _last(pairs, "action"), me["email"]
    typed = {k: val for k, val in pairs if k not in ("csrf", "action")}
    back = f"/inbox/{department}"
    try:
        if action == "save":
            view = desk.save_view(
                v.uow(), actor_email=email, department=department, name=typed.get("name", ""),
                shared=typed.get("shared") == "true",
                **{name: typed.get(name) or None for name in _FILTERS})
            back = view.url
        elif action == "delete":
            desk.delete_view(v.uow(), desk.view_number(typed.get("view", "")), actor_email=email)
        elif action == "default":
            chosen = desk.set_default(v.uow(), actor_email=email,
                                      view_id=desk.view_number(typed.get("view", "")))
            back = chosen.url if chosen else back
        elif action == "no-default":
            desk.set_default(v.uow(), actor_email=email, department=department)
        else:
            raise BadInput(on_field("action", phrase(
                "%(action)s is not a saved view's action (save, delete, default, no-default)",
                action=repr(action[:40]))))
    except MktflowError as exc:
        return _queue(v, department, status=exc.http_status, refusal=v.refusal(exc), typed=typed,
                      field_errors=_input_error(exc, typed))
    glue = "&" if "?" in back else "?"
    return v.redirect(f"{back}{glue}{urlencode({'done': _VIEW_DONE[action]})}")


@router.post("/inbox/{department}/bulk")
async def bulk_form(request: Request, department: str) -> Response:
    """The queue's bulk form: the action chosen (claim, release, assign, update, cancel) on
    every item ticked, each by its own rule; the queue again with each item's answer."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    typed = {k: val for k, val in pairs if k not in ("csrf", "item")}
    items = [val for k, val in pairs if k == "item"]
    action = typed.get("action", "")
    try:
        priority = typed.get("priority", "").strip()
        if priority and not (priority.isdigit() and 0 <= int(priority) <= 100):
            raise BadInput(on_field("priority", phrase(
                "must be a whole number from 0 to 100, got %(got)s", got=repr(priority[:20]))))
        inputs: dict[str, Any] = {
            "to": typed.get("to", "").strip(), "reason": typed.get("reason", "").strip() or None,
            "due": parse_due(typed.get("due", "").strip() or None, field="due"),
            "priority": int(priority) if priority else None}
        if action == "update" and inputs["due"] is None and inputs["priority"] is None:
            raise BadInput(on_field("due", phrase(
                "give a new due time or priority (or both) to change")))
        if action == "assign" and not inputs["to"]:
            raise BadInput(on_field("to", phrase("choose the member who takes the items")))
        answer = desk.bulk(v.uow, action, items, actor_email=me["email"], **inputs)
    except MktflowError as exc:
        return _queue(v, department, status=exc.http_status, refusal=v.refusal(exc), typed=typed,
                      field_errors=_input_error(exc, typed))
    return _queue(v, department, bulk=answer)


@router.get("/inbox/{department}/handoffs")
def handoffs_page(request: Request, department: str) -> Response:
    """Handoffs offered to the department, awaiting its confirmation, and its own waiting on
    others; and the ones answered lately (a rejection with its reason)."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    q = request.query_params
    filters = {"process": q.get("process", ""), "state": q.get("state", ""),
               "due": q.get("due", "")}
    try:
        lists = tasklist.department_handoffs(
            v.uow(), department, process=filters["process"] or None,
            state=filters["state"] or None, limit=PAGE_SIZE,
            overdue={"overdue": True, "on-time": False}.get(filters["due"]),
            reader=v.me["email"])
        running = queries.process_list(v.uow(), status="running", reader=v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status,
                      title=v.t("%(department)s handoffs", department=v.dept(department)),
                      message=v.refusal(exc), link=request.url.path, link_text=v.t("All handoffs"))
    mine = department == v.me["department"]
    return v.page("handoffs.html",
                  title=v.t("%(department)s handoffs", department=v.dept(department)),
                  nav="handoffs" if mine else "", department=department, lists=lists,
                  recent=lists.recently_closed, filters=filters,
                  states=["offered", "accepted", "returned", "delivered"],
                  processes=sorted({p.business_key for p in running if p.business_key}))


def leads_page(request: Request, *, status: int = 200, refusal: str = "",
               typed: dict[str, str] | None = None, field_errors: dict[str, str] | None = None,
               v: Visit | None = None) -> Response:
    """The sales leads (``GET /leads`` for a browser): the form to gather a lead for whoever
    ``LEAD_RULES`` lets gather (marketing's members), the funnel per campaign and channel for
    whoever may see it (marketing, sales, management), and the leads the member may see
    (marketing's; sales' once handed over), each linking to its page, of one campaign or state
    if asked (seed 001, 市场营销部 工作流程 1.(2))."""
    v = v or visit(request)
    if not v.me:
        return v.sign_in_first()
    q = request.query_params
    campaign, state = q.get("campaign", "")[:100] or None, q.get("state", "") or None
    try:
        shown = leads.list_leads(v.uow(), reader=v.me["email"], campaign=campaign, state=state)
        try:
            funnel = leads.funnel_report(v.uow(), reader=v.me["email"], campaign=campaign)
        except NotAuthorized:
            funnel = None
        can_gather = leads.may_gather(v.uow(), v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Sales leads"),
                      message=v.refusal(exc), link="/leads", link_text=v.t("All leads"))
    return v.page("leads.html", status=status, title=v.t("Sales leads"), nav="leads",
                  leads=shown, funnel=funnel, campaign=campaign or "", state=state or "",
                  states=["gathered", "qualified", "disqualified", "won", "lost"],
                  can_gather=can_gather, refusal=refusal, typed=typed or {},
                  field_errors=v.errors(field_errors))


#: The fields of the leads page's "Gather a lead" form: ``POST /leads``'s body.
_LEAD_FIELDS = ("company", "contact", "channel", "campaign", "region", "notes", "owner")


@router.post("/leads/new")
async def gather_lead(request: Request) -> Response:
    """The leads page's form: gather one lead (``leads.gather``, as ``POST /leads`` and
    ``mktflow lead gather``), then its page; refused, the page again with each field's problem
    beside it and what was typed."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    typed = {k: _last(pairs, k) for k in _LEAD_FIELDS}
    try:
        lead = leads.gather(v.uow(), actor_email=me["email"], company=typed["company"],
                            contact=typed["contact"], channel=typed["channel"],
                            campaign=typed["campaign"].strip() or None,
                            region=typed["region"].strip() or None, notes=typed["notes"],
                            owner=typed["owner"].strip() or None)
    except FormInvalid as exc:
        found = {str(e["field"]): e["rule"] for e in exc.errors  # a Phrase: worded where shown
                 if isinstance(e["rule"], str)}
        shown = {k: m for k, m in found.items() if k in typed}
        others = [m for k, m in found.items() if k not in typed]
        return leads_page(request, status=exc.http_status, typed=typed, field_errors=shown, v=v,
                          refusal=in_language(others[0], v.lang) if others else v.t(
                              "Some answers need another look: see the fields marked below."))
    except MktflowError as exc:
        shown = _input_error(exc, typed)
        return leads_page(request, status=exc.http_status, typed=typed, field_errors=shown, v=v,
                          refusal="" if shown else v.refusal(exc))
    return _to_lead(v, lead.id, "gathered")


def lead_page(request: Request, reference: str, *, status: int = 200, refusal: str = "",
              typed: Typed | None = None, v: Visit | None = None) -> Response:
    """One lead (``GET /leads/L-3`` for a browser): the customer, contact, channel, campaign,
    owner, its handoff to sales (linked: sales accepts, rejects and reports the outcome there)
    and outcome, its history, and the forms ``LEAD_RULES`` lets the member use now: qualify
    (a follow-up deadline, a note for sales), disqualify (a reason), hand over again (its
    handoff rejected or withdrawn). Each posts to ``POST /leads/L-3``."""
    v = v or visit(request)
    if not v.me:
        return v.sign_in_first()
    typed = typed or Typed()
    try:
        lead = leads.show_lead(v.uow(), reference, reader=v.me["email"])
        can = leads.allowed_actions(v.uow(), lead.ref, v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status,
                      title=v.t("Lead %(ref)s", ref=reference[:40]), message=v.refusal(exc),
                      link="/leads", link_text=v.t("All leads"))
    return v.page("lead.html", status=status, title=f"{lead.ref} · {lead.company}",
                  nav="leads", lead=lead, can=can, refusal=refusal, typed=typed.values,
                  typed_action=typed.action, field_errors=v.errors(typed.input_errors))


@router.post("/leads/{item}")
async def lead_form(request: Request, item: str) -> Response:
    """The lead page's forms (``action``: qualify, hand-over, disqualify): the same engine
    commands as ``mktflow lead qualify|hand-over|disqualify`` and ``POST
    /leads/{item}/qualify|hand-over|disqualify``; then the lead's page again."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    action = _last(pairs, "action")
    values = {k: _last(pairs, k) for k in ("due", "note", "reason")}
    try:
        lead_id = leads.lead_number(item)
        email = me["email"]
        if action == "disqualify":
            lead = leads.disqualify(v.uow(), lead_id, actor_email=email, reason=values["reason"])
        elif action in ("qualify", "hand-over"):
            u = v.uow()
            due = parse_due(values["due"].strip() or None, field="due")
            command = leads.qualify if action == "qualify" else leads.hand_over
            lead = command(u, lead_id, actor_email=email, note=values["note"],
                           due_at=None if due is None else due_ahead(due, u.now()))
        else:
            raise BadInput(on_field("action", phrase(
                "must be one of %(choices)s, got %(got)s",
                choices="qualify, hand-over, disqualify", got=repr(action))))
    except MktflowError as exc:
        return lead_page(request, item, status=exc.http_status, v=v,
                         refusal=v.refusal(exc),
                         typed=Typed(action=action, values=values,
                                     input_errors=_input_error(exc, values)))
    return _to_lead(v, lead.id, {"qualify": "qualified", "hand-over": "handed over"}.get(
        action, "disqualified"))


def _to_lead(v: Visit, lead_id: int | None, done: str) -> Response:
    """Post/redirect/get to the lead's page, which says what was done (``_DONE``)."""
    return v.redirect(f"/leads/L-{lead_id}?{urlencode({'done': done, 'ref': f'L-{lead_id}'})}")


def meetings_page(request: Request) -> Response:
    """The planning meetings (``GET /meetings`` for a browser): the quarterly and annual
    marketing meetings the member may see (marketing, management, the departments their
    minutes name), each with its state and how many decisions are done (seed 001,
    市场营销部 工作流程 1.(1) A)."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    kind = request.query_params.get("kind", "") or None
    try:
        shown = meetings.list_meetings(v.uow(), reader=v.me["email"], kind=kind)
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Meetings"),
                      message=v.refusal(exc), link="/meetings", link_text=v.t("All meetings"))
    return v.page("meetings.html", title=v.t("Meetings"), nav="meetings", meetings=shown,
                  kind=kind or "")


def meeting_page(request: Request, reference: str) -> Response:
    """One meeting's minutes (``GET /meetings/{ref}`` for a browser): agenda, summary, who
    approved them and where they were sent, and each decision with its owner, due date, work
    (linked) and state."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    try:
        meeting = meetings.show_meeting(v.uow(), reference, reader=v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Meetings"),
                      message=v.refusal(exc), link="/meetings", link_text=v.t("All meetings"))
    return v.page("meeting.html", nav="meetings", meeting=meeting,
                  title=v.t("Meeting %(ref)s", ref=meeting.ref))


def complaints_page(request: Request, *, status: int = 200, refusal: str = "",
                    typed: dict[str, str] | None = None, v: Visit | None = None) -> Response:
    """The customer complaints (``GET /complaints`` for a browser): the form to open a case
    for customer service's members (seed 001, 客户服务部 工作流程 2.(1) C), and the cases the
    member may see (customer service's, the acting department's, management's), of one
    customer (its file's complaints) or state if asked."""
    v = v or visit(request)
    if not v.me:
        return v.sign_in_first()
    q = request.query_params
    customer, state = q.get("customer", "")[:100] or None, q.get("state", "") or None
    try:
        shown = complaints.list_complaints(v.uow(), reader=v.me["email"], customer=customer,
                                           state=state)
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Customer complaints"),
                      message=v.refusal(exc), link="/complaints", link_text=v.t("All complaints"))
    return v.page("complaints.html", status=status, title=v.t("Customer complaints"),
                  nav="complaints", cases=shown, customer=customer or "", state=state or "",
                  states=[str(s) for s in ComplaintState], refusal=refusal, typed=typed or {},
                  can_open=v.me["department"] == CUSTOMER_SERVICE)


@router.post("/complaints/new")
async def open_complaint(request: Request) -> Response:
    """A complaint from the page's form: a case in customer service, then its page."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    typed = {k: _last(pairs, k) for k in ("customer", "customer_name", "order", "text", "due")}
    try:
        case = complaints.open_complaint(
            v.uow(), actor_email=me["email"], customer=typed["customer"], text=typed["text"],
            order=typed["order"] or None, customer_name=typed["customer_name"] or None,
            source="page", due_at=typed["due"] or None)
    except MktflowError as exc:
        return complaints_page(request, status=exc.http_status, refusal=v.refusal(exc), typed=typed,
                               v=v)
    return v.redirect(f"/complaints/C-{case.id}")


def complaint_page(request: Request, reference: str, *, status: int = 200,
                   refusal: str = "", typed_reason: str = "", v: Visit | None = None
                   ) -> Response:
    """One case (``GET /complaints/C-4`` for a browser): the customer, what they said, the
    acting department and its handoff, what was done, the customer's answer, the open step
    (answered at its own page), the history, and for the head of customer service (or the
    head's delegate) the form that cancels a case not closed (``POST /complaints/C-4``)."""
    v = v or visit(request)
    if not v.me:
        return v.sign_in_first()
    try:
        case = complaints.show_complaint(v.uow(), reference, reader=v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status,
                      title=v.t("Complaint %(ref)s", ref=reference[:50]), message=v.refusal(exc),
                      link="/complaints", link_text=v.t("All complaints"))
    can_cancel = case.department in v.me["leads"] and case.state not in (
        ComplaintState.CLOSED, ComplaintState.CANCELLED)
    return v.page("complaint.html", status=status, title=f"{case.ref} · {case.customer_name}",
                  nav="complaints", case=case, can_cancel=can_cancel, refusal=refusal,
                  typed_reason=typed_reason,
                  done=request.query_params.get("done", "") == "cancelled")


@router.post("/complaints/{item}")
async def complaint_form(request: Request, item: str) -> Response:
    """The case page's form: cancel the case, with a reason (the head of customer service)."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    reason = _last(pairs, "reason")
    try:
        if _last(pairs, "action") != "cancel":
            raise BadInput("action: the case's page cancels a case (action=cancel)")
        case = complaints.cancel(v.uow(), complaints.complaint_number(item),
                                 actor_email=me["email"], reason=reason)
    except MktflowError as exc:
        return complaint_page(request, item, status=exc.http_status, refusal=v.refusal(exc),
                              typed_reason=reason, v=v)
    return v.redirect(f"/complaints/C-{case.id}?done=cancelled")


def calendar_page(request: Request, *, status: int = 200, issued: Any = None,
                  refusal: str = "") -> Response:
    """The campaign calendar (``GET /calendar`` for a browser): one month
    (``?month=YYYY-MM``) or quarter (``?quarter=YYYY-Qn``), filtered by ``department`` and
    ``branch``, as an agenda of days, each entry linking to its page; and the member's
    calendar feed URLs, made and revoked with the forms of this page (``POST /calendar``)."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    q = request.query_params
    asked = {k: q.get(k, "")[:20] for k in ("month", "quarter")}
    filters = {k: q.get(k, "")[:64] for k in ("department", "branch")}
    try:
        org = queries.organisation(v.uow())
        shown = campaign_calendar.calendar_page(
            v.uow(), month=asked["month"] or None, quarter=asked["quarter"] or None,
            reader=v.me["email"], department=filters["department"] or None,
            branch=filters["branch"] or None)
        feeds = campaign_calendar.list_feeds(v.uow(), v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Campaign calendar"),
                      message=v.refusal(exc), link="/calendar", link_text=v.t("This month"))
    keep = {k: val for k, val in filters.items() if val}
    links = {"previous": "/calendar?" + urlencode({shown.kind: shown.previous, **keep}),
             "next": "/calendar?" + urlencode({shown.kind: shown.next, **keep})}
    other = ("quarter", f"{shown.start[:4]}-Q{(int(shown.start[5:7]) - 1) // 3 + 1}") \
        if shown.kind == "month" else ("month", shown.start[:7])
    links["other"] = "/calendar?" + urlencode({other[0]: other[1], **keep})
    return v.page("calendar.html", status=status,
                  title=v.t("Campaign calendar %(period)s", period=shown.period),
                  nav="calendar", cal=shown, asked=asked, filters=filters, links=links,
                  other=other[0], feeds=[f for f in feeds if f.state == "active"],
                  issued=issued, refusal=refusal, feed_days=(FEED_DAYS_BACK, FEED_DAYS_AHEAD),
                  departments=[d.code for d in org.departments],
                  branches=[b.code for b in org.branches])


def process_page(request: Request, reference: str) -> Response:
    """One process (``GET /processes/P-4`` for a browser; the campaign calendar links its
    campaigns here): its key, status, owner and branch, and the work items and handoffs the
    member may see, each linking to its page."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    try:
        shown = queries.show_process(v.uow(), parse_ref(reference, "process")[1],
                                     reader=v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status,
                      title=v.t("Process %(ref)s", ref=reference[:50]),
                      message=v.refusal(exc), link="/calendar", link_text=v.t("Campaign calendar"))
    return v.page("process.html", title=f"{shown.ref} · {shown.business_key or shown.process}",
                  process=shown)


@router.post("/calendar")
async def calendar_feed_form(request: Request) -> Response:
    """The calendar page's forms: ``action=new-feed`` makes a feed URL (shown on the page this
    once), ``action=revoke-feed`` with ``feed`` revokes one of the member's."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    action = _last(pairs, "action")
    try:
        if action == "new-feed":
            issued = campaign_calendar.issue_feed(v.uow(), me["email"])
            return calendar_page(request, issued=issued)
        if action == "revoke-feed":
            feed = _last(pairs, "feed")
            if not feed.isdigit():
                raise BadInput(on_field("feed", phrase("%(given)s is no feed number",
                                                       given=repr(feed[:20]))))
            campaign_calendar.revoke_feed(v.uow(), int(feed), actor_email=me["email"])
            return v.redirect("/calendar?done=feed+revoked")
        raise BadInput(on_field("action", phrase("%(action)s is no action of the calendar page",
                                                 action=repr(action[:40]))))
    except MktflowError as exc:
        return calendar_page(request, status=exc.http_status, refusal=v.refusal(exc))


def reports_page(request: Request, *, status: int = 200, refusal: str = "",
                 typed: dict[str, str] | None = None, v: Visit | None = None) -> Response:
    """The work reports (``GET /reports`` for a browser, ``/my-reports``): the form to write
    today's report (seed 001, 市场部管理制度 4: the day's work reported to the head before the
    end of the working day), and the reports the member may read: their own, their
    department's for its head, every one for management; of one day if asked."""
    v = v or visit(request)
    if not v.me:
        return v.sign_in_first()
    q = request.query_params
    period, department = q.get("period", "")[:10] or None, q.get("department", "")[:64] or None
    try:
        shown = work_reports.list_reports(v.uow(), reader=v.me["email"], period=period,
                                          department=department, kind=q.get("kind") or None)
        today = work_reports.today_for(v.uow(), v.me["email"]).isoformat()
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Work reports"),
                      message=v.refusal(exc), link="/my-reports", link_text=v.t("All reports"))
    mine = next((r for r in shown if r.member == v.me["email"] and r.kind == "daily"
                 and r.period == today), None)
    if typed is None and mine is not None:
        typed = {"done": mine.done, "problems": mine.problems, "next": mine.next}
    submitted = q.get("submitted", "")
    flash = v.t("%(ref)s submitted.", ref=submitted) \
        if re.fullmatch(r"R-\d{1,12}", submitted) else None
    return v.page("reports.html", status=status, title=v.t("Work reports"), nav="reports",
                  flash=flash,
                  reports=shown, today=today, mine=mine, typed=typed or {}, refusal=refusal,
                  period=period or "", department=department or "")


@router.get("/my-reports")
def my_reports(request: Request) -> Response:
    """Write today's report; read the reports one may see."""
    return reports_page(request)


@router.post("/my-reports")
async def write_report(request: Request) -> Response:
    """Today's report, from the page's form: it completes the day's report step."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    typed = {k: _last(pairs, k) for k in ("done", "problems", "next")}
    try:
        report = work_reports.submit(v.uow(), actor_email=me["email"], done=typed["done"],
                                     problems=typed["problems"], next_=typed["next"])
    except MktflowError as exc:
        return reports_page(request, status=exc.http_status, refusal=v.refusal(exc), typed=typed,
                            v=v)
    return v.redirect(f"/my-reports?{urlencode({'submitted': report.ref})}")


@router.get("/training")
def training_page(request: Request) -> Response:
    """Training from appraisal (seed 001, 团队建设规范 5.1 and 绩效评估 3): the training needs
    the member may read (their own; their department's for its head; all for management), the
    plans of the departments they may see with their sessions and attendance, and with
    ``?member=`` one member's appraisals with the training attended since the previous one
    and the change of attainment."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    q = request.query_params
    period, member = q.get("period", "")[:20] or None, q.get("member", "")[:320] or None
    try:
        needs = training.list_needs(v.uow(), reader=v.me["email"], period=period)
        plans = training.list_plans(v.uow(), reader=v.me["email"], period=period)
        record = training.member_training(v.uow(), member, reader=v.me["email"]) \
            if member else None
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Training"),
                      message=v.refusal(exc), link="/training", link_text=v.t("Training"))
    return v.page("training.html", title=v.t("Training"), nav="training", needs=needs,
                  plans=plans, record=record, period=period or "")


#: The plan form's fields: each kind's starts in each month of the quarter.
_PLAN_FIELDS = [(kind, month) for kind in ("campaign", "new_product", "order")
                for month in (1, 2, 3)]


@router.get("/forecast")
def forecast_page(request: Request) -> Response:
    """What next quarter will cost (for heads and management, read rule ``forecast``): the
    plan's form (starts per month of campaigns, new products and orders; a GET form, since
    nothing is written), and once asked, each department's load, waits and jams, with the
    back-test of the model on the last quarter."""
    from mktflow.domain.forecast import MAX_STARTS_PER_MONTH, WAIT_THRESHOLD_HOURS, parse_plan
    from mktflow.engine import forecast as forecasts

    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    if not (v.me["leads"] or v.me["department"] == "management"):
        return v.page("message.html", status=403, title=v.t("Forecast"),
                      message=v.t("%(email)s may not see the department forecast: only a "
                                  "department head or a member of management may.",
                                  email=v.me["email"]),
                      link="/my-work", link_text=v.t("Back to my work"))
    q = request.query_params
    typed = {f"{k}_{m}": q.get(f"{k}_{m}", "")[:12] for k, m in _PLAN_FIELDS}
    typed["seed"] = q.get("seed", "0")[:12]
    typed["threshold"] = q.get("threshold", f"{WAIT_THRESHOLD_HOURS:g}")[:12]
    errors: dict[str, str] = {}
    counts: dict[str, list[int]] = {}
    for kind, month in _PLAN_FIELDS:
        name, raw = f"{kind}_{month}", typed[f"{kind}_{month}"].strip() or "0"
        if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_STARTS_PER_MONTH:
            errors[name] = v.t("a whole number from 0 to %(most)s", most=MAX_STARTS_PER_MONTH)
        else:
            counts.setdefault(kind, []).append(int(raw))
    seed = typed["seed"].strip() or "0"
    if not seed.isascii() or not seed.isdigit() or int(seed) > 2**31 - 1:
        errors["seed"] = v.t("a whole number from 0")
    try:
        threshold = float(typed["threshold"])
        if not 0 < threshold <= 8760:
            raise ValueError
    except ValueError:
        errors["threshold"] = v.t("hours above 0, at most 8760")
    result, refusal, status = None, "", 200
    if errors:
        refusal, status = v.t("The plan is not complete: see the fields marked."), 422
    elif "run" in q:
        try:
            result = forecasts.forecast(
                v.uow(), plan=parse_plan(counts), seed=int(seed), threshold_hours=threshold,
                reader=v.me["email"])
        except MktflowError as exc:
            refusal, status = v.refusal(exc), exc.http_status
    return v.page("forecast.html", status=status, title=v.t("Forecast"), nav="forecast",
                  typed=typed, field_errors=errors, refusal=refusal, result=result,
                  jam_words={d.department: _jam_words(v, d.jam_reason)
                             for d in (result.departments if result else [])},
                  months=(1, 2, 3), kinds=(("campaign", v.t("Campaigns")),
                                           ("new_product", v.t("New products")),
                                           ("order", v.t("Orders"))))


#: The forecast's reasons for a jam (``engine.forecast``, in English) as the page says them.
_JAM_REASONS = (
    (re.compile(r"(?P<share>\d+)% busy over the quarter"),
     i18n.N_("%(share)s busy over the quarter")),
    (re.compile(r"95% of steps wait up to (?P<hours>[\d.]+) h, above (?P<threshold>[\d.e+]+) h"),
     i18n.N_("95%% of steps wait up to %(hours)s h, above %(threshold)s h")),
)


def _jam_words(v: Visit, reason: str | None) -> str:
    """A jam's reasons (``engine.forecast``: ``"93% busy over the quarter; 95% of steps wait
    up to 41 h, above 40 h"``) in the page's language; a reason of another shape as it is."""
    if not reason or v.lang == i18n.DEFAULT:
        return reason or ""
    said = []
    for part in reason.split("; "):
        for pattern, message in _JAM_REASONS:
            found = pattern.fullmatch(part)
            if found:
                fill = dict(found.groupdict())
                if "share" in fill:
                    fill["share"] = i18n.percent(int(fill["share"]) / 100, v.lang)
                said.append(v.t(message, **fill))
                break
        else:
            said.append(part)
    return "; ".join(said)


@router.get("/inbox/{department}/load")
def load_page(request: Request, department: str) -> Response:
    """For whoever leads the department: its open work by member and the handoff ledger."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    return _load(v, department)


def _load(v: Visit, department: str, *, status: int = 200, refusal: str = "",
          chosen: dict[str, str] | None = None, errors: dict[str, str] | None = None
          ) -> Response:
    assert v.me is not None
    try:  # the read table's workload row: whoever leads the department, and management
        load, figures = workload.load_and_workload(v.uow(), department, reader=v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("For the head"),
                      message=v.refusal(exc), link="/my-work", link_text=v.t("Back to my work"))
    ledger = handoff_ledger(v.uow())
    pairs = [p for p in ledger.pairs if department in (p["from"], p["to"])]
    members = tasklist.members_of(v.uow(), department)
    return v.page("load.html", status=status,
                  title=v.t("%(department)s load", department=v.dept(department)),
                  nav=f"load-{department}", department=department, load=load, pairs=pairs,
                  members=members, refusal=refusal, chosen=chosen or {},
                  field_errors=v.errors(errors), figures=figures,
                  charts=desk_charts.workload_charts(figures, v.t, v.dept),
                  bands=[(band, v.t(words)) for band, words in desk_charts.BANDS],
                  waits=desk_charts.waits_by_department(figures),
                  stages={k: v.t(words) for k, words in desk_charts.STAGE_WORDS.items()},
                  heads=department in v.me["leads"])


@router.post("/inbox/{department}/load")
async def reassign_all(request: Request, department: str) -> Response:
    """The head hands everything one member holds to another."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, me, pairs = posted
    chosen = {"from": _last(pairs, "from"), "to": _last(pairs, "to")}
    if not chosen["to"].strip():
        return _load(v, department, status=422, chosen=chosen,
                     refusal=v.t("Choose who takes the work (To)."),
                     errors={"to": v.t("choose who takes the work")})
    try:
        work.reassign_all(v.uow(), from_email=chosen["from"], to_email=chosen["to"],
                          actor_email=me["email"])
    except MktflowError as exc:
        return _load(v, department, status=exc.http_status, refusal=v.refusal(exc), chosen=chosen,
                     errors=_input_error(exc, chosen))
    return v.redirect(f"/inbox/{department}/load?done=reassigned")


# --- dashboards ------------------------------------------------------------------------------


def campaign_dashboard_page(request: Request, code: str) -> Response:
    """A campaign's dashboard (``GET /dashboards/campaigns/{code}`` for a browser): its KPI
    targets against actuals and budget lines allocated against spent, each as a chart beside
    a table of the same figures."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    try:
        shown = dashboards.campaign_dashboard(v.uow(), code, reader=v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Campaign dashboard"),
                      message=v.refusal(exc), link="/my-work", link_text=v.t("Back to my work"))
    return v.page("dashboard.html",
                  title=v.t("Campaign %(campaign)s dashboard", campaign=shown.code),
                  nav="dashboards",
                  campaign=shown, board=shown, periods=[],
                  charts=desk_charts.dashboard_charts(
                      shown, v.t, lambda value: i18n.amount(value, v.lang)))


def period_dashboard_page(request: Request, period: str) -> Response:
    """A period's dashboard (``GET /dashboards/periods/{period}`` for a browser): the KPIs
    and budget lines of the reader's departments (management: all) as charts beside tables,
    with links to the year's other periods."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    try:
        shown = dashboards.period_dashboard(v.uow(), period, reader=v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Period dashboard"),
                      message=v.refusal(exc), link="/my-work", link_text=v.t("Back to my work"))
    year = int(shown.period[:4])
    periods = [str(year - 1), str(year), *(f"{year}-H{h}" for h in (1, 2)),
               *(f"{year}-Q{q}" for q in range(1, 5)), str(year + 1)]
    return v.page("dashboard.html", title=v.t("Dashboard %(period)s", period=shown.period),
                  nav="dashboards",
                  campaign=None, board=shown, periods=periods,
                  charts=desk_charts.dashboard_charts(
                      shown, v.t, lambda value: i18n.amount(value, v.lang)))


def work_balance_page(request: Request, period: str) -> Response:
    """The balance of each department's work in a period (``GET /dashboards/balance/{period}``
    for a browser; seed 000): its work items in the four quadrants, and the departments whose
    important-not-urgent share falls below the floor management sets."""
    v = visit(request)
    if not v.me:
        return v.sign_in_first()
    try:
        shown = dashboards.work_balance(v.uow(), period, reader=v.me["email"])
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status, title=v.t("Balance of work"),
                      message=v.refusal(exc), link="/my-work", link_text=v.t("Back to my work"))
    return v.page("balance.html", title=v.t("Balance of work %(period)s", period=shown.period),
                  nav="dashboards", balance=shown)


# --- an item's page ---------------------------------------------------------------------------


@dataclass
class Typed:
    """What the person typed into the page's forms, kept when the action is refused."""

    action: str = ""
    values: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] | None = None  # the step's form, as typed
    errors: dict[str, str] = field(default_factory=dict)  # the step form's fields
    focus: str = ""
    input_errors: dict[str, str] = field(default_factory=dict)  # an action's own inputs


def item_page(request: Request, kind: str, reference: str, *, status: int = 200,
              refusal: str = "", typed: Typed | None = None, flash: str | None = None,
              v: Visit | None = None) -> Response:
    """The page of a work item (``kind`` ``work``) or handoff: facts, what I may do, its
    process, its history. ``GET /work/{id}`` and ``GET /handoffs/{id}`` answer it to a
    browser."""
    v = v or visit(request)
    if not v.me:
        return v.sign_in_first()
    typed = typed or Typed()
    prefix = "W" if kind == "work" else "H"
    number = reference.split("-")[-1].lstrip("WwHh")
    ref = f"{prefix}-{number}"
    if not number.isdigit():
        return _missing(v, kind, reference[:40])
    try:
        me = v.me["email"]
        item = show_item(v.uow(), ref, reader=me)
        trail = queries.history(v.uow(), ref, reader=me)
        can = tasklist.allowed_actions(v.uow(), ref, me)
        process = queries.show_process(v.uow(), item.process_id, reader=me) \
            if item.process_id else None
    except NotFound:
        return _missing(v, kind, ref)
    except MktflowError as exc:
        return v.page("message.html", status=exc.http_status,
                      title=v.t("%(ref)s: not shown", ref=ref),
                      message=v.refusal(exc), link="/my-work", link_text=v.t("Back to my work"))
    context: dict[str, Any] = {"item": item, "trail": trail, "can": can, "process": process,
                               "may_end": bool(process) and tasklist.may_end_process(
                                   v.uow(), item.process_id or 0, v.me["email"]),
                               "typed": typed.values, "typed_action": typed.action,
                               "field_errors": v.errors(typed.input_errors),
                               "refusal": refusal, "flash": flash}
    if isinstance(item, WorkItemPublic):
        schema = item.form_schema
        raw = typed.raw if typed.raw is not None else F.raw_from_data(schema, item.draft or {})
        shown_errors = v.errors(typed.errors)
        tree = F.fields(schema, raw, shown_errors)
        if v.lang != i18n.DEFAULT:
            F.translated(tree, i18n.translations(v.lang).gettext)
        context.update(
            fields=tree, focus=typed.focus,
            excluded=v.me["email"] in item.excluded and item.state != "done",
            members=tasklist.may_take(v.uow(), item.id, "assign", v.me["email"])
            if "assign" in can else [],
            colleagues=tasklist.may_take(v.uow(), item.id, "delegate", v.me["email"])
            if "delegate" in can else [],
            error_list=_error_list(tree, shown_errors, v.t("the form")))
    return v.page(f"{kind if kind == 'work' else 'handoff'}.html", status=status,
                  title=f"{item.ref} {v.said(item)}", **context)


def _missing(v: Visit, kind: str, ref: str) -> Response:
    """The page of an item that does not exist (404): which one, and the ways back."""
    assert v.me is not None
    work = kind == "work"
    return v.page("message.html", status=404,
                  title=v.t("Work item %(ref)s not found", ref=ref) if work
                  else v.t("Handoff %(ref)s not found", ref=ref),
                  message=v.t("There is no work item %(ref)s: the number may be mistyped, or "
                              "the link is from another mktflow.", ref=ref) if work
                  else v.t("There is no handoff %(ref)s: the number may be mistyped, or the "
                           "link is from another mktflow.", ref=ref),
                  link="/my-work", link_text=v.t("Back to my work"),
                  links=[(f"/inbox/{v.me['department']}", v.t("My department's queue")),
                         (f"/inbox/{v.me['department']}/handoffs", v.t("Handoffs"))])


def _labels(tree: list[F.Field], trail: str = "") -> dict[str, tuple[str, str]]:
    """Each field's name → (its label as read from the top, its HTML id)."""
    out: dict[str, tuple[str, str]] = {}
    for f in tree:
        label = f"{trail}: {f.label}" if trail else f.label
        out[f.name] = (label, f.id)
        out.update(_labels(f.children, label))
        out.update(_labels(f.rows, label if f.kind != "list" else trail))
    return out


def _error_list(tree: list[F.Field], errors: dict[str, str], whole: str = "the form"
                ) -> list[tuple[str, str, str]]:
    """The error summary: (field as people read it, message, id to jump to or ''); ``whole``
    names an error of no field."""
    labels = _labels(tree)
    return [(labels[name][0], message, labels[name][1]) if name in labels
            else (name or whole, message, "") for name, message in errors.items()]


def _first_leaf(tree: list[F.Field], name: str) -> str:
    """The first input inside the field ``name`` (where the keyboard goes in a new row)."""
    for f in tree:
        if f.name == name:
            inner = f.children or f.rows
            return inner[0].name if inner and not (inner[0].children or inner[0].rows) \
                else (_first_leaf(inner, inner[0].name) if inner else f.name)
        found = _first_leaf(f.children + f.rows, name)
        if found:
            return found
    return ""


def _form_errors(v: Visit, item_id: int, schema: dict[str, Any] | None,
                 draft: dict[str, Any] | None, data: dict[str, Any],
                 unread: dict[str, str]) -> dict[str, str]:
    """What the page could not read, plus what ``complete`` would refuse in the rest: the
    form's own check, then the process's rules for the form (``work.check_draft``)."""
    errors = dict(unread)
    merged = merge_draft(draft, data)
    try:
        work.check_draft(v.uow(), item_id, data)
    except FormInvalid as exc:
        for name, message in F.error_paths(exc.errors).items():
            errors.setdefault(name, message)
    return F.conditional_errors(schema, merged or {}, errors)


async def _work_form(v: Visit, item_id: int, action: str,
                     pairs: list[tuple[str, str]]) -> Response:
    """The step's form: add or remove a row, check, save the draft, or complete."""
    assert v.me is not None
    ref = f"W-{item_id}"
    try:
        item = show_item(v.uow(), ref, "work", reader=v.me["email"])
    except MktflowError as exc:
        return item_page(v.request, "work", ref, status=exc.http_status,
                         refusal=v.refusal(exc), v=v)
    assert isinstance(item, WorkItemPublic)
    schema, draft = item.form_schema, item.draft
    raw = F.raw_from_post(schema, pairs)
    typed = Typed(action="complete", raw=raw)
    if action.startswith(("add:", "remove:")):
        verb, _, name = action.partition(":")
        if verb == "add":
            row = F.add_row(schema, raw, name)
            typed.focus = _first_leaf(F.fields(schema, raw), row) if row else ""
        else:
            parent = F.remove_row(raw, name)
            typed.focus = f"list:{parent}" if parent is not None else ""
        return item_page(v.request, "work", ref, typed=typed, v=v)
    data, unread = F.data_from_raw(schema, raw)
    if action == "check" or unread:
        typed.errors = _form_errors(v, item_id, schema, draft, data, unread)
        if typed.errors:
            return item_page(v.request, "work", ref, status=422, typed=typed, v=v,
                             refusal=v.t("Some answers need another look: see the fields "
                                         "marked below.") if action == "check" else
                             v.t("The answer does not fit the form: fix the fields marked "
                                 "below."))
        return item_page(v.request, "work", ref, typed=typed, v=v,
                         flash=v.t("The answers fit the form."))
    try:
        if action == "draft":
            work.save_draft(v.uow(), item_id, actor_email=v.me["email"],
                            draft=merge_draft(draft, data) or {})
        else:
            actions.perform(v.uow(), "work", item_id, "complete", actor_email=v.me["email"],
                            data=data)
    except FormInvalid as exc:
        typed.errors = F.conditional_errors(schema, data, F.error_paths(exc.errors)) \
            or {"": str(exc)}
        return item_page(v.request, "work", ref, status=exc.http_status, typed=typed, v=v,
                         refusal=v.t("The answer does not fit the form: fix the fields "
                                     "marked below."))
    except MktflowError as exc:
        return item_page(v.request, "work", ref, status=exc.http_status, typed=typed, v=v,
                         refusal=v.refusal(exc))
    return v.redirect(f"/work/{item_id}?{urlencode({'done': _DONE[action], 'ref': ref})}")


def _links(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _act(v: Visit, kind: str, item_id: int, action: str, p: dict[str, str]) -> None:
    """Run one action of an item's page through the engine's table of item actions (the one
    every door runs), with the inputs the action takes read from the posted form."""
    assert v.me is not None
    me, u = v.me["email"], v.uow()
    reason = p.get("reason", "").strip() or None
    if action == "end-process":
        processes.cancel_process(
            u, show_item(u, f"{'W' if kind == 'work' else 'H'}-{item_id}", reader=me)
            .process_id or 0, actor_email=me, reason=reason)
        return
    note = p.get("note", "").strip()
    data: dict[str, Any] | None = {"note": note} if note else None
    if kind == "handoff" and action == "deliver":
        with u:  # a complaint's handoff: the note is what was done (its act step's answer)
            if complaint_handoffs.moves_case(u, item_id):
                data = {"done": note}
    posted: dict[str, Any] = {
        "to": p.get("to", ""), "text": p.get("text", ""), "links": _links(p.get("links", "")),
        "reason": reason, "data": data}
    actions.perform(u, kind, item_id, action, actor_email=me,
                    **actions.taken(kind, action, posted))


def _input_error(exc: MktflowError, values: dict[str, str]) -> dict[str, str]:
    """A refusal that names one of the posted inputs (``reason: reject needs a reason …``) as
    that input's error, to show beside it: ``{"reason": "reject needs a reason …"}``."""
    said = exc.args[0] if exc.args else None
    if isinstance(said, Phrase) and said.msgid == FIELD:  # ``domain.words.on_field``
        name, sep, message = str(said.values["field"]), ": ", said.values["problem"]
    else:
        name, sep, message = str(exc).partition(": ")
    return {name: message} if sep and isinstance(exc, BadInput) and name in values else {}


async def act_from_page(request: Request, kind: str, reference: str) -> Response:
    """A form of an item's page was posted: run its action, then back to the page (or to the
    list it was posted from)."""
    posted = await _posted_by_member(request)
    if isinstance(posted, Response):
        return posted
    v, _, pairs = posted
    digits = reference.split("-")[-1].lstrip("WwHh")
    if not digits.isdigit():
        return item_page(request, kind, reference, v=v, status=404,
                         refusal=v.t("%(ref)s is not an item's number", ref=reference))
    item_id = int(digits)
    action = _last(pairs, "action")
    if kind == "work" and (action in ("complete", "check", "draft")
                           or action.startswith(("add:", "remove:"))):
        return await _work_form(v, item_id, action, pairs)
    values = {k: val for k, val in pairs if k not in ("csrf", "action")}
    ref = f"{'W' if kind == 'work' else 'H'}-{item_id}"
    try:
        _act(v, kind, item_id, action, values)
    except MktflowError as exc:
        return item_page(request, kind, ref, status=exc.http_status, refusal=v.refusal(exc), v=v,
                         typed=Typed(action=action, values=values,
                                     input_errors=_input_error(exc, values)))
    back = _local(values.get("next"), f"/{'work' if kind == 'work' else 'handoffs'}/{item_id}")
    glue = "&" if "?" in back else "?"
    return v.redirect(f"{back}{glue}{urlencode({'done': _DONE.get(action, ''), 'ref': ref})}")


@router.post("/work/{item}")
async def work_form(request: Request, item: str) -> Response:
    """The forms of a work item's page."""
    return await act_from_page(request, "work", item)


@router.post("/handoffs/{item}")
async def handoff_form(request: Request, item: str) -> Response:
    """The forms of a handoff's page."""
    return await act_from_page(request, "handoff", item)
