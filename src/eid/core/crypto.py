"""Key store port and the cryptography built on it: AES-GCM at rest, Ed25519 signatures."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eid.core.errors import EidError
from eid.core.settings import Settings, get_settings

SYMMETRIC = "symmetric"  # a keyring's keys: 32 random bytes (AES-256-GCM, HMAC), random ids
ED25519 = "ed25519"  # a signing ring's keys: Ed25519 private keys, ids from the public key


@dataclass(frozen=True)
class Keyring:
    """Versioned keys of one purpose: `current` seals, indexes or signs new values, every key in
    `keys` still opens or verifies what it made, until it is retired once nothing uses it.
    `kind` SYMMETRIC: 32-byte symmetric keys; ED25519: the 32-byte private keys of a signing
    ring, each under `signing_key_id` of its public key."""

    current: str
    keys: dict[str, bytes]
    kind: str = SYMMETRIC

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise EidError(
                "key %(key)s is not in the keyring", code="KEY_MISSING", params={"key": key_id}
            ) from None

    def private_key(self, key_id: str) -> Ed25519PrivateKey:
        if self.kind != ED25519:
            raise EidError(
                "key %(name)s is not Ed25519", code="KEY_INVALID", params={"name": key_id}
            )
        return Ed25519PrivateKey.from_private_bytes(self.key(key_id))

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every live key's public half, by id: what a signature may verify with."""
        return {kid: self.private_key(kid).public_key() for kid in self.keys}


