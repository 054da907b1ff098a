"""Every key eid needs, named in one place.

Production checks them all before it starts (a key found missing only when first used would
mean a 500 at some later request, e.g. the wallet's JWKS), and never makes one: an operator
makes them once, explicitly, with `eid keys init --dir FOLDER`. Development makes each on first
use. A key a domain asks the key store for must be listed here (tests/core/test_keyset.py reads
the source to make sure).

The OpenID Connect signing keys are not files: they live in the database, sealed with the data
ring (`eid.identity.keys`), and `eid oidc rotate-key` makes the first; the start-up check in
`eid.bootstrap.require_keys` covers them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eid.core.crypto import (
    BLIND_INDEX_RING,
    DATA_RING,
    PERSONAL_DATA_RING,
    FileKeyStore,
    KeyStore,
)
from eid.core.errors import EidError

KeyKind = Literal["data", "secret", "signing", "keyring"]


@dataclass(frozen=True)
class KeySpec:
    name: str
    # data: the AES-256 key; secret: 32 random bytes (HMAC); signing: Ed25519; keyring: versioned
    # 32-byte keys, one current (`eid keys rotate`)
    kind: KeyKind
    purpose: str


KEYS: tuple[KeySpec, ...] = (
    KeySpec(
        DATA_RING,
        "keyring",
        "AES-256-GCM keys sealing biometrics, TOTP and client secrets, OIDC private keys, "
        "notification bodies and queued account requests (its first key is the former data.key)",
    ),
    KeySpec(PERSONAL_DATA_RING, "keyring", "AES-256-GCM keys sealing the personal data columns"),
    KeySpec(BLIND_INDEX_RING, "keyring", "HMAC keys of the blind indexes (look-ups)"),
    KeySpec("activation-code", "secret", "derives holders' activation codes"),
    KeySpec("phone-otp", "secret", "derives phone verification codes"),
    KeySpec("officer-csrf", "secret", "binds the officer pages' CSRF token to the session"),
    KeySpec("holder-csrf", "secret", "binds the holder pages' CSRF token to the browser session"),
    KeySpec("passkey-user", "secret", "derives the WebAuthn user handle offered at activation"),
    KeySpec("immigration", "signing", "the immigration authority signs account requests"),
    KeySpec("eid-authority", "signing", "the e-ID authority signs account decisions"),
    KeySpec("wallet-issuer", "signing", "issuer of the e-residence card (SD-JWT VC)"),
    KeySpec("audit-checkpoint", "signing", "signs the audit chain's checkpoints"),
    KeySpec("oid4vp-verifier", "secret", "derives the OpenID4VP verifier's P-256 signing key"),
    KeySpec(
        "oid4vp-verifier-enc", "secret", "derives the key OpenID4VP responses are encrypted to"
    ),
)

_SECRET_BYTES = 32


def load(keystore: KeyStore, spec: KeySpec) -> None:
    """Read one key as its users would; raises EidError (KEY_MISSING, KEY_INVALID)."""
    if spec.kind == "data":
        value = keystore.data_key()
        if len(value) != 32:
            raise EidError(
                "key %(name)s is not an AES-256 key", code="KEY_INVALID", params={"name": spec.name}
            )
    elif spec.kind == "keyring":
        ring = keystore.keyring(spec.name)
        if len(ring.key(ring.current)) != 32:
            raise EidError(
                "key %(name)s is not an AES-256 key", code="KEY_INVALID", params={"name": spec.name}
            )
    elif spec.kind == "secret":
        if len(keystore.secret(spec.name)) < _SECRET_BYTES:
            raise EidError(
                "key %(name)s is shorter than 32 bytes",
                code="KEY_INVALID",
                params={"name": spec.name},
            )
    else:
        try:
            keystore.signing_key(spec.name)
        except ValueError as exc:  # not PEM at all
            raise EidError(
                "key %(name)s is not Ed25519", code="KEY_INVALID", params={"name": spec.name}
            ) from exc


def problems(keystore: KeyStore) -> list[str]:
    """One line per key that is missing or unusable, naming it; empty when all are there."""
    found = []
    for spec in KEYS:
        try:
            load(keystore, spec)
        except EidError as exc:
            found.append(f"{spec.name} ({spec.kind}: {exc.code})")
    return found


def init_keys(folder: Path) -> tuple[list[str], list[str]]:
    """Make every missing key in `folder` (0700, files 0600) and check the others; never
    replaces one: a new data key would leave everything sealed under the old one unreadable.
    Returns the names (made, kept)."""
    made = [spec.name for spec in KEYS if not (folder / file_of(spec)).exists()]
    store = FileKeyStore(folder, generate=True)
    for spec in KEYS:
        load(store, spec)
    return made, [spec.name for spec in KEYS if spec.name not in made]


def file_of(spec: KeySpec) -> str:
    """The file FileKeyStore keeps a key in."""
    if spec.kind == "data":
        return "data.key"
    if spec.kind == "keyring":
        return f"{spec.name}.keyring.json"
    return f"{spec.name}.secret" if spec.kind == "secret" else f"{spec.name}.ed25519.pem"
