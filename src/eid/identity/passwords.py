"""Password and passcode rules (Decision 5349: 8-20 characters with upper, lower, digit and
symbol; a 6-digit passcode) and their Argon2id hashes."""

from __future__ import annotations

import re

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from eid.core.errors import ValidationFailed

# argon2-cffi's RFC 9106 "low memory" profile: Argon2id, 64 MiB, 3 passes. Memory-hard so a
# stolen table is expensive to attack; its cost is what the login benchmark measures.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)

_PASSCODE = re.compile(r"\d{6}")


def password_problems(password: str) -> list[str]:
    problems = []
    if not 8 <= len(password) <= 20:
        problems.append("length must be 8 to 20 characters")
    if not re.search(r"[A-Z]", password):
        problems.append("needs an upper-case letter")
    if not re.search(r"[a-z]", password):
        problems.append("needs a lower-case letter")
    if not re.search(r"\d", password):
        problems.append("needs a digit")
    if not re.search(r"[^A-Za-z0-9\s]", password):
        problems.append("needs a symbol")
    if re.search(r"\s", password):
        problems.append("must not contain spaces")
    return problems


def check_new_credentials(password: str, passcode: str) -> None:
    problems = password_problems(password)
    if problems:
        raise ValidationFailed(
            "the password does not meet the rules",
            code="WEAK_PASSWORD",
            details={"problems": problems},
        )
    if not _PASSCODE.fullmatch(passcode):
        raise ValidationFailed("the passcode must be 6 digits", code="INVALID_PASSCODE")
    if len(set(passcode)) == 1 or passcode in "0123456789" or passcode in "9876543210":
        raise ValidationFailed("the passcode is too easy to guess", code="INVALID_PASSCODE")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, candidate: str) -> bool:
    try:
        return _hasher.verify(stored_hash, candidate)
    except (VerificationError, InvalidHashError):
        return False
