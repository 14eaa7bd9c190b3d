"""mktflow's one exception tree, translated at the edges (CLI exit code, HTTP status, flow failure).

    MktflowError                 base; a message for a person        exit  HTTP
    ├── Refused                  a business rule says no              1     409
    │   ├── TransitionRefused    not allowed from the current state   1     409
    │   ├── NotAuthorized        the actor may not do this            1     403
    │   ├── NotAuthenticated     no valid credential: who acts unknown 1    401
    │   ├── TooManyRequests      asked too often: wait, then again    1     429 + Retry-After
    │   ├── Conflict             someone else changed the item first  1     409
    │   └── FlowChanged          new flow code refuses a waiting run's answer 1  409
    ├── BadInput                 the request itself is wrong          2     422
    │   ├── FormInvalid          data fails the step's form (fields)  2     422
    │   ├── OrganisationInvalid  an organisation file breaks a rule   2     422
    │   ├── PlanFileInvalid      a plan file breaks a rule            2     422
    │   ├── NotFound             no such item, member, department     2     404
    │   └── ConfigError          a bad setting or unreachable database 2    422 (/health: 503)
    │       └── DatabaseUnreachable  cannot connect / connection lost:   2    422 (/health: 503)
    │                                may come back (services wait for it)
    ├── Unavailable              the database is busy: try again        1     503 + Retry-After
    │   └── DatabaseTimeout      the database did not answer in time    1     503 + Retry-After
    ├── OutcomeUnknown           a change was sent, its answer lost     3     503
    ├── StepCancelled            a flow's step was withdrawn: the flow run fails with it
    └── DeliveryFailed           one send failed; the relay retries it unless ``permanent``

Every HTTP answer is an RFC 9457 problem+json body (``mktflow.api._problems``); a flow fails
with the error's message. ``StepCancelled`` and ``DeliveryFailed`` stay inside flows and the
relay; their exit code and status apply only if one ever reaches a door. Through the API a
``ConfigError`` is the server's own problem: it answers 503 and the message (which may name a
file or a host) goes to the server log only. ``OutcomeUnknown`` is the one error after which
the change may have been made: it names what to look at before trying again.
"""

from __future__ import annotations

__all__ = [
    "BadInput",
    "ConfigError",
    "Conflict",
    "DatabaseTimeout",
    "DatabaseUnreachable",
    "DeliveryFailed",
    "FlowChanged",
    "FormInvalid",
    "MktflowError",
    "NotAuthenticated",
    "NotAuthorized",
    "NotFound",
    "OrganisationInvalid",
    "OutcomeUnknown",
    "PlanFileInvalid",
    "Refused",
    "StepCancelled",
    "TooManyRequests",
    "TransitionRefused",
    "Unavailable",
]


class MktflowError(Exception):
    """Base of every error mktflow raises on purpose; its message is meant for a person."""

    exit_code = 2
    http_status = 400


class Refused(MktflowError):
    """A business rule refuses the command."""

    exit_code = 1
    http_status = 409


class TransitionRefused(Refused):
    """The action is not allowed from the item's current state."""


class NotAuthorized(Refused):
    """The actor may not perform the action on this item."""

    http_status = 403


class NotAuthenticated(Refused):
    """No credential proves who is acting.

    A token or sign-in code that is missing, unknown, expired, revoked or used, or one of a
    member who is no longer active. The message never says which (nor echoes the credential),
    so it reveals nothing to someone guessing.
    """

    http_status = 401


class TooManyRequests(Refused):
    """Asked too often in too short a time (one-time sign-in links); ``retry_after_s`` says
    when the same request will be taken again, in whole seconds (at least 1)."""

    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class Conflict(Refused):
    """Another command changed the item between read and write."""


class FlowChanged(Refused):
    """The flow code deployed while a run waited checks a step differently from the code that
    created it (its form changed): the run cannot go on on it (``mktflow process migrate``)."""


class BadInput(MktflowError):
    """The command's input is wrong; nothing was attempted."""

    exit_code = 2
    http_status = 422


class FormInvalid(BadInput):
    """Submitted data does not satisfy the step's form."""

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class OrganisationInvalid(BadInput):
    """An organisation file breaks a rule; the message names the file, the entry and the rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class NotFound(BadInput):
    """The referenced object does not exist."""

    http_status = 404


class ConfigError(BadInput):
    """A setting is wrong or the database it names cannot be reached."""


class DatabaseUnreachable(ConfigError):
    """The database could not be reached or the connection was lost (refused, reset, a server
    restarting), not a wrong password or a missing database: it may come back by itself.

    A ``ConfigError`` at the doors (a command exits 2, the API answers 503), so one-shot
    commands say what they said before; long-running services (``mktflow outbox relay``) wait
    for the database and carry on instead of stopping.
    """


class PlanFileInvalid(BadInput):
    """A plan file breaks a rule; the message names the file, the row or entry and the field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Unavailable(MktflowError):
    """The database is busy with another writer; the same command may succeed shortly."""

    exit_code = 1
    http_status = 503

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DatabaseTimeout(Unavailable):
    """The database did not answer within its deadline (a stalled network or server); nothing
    was changed by the command that waited, and it may be tried again shortly.

    The message names the deadline and its setting (``MKTFLOW_DB_CONNECT_TIMEOUT_S`` or
    ``MKTFLOW_DB_STATEMENT_TIMEOUT_S``), never the database's host.
    """


class OutcomeUnknown(MktflowError):
    """A change was sent to the database but its answer was lost, and the database could not
    be asked whether it was recorded: it may or may not have been made.

    ``refs`` are the items the change was about (``["W-12"]``; empty when it named none), so a
    door can say where to look (``mktflow work show W-12``, ``GET /work/12``) before anyone
    tries again. Exit 3; HTTP 503 with problem type ``outcome-unknown``.
    """

    exit_code = 3
    http_status = 503

    def __init__(self, message: str, *, refs: list[str] | None = None) -> None:
        super().__init__(message)
        self.refs = list(refs or [])


class StepCancelled(MktflowError):
    """The step was cancelled (a head withdrew it); the flow cannot go on without it."""


class DeliveryFailed(MktflowError):
    """One attempt to send a message failed; ``permanent`` when retrying cannot help.

    ``busy``: the receiver as a whole asks to be left alone (HTTP 429/503, SMTP 421, no answer
    in time, cannot be reached), so every message to it waits, not only this one.
    ``retry_after_s``: how long it asked to wait (seconds, from its Retry-After), if it said.
    """

    exit_code = 1
    http_status = 502

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after_s: float | None = None, busy: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s
        self.busy = busy
