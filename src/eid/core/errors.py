"""One error type with a stable code, rendered as {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any


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
    ) -> None:
        super().__init__(message)
        if keep_writes is not None:
            self.keep_writes = keep_writes
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


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