def signing_key_id(public_key: Ed25519PublicKey) -> str:
    """A signing key's id: the first 16 hex digits of sha256 of its raw public key (what audit
    checkpoints have always stored, so a key imported from its former single file keeps it)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _new_key(kind: str) -> tuple[str, bytes]:
    if kind == ED25519:
        private = Ed25519PrivateKey.generate()
        return signing_key_id(private.public_key()), private.private_bytes_raw()
    return secrets.token_hex(4), secrets.token_bytes(32)


# Keyrings of the personal-data columns: one seals (AES-256-GCM), the other computes the blind
# indexes (HMAC-SHA-256); separate keys, so a leaked index key opens nothing.
PERSONAL_DATA_RING = "personal-data"
BLIND_INDEX_RING = "blind-index"
# The keyring of every other sealed value (biometrics, TOTP and client secrets, OIDC keys,
# notification bodies, queued requests): `seal`/`unseal`. Its first key is the former single
# `data.key`, imported under LEGACY_KEY_ID, so what that key sealed still opens.
DATA_RING = "data"
LEGACY_KEY_ID = "data.key"


class KeyStore(Protocol):
    """Where keys live: an HSM or KMS in production, files in development."""

    def data_key(self) -> bytes: ...
    def signing_key(self, name: str) -> Ed25519PrivateKey: ...
    def signing_ring(self, name: str) -> Keyring: ...
    def secret(self, name: str) -> bytes: ...
    def keyring(self, name: str) -> Keyring: ...
    def rotate(self, name: str) -> str: ...
    def retire(self, name: str, key_id: str) -> None: ...


class FileKeyStore:
    """Keys as files in one folder (mode 0600). Generates missing keys only when allowed."""

    def __init__(self, folder: Path, *, generate: bool) -> None:
        self.folder = folder
        self.generate = generate
        self._loaded: dict[str, bytes] = {}
        self._rings: dict[str, tuple[tuple[int, int, int], Keyring]] = {}

    def _read_or_create(self, name: str, make: Any) -> bytes:
        # Keys are read once per process: every seal and signature needs one.
        if name not in self._loaded:
            self._loaded[name] = self._load(name, make)
        return self._loaded[name]

    def _load(self, name: str, make: Any) -> bytes:
        path = self.folder / name
        if path.exists():
            return path.read_bytes()
        if not self.generate:
            raise EidError(
                "key %(name)s is missing from the key store",
                code="KEY_MISSING",
                params={"name": name},
            )
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        value: bytes = make()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, value)
        finally:
            os.close(fd)
        return value

    def data_key(self) -> bytes:
        return self._read_or_create("data.key", lambda: secrets.token_bytes(32))

    def secret(self, name: str) -> bytes:
        return self._read_or_create(f"{name}.secret", lambda: secrets.token_bytes(32))

    def _ring_path(self, name: str) -> Path:
        return self.folder / f"{name}.keyring.json"

    def _legacy(self, name: str) -> tuple[str, bytes, str] | None:
        """A key kept in its former single file, as the first key of its ring: (id, key, kind).
        The data ring's is the former `data.key`; a signing key's, `<name>.ed25519.pem`, keeps
        the id derived from its public key, so what it signed still names it."""
        if name == DATA_RING and (self.folder / "data.key").exists():
            return LEGACY_KEY_ID, self.data_key(), SYMMETRIC
        pem = self.folder / f"{name}.ed25519.pem"
        if not pem.exists():
            return None
        try:
            private = serialization.load_pem_private_key(pem.read_bytes(), password=None)
        except ValueError as exc:  # not PEM at all
            raise EidError(
                "key %(name)s is not Ed25519", code="KEY_INVALID", params={"name": name}
            ) from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise EidError("key %(name)s is not Ed25519", code="KEY_INVALID", params={"name": name})
        return signing_key_id(private.public_key()), private.private_bytes_raw(), ED25519

    def keyring(self, name: str) -> Keyring:
        """Re-read when the file changes, so `eid keys rotate` reaches running processes."""
        ring = self._ring(name, SYMMETRIC)
        if ring.kind != SYMMETRIC:  # a signing ring's private keys seal nothing
            raise EidError(
                "key %(name)s is not an AES-256 key", code="KEY_INVALID", params={"name": name}
            )
        return ring

    def signing_ring(self, name: str) -> Keyring:
        """The Ed25519 keys of `name`: the current one signs, every one verifies until retired.
        Re-read when the file changes, like every keyring."""
        ring = self._ring(name, ED25519)
        if ring.kind != ED25519:
            raise EidError("key %(name)s is not Ed25519", code="KEY_INVALID", params={"name": name})
        return ring

    def _ring(self, name: str, kind: str) -> Keyring:
        """The one loader of every ring; `kind` is what a missing ring is made as."""
        path = self._ring_path(name)
        try:
            stamp = _stamp(path)
        except FileNotFoundError:
            legacy = self._legacy(name)
            if legacy is not None:
                # Not a new key: the existing one, now addressable by id.
                key_id, key, legacy_kind = legacy
                self._write_ring(name, key_id, {key_id: key}, legacy_kind)
                return self._ring(name, kind)
            if not self.generate:
                raise EidError(
                    "keyring %(name)s is missing", code="KEY_MISSING", params={"name": name}
                ) from None
            self._add_key(name, kind)
            stamp = _stamp(path)
        cached = self._rings.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        data = json.loads(path.read_bytes())
        ring = Keyring(
            current=data["current"],
            keys={kid: base64.b64decode(k) for kid, k in data["keys"].items()},
            kind=data.get("kind", SYMMETRIC),
        )
        self._rings[name] = (stamp, ring)
        return ring

    def _write_ring(self, name: str, current: str, keys: dict[str, bytes], kind: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._ring_path(name)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        body: dict[str, Any] = {"kind": kind} if kind != SYMMETRIC else {}
        body["current"] = current
        body["keys"] = {k: base64.b64encode(v).decode() for k, v in keys.items()}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, json.dumps(body, indent=1).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # atomic: a reader sees the old ring or the new one
        self._rings.pop(name, None)

    def _exists(self, name: str) -> bool:
        return self._ring_path(name).exists() or self._legacy(name) is not None

    def rotate(self, name: str) -> str:
        """A new current key of the ring's kind; the older ones stay to open or verify what
        they made."""
        return self._add_key(name, SYMMETRIC)

    def _add_key(self, name: str, kind: str) -> str:
        keys: dict[str, bytes] = {}
        if self._exists(name):
            ring = self._ring(name, kind)
            keys, kind = dict(ring.keys), ring.kind
        key_id, key = _new_key(kind)
        keys[key_id] = key
        self._write_ring(name, key_id, keys, kind)
        return key_id

    def retire(self, name: str, key_id: str) -> None:
        ring = self._ring(name, SYMMETRIC)
        if key_id == ring.current:
            raise EidError("the current key cannot be retired", code="KEY_IN_USE")
        ring.key(key_id)  # KEY_MISSING for an id the ring does not hold
        legacy = self._legacy(name)
        keys = {k: v for k, v in ring.keys.items() if k != key_id}
        self._write_ring(name, ring.current, keys, ring.kind)
        if legacy is not None and legacy[0] == key_id:
            # Retired means gone: the former file goes too (the ring no longer needs it).
            former = "data.key" if name == DATA_RING else f"{name}.ed25519.pem"
            (self.folder / former).unlink(missing_ok=True)
            self._loaded.pop(former, None)

    def signing_key(self, name: str) -> Ed25519PrivateKey:
        """The current key of the signing ring `name`."""
        ring = self.signing_ring(name)
        return ring.private_key(ring.current)


def _stamp(path: Path) -> tuple[int, int, int]:
    """What changes when a ring file is replaced: its inode too (every write is a new file
    renamed over it), so two rotations within one mtime tick are still told apart."""
    st = path.stat()
    return st.st_mtime_ns, st.st_ino, st.st_size


def keystore_from_settings(settings: Settings) -> KeyStore:
    return FileKeyStore(settings.resolved_keys_dir, generate=settings.env != "production")


@lru_cache(maxsize=1)
def get_keystore() -> KeyStore:
    return keystore_from_settings(get_settings())


_SEALED_V1 = 1  # legacy: nonce | ciphertext, under the former data.key (no key id)
_SEALED_V3 = 3  # version | key id length | key id | nonce | ciphertext (2 is core.sealed's)


def seal(plaintext: bytes, *, aad: bytes, keystore: KeyStore | None = None) -> bytes:
    """AES-256-GCM under the data ring's current key, whose id the blob carries (so the key can
    be rotated: `eid keys reseal`); `aad` binds the ciphertext to its row so blobs cannot be
    swapped."""
    ring = (keystore or get_keystore()).keyring(DATA_RING)
    kid = ring.current.encode()
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(ring.key(ring.current)).encrypt(nonce, plaintext, aad)
    return bytes([_SEALED_V3, len(kid)]) + kid + nonce + sealed


def seal_key_id(blob: bytes) -> str:
    """The id of the data-ring key `blob` is sealed under (LEGACY_KEY_ID for the old format)."""
    if blob and blob[0] == _SEALED_V1:
        return LEGACY_KEY_ID
    if len(blob) < 2 or blob[0] != _SEALED_V3:
        raise EidError("unknown ciphertext version", code="CIPHERTEXT_INVALID")
    return blob[2 : 2 + blob[1]].decode()


def unseal(blob: bytes, *, aad: bytes, keystore: KeyStore | None = None) -> bytes:
    kid = seal_key_id(blob)
    start = 1 if blob[0] == _SEALED_V1 else 2 + blob[1]
    key = (keystore or get_keystore()).keyring(DATA_RING).key(kid)
    return AESGCM(key).decrypt(blob[start : start + 12], blob[start + 12 :], aad)


def canonical_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign_message(payload: dict[str, Any], key: Ed25519PrivateKey) -> str:
    return base64.urlsafe_b64encode(key.sign(canonical_json(payload))).decode().rstrip("=")


def verify_message(payload: dict[str, Any], signature: str, public_key: Ed25519PublicKey) -> bool:
    padded = signature + "=" * (-len(signature) % 4)
    try:
        public_key.verify(base64.urlsafe_b64decode(padded), canonical_json(payload))
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_with_ring(payload: dict[str, Any], ring: Keyring) -> str:
    """`KID.SIGNATURE`: signed with the ring's current key, whose id it names (base64url has no
    dot, so a signature made before key ids were carried is told apart by having none)."""
    return f"{ring.current}.{sign_message(payload, ring.private_key(ring.current))}"


def signature_key_id(signature: str) -> str | None:
    """The key id a signature names, None for one made before ids were carried."""
    kid, dot, _ = signature.rpartition(".")
    return kid if dot else None


def verify_with_ring(payload: dict[str, Any], signature: str, ring: Keyring) -> bool:
    """With the live key the signature names; one without a key id (made before rotation was
    possible) with any live key. A retired key's signature verifies with none."""
    keys = ring.public_keys()
    kid = signature_key_id(signature)
    if kid is None:
        return any(verify_message(payload, signature, k) for k in keys.values())
    key = keys.get(kid)
    return key is not None and verify_message(payload, signature.rpartition(".")[2], key)


def hash_token(token: str) -> str:
    """Bearer tokens are stored hashed: a leaked table leaks no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
