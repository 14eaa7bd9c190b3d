"""mktflow's one exception tree, translated at the edges (CLI exit code, HTTP status, flow failure).

    MktflowError
    ├── Refused                  a business rule says no (CLI exit 1, HTTP 409/403)
    │   ├── TransitionRefused    the action is not allowed from the current state
    │   ├── NotAuthorized        the actor may not do this to this item
    │   └── Conflict             someone else changed the item first
    └── BadInput                 the request itself is wrong (CLI exit 2, HTTP 422/404)
        ├── FormInvalid          submitted data fails the step's form; names the fields
        ├── OrganisationInvalid  an organisation file breaks a rule; names file, entry, rule
        ├── NotFound             no such item, member, department, ...
        └── ConfigError          a setting is wrong or the database cannot be reached
"""

from __future__ import annotations

__all__ = [
    "BadInput",
    "ConfigError",
    "Conflict",
    "FormInvalid",
    "MktflowError",
    "NotAuthorized",
    "NotFound",
    "OrganisationInvalid",
    "Refused",
    "TransitionRefused",
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


class Conflict(Refused):
    """Another command changed the item between read and write."""


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
