"""Domain errors: a stable machine code, an English message and its parameters.

The API layer maps the class to an HTTP status and the code to a translated
message; the domain never decides how an error is shown.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal the domain can give."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


class InvalidInput(DomainError):
    """The request itself is malformed or names something impossible."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Conflict(DomainError):
    """The current state does not allow this now (e.g. an illegal transition)."""


class Refused(DomainError):
    """A business rule refuses the request (closed, quota used up)."""
