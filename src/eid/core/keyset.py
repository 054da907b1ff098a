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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from eid.core.crypto import (
    BLIND_INDEX_RING,
    DATA_RING,
    PERSONAL_DATA_RING,
    FileKeyStore,
    KeyStore,
    signing_key_id,
)
from eid.core.errors import EidError

KeyKind = Literal["data", "secret", "signing", "keyring"]


@dataclass(frozen=True)
class KeySpec:
    name: str
    # data: the AES-256 key; secret: 32 random bytes (HMAC); keyring: versioned 32-byte keys, one
    # current (`eid keys rotate`); signing: a ring of Ed25519 keys, the same file and rotation
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
        ring = keystore.signing_ring(spec.name)
        for kid in ring.keys:
            try:
                public = ring.private_key(kid).public_key()
            except ValueError as exc:  # not a 32-byte Ed25519 private key
                raise EidError(
                    "key %(name)s is not Ed25519", code="KEY_INVALID", params={"name": spec.name}
                ) from exc
            if signing_key_id(public) != kid:
                raise EidError(
                    "key %(key)s of %(name)s is not filed under its own id",
                    code="KEY_INVALID",
                    params={"name": spec.name, "key": kid},
                )


def problems(keystore: KeyStore) -> list[str]:
    """One line per key that is missing or unusable, naming it; empty when all are there."""
    found = []
    for spec in KEYS:
        try:
            load(keystore, spec)
        except EidError as exc:
            found.append(f"{spec.name} ({spec.kind}: {exc.code})")
    return found


def rings(keystore: KeyStore) -> list[dict[str, Any]]:
    """The rotatable keys (keyrings and signing rings) that load: kind, current key, live keys
    (what `eid keys check` reports)."""
    found = []
    for spec in KEYS:
        if spec.kind not in ("keyring", "signing"):
            continue
        try:
            ring = (
                keystore.signing_ring(spec.name)
                if spec.kind == "signing"
                else keystore.keyring(spec.name)
            )
        except EidError:
            continue  # named by `problems`
        found.append(
            {"name": spec.name, "kind": spec.kind, "current": ring.current, "keys": list(ring.keys)}
        )
    return found


def spec_of(name: str) -> KeySpec | None:
    return next((spec for spec in KEYS if spec.name == name), None)


# What still needs a signing key, by ring name: given a key id, the KEY_IN_USE refusal saying
# why it cannot be retired yet (None: nothing). Registered by the domain whose signatures they
# are (`load_key_uses`).
KeyUse = Callable[[Session, str], EidError | None]
_KEY_USES: dict[str, KeyUse] = {}


def key_use(name: str) -> Callable[[KeyUse], KeyUse]:
    def register(check: KeyUse) -> KeyUse:
        _KEY_USES[name] = check
        return check

    return register


def in_use(message: str, *, params: dict[str, Any]) -> EidError | None:
    """A key use's answer: KEY_IN_USE with `message` while `params["count"]` things still need
    the key (`params["key"]`), else None."""
    if not params["count"]:
        return None
    return EidError(message, code="KEY_IN_USE", params=params)


def load_key_uses() -> None:
    """Import the modules that register what their signing keys are still needed for."""
    import eid.authority.service
    import eid.core.audit_chain
    import eid.wallet.keys  # noqa: F401


def signing_key_use(session: Session, name: str, key_id: str) -> EidError | None:
    """Why the signing key `key_id` of `name` must stay, or None when it may be retired."""
    check = _KEY_USES.get(name)
    return check(session, key_id) if check else None


def init_keys(folder: Path) -> tuple[list[str], list[str]]:
    """Make every missing key in `folder` (0700, files 0600) and check the others; never
    replaces one: a new data key would leave everything sealed under the old one unreadable.
    A signing key in its former single file becomes its ring's first key. Returns the names
    (made, kept)."""
    made = [
        spec.name
        for spec in KEYS
        if not (folder / file_of(spec)).exists()
        and not (spec.kind == "signing" and (folder / legacy_file_of(spec)).exists())
    ]
    store = FileKeyStore(folder, generate=True)
    for spec in KEYS:
        load(store, spec)
    return made, [spec.name for spec in KEYS if spec.name not in made]


def file_of(spec: KeySpec) -> str:
    """The file FileKeyStore keeps a key in."""
    if spec.kind == "data":
        return "data.key"
    if spec.kind in ("keyring", "signing"):
        return f"{spec.name}.keyring.json"
    return f"{spec.name}.secret"


def legacy_file_of(spec: KeySpec) -> str:
    """A signing key's former single file, imported as its ring's first key on first use."""
    return f"{spec.name}.ed25519.pem"
