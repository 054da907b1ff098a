"""Password and passcode rules (Decision 5349: 8-20 characters with upper, lower, digit and
symbol; a 6-digit passcode) and their Argon2id hashes."""

from __future__ import annotations

import re

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from eid.core.errors import ValidationFailed
from eid.i18n import N_, Msgid

# Argon2id at the OWASP Password Storage Cheat Sheet's first setting (19 MiB, 2 passes, 1 lane).
# RFC 9106's 64 MiB x 3 x 4 profile ran at 4 verifications/s on a 2-vCPU host: a login (password
# and passcode) would take half a second of CPU and make logins an easy denial of service.
# Parameters live in each hash, so raising them later only needs a rehash at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)

_PASSCODE = re.compile(r"\d{6}")


def password_problems(password: str) -> list[Msgid]:
    """What the password lacks, each a message id (the English text is also the stable detail)."""
    problems = []
    if not 8 <= len(password) <= 20:
        problems.append(N_("length must be 8 to 20 characters"))
    if not re.search(r"[A-Z]", password):
        problems.append(N_("needs an upper-case letter"))
    if not re.search(r"[a-z]", password):
        problems.append(N_("needs a lower-case letter"))
    if not re.search(r"\d", password):
        problems.append(N_("needs a digit"))
    if not re.search(r"[^A-Za-z0-9\s]", password):
        problems.append(N_("needs a symbol"))
    if re.search(r"\s", password):
        problems.append(N_("must not contain spaces"))
    return problems


def check_new_credentials(password: str, passcode: str) -> None:
    check_new_password(password)
    check_new_passcode(passcode)


def check_new_password(password: str) -> None:
    problems = password_problems(password)
    if problems:
        raise ValidationFailed(
            "the password does not meet the rules: %(problems)s",
            code="WEAK_PASSWORD",
            details={"problems": [str(p) for p in problems]},
            params={"problems": problems},
        )


def check_new_passcode(passcode: str) -> None:
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
