"""One error type with a stable code, rendered as {"error": {"code", "message", "details"}}.

The message is a gettext message id of the `messages` domain (the English text, with named
`%(name)s` placeholders whose values are passed separately as `params`), so the error handler
can answer in the caller's language; `message` itself is the English text, for logs and the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eid.i18n import FALLBACK, gettext


class EidError(Exception):
    """Base of every error a user can see. `code` is stable: clients branch on it."""

    code: str = "INTERNAL_ERROR"
    status: int = 500
    # A refusal that must still leave a trace (a failed attempt counted towards a lockout):
    # the transaction boundary commits what the service wrote before raising, instead of rolling
    # back. Services set it only after writing nothing but that bookkeeping.
    keep_writes: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        keep_writes: bool | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.msgid = message
        self.params: dict[str, Any] = dict(params or {})
        self.message = self.message_in(FALLBACK)
        super().__init__(self.message)
        if keep_writes is not None:
            self.keep_writes = keep_writes
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details: dict[str, Any] = details or {}

    def message_in(self, language: str) -> str:
        """The message in `language` (a supported language; anything else reads English)."""
        try:
            return gettext(language, self.msgid, **self.params)
        except (KeyError, ValueError, TypeError):
            # A raise site whose params do not fit its text must still report the error itself.
            return self.msgid

    def to_dict(self, language: str = FALLBACK) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message_in(language),
                "details": self.details,
            }
        }


class ValidationFailed(EidError):
    code = "VALIDATION_FAILED"
    status = 422


class NotFound(EidError):
    code = "NOT_FOUND"
    status = 404


class Conflict(EidError):
    code = "CONFLICT"
    status = 409


class IllegalTransition(EidError):
    code = "ILLEGAL_TRANSITION"
    status = 409


class Unauthorized(EidError):
    code = "UNAUTHORIZED"
    status = 401


class Forbidden(EidError):
    code = "FORBIDDEN"
    status = 403


class BiometricError(EidError):
    """A biometric sample could not be used (no face, unreadable print...)."""

    code = "BIOMETRIC_UNUSABLE"
    status = 422
