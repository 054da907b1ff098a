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


@dataclass(frozen=True)
class Keyring:
    """Versioned keys of one purpose: `current` seals or indexes new values, every key in `keys`
    still opens what it sealed, until it is retired once nothing uses it."""

    current: str
    keys: dict[str, bytes]

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise EidError(
                "key %(key)s is not in the keyring", code="KEY_MISSING", params={"key": key_id}
            ) from None


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
        self._rings: dict[str, tuple[int, Keyring]] = {}

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

    def keyring(self, name: str) -> Keyring:
        """Re-read when the file changes, so `eid keys rotate` reaches running processes."""
        path = self._ring_path(name)
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            if name == DATA_RING and (self.folder / "data.key").exists():
                # Not a new key: the existing one, now addressable by id (see DATA_RING).
                self._write_ring(name, LEGACY_KEY_ID, {LEGACY_KEY_ID: self.data_key()})
                return self.keyring(name)
            if not self.generate:
                raise EidError(
                    "keyring %(name)s is missing", code="KEY_MISSING", params={"name": name}
                ) from None
            self.rotate(name)
            stamp = path.stat().st_mtime_ns
        cached = self._rings.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        data = json.loads(path.read_bytes())
        ring = Keyring(
            current=data["current"],
            keys={kid: base64.b64decode(k) for kid, k in data["keys"].items()},
        )
        self._rings[name] = (stamp, ring)
        return ring

    def _write_ring(self, name: str, current: str, keys: dict[str, bytes]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._ring_path(name)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        body = {
            "current": current,
            "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()},
        }
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, json.dumps(body, indent=1).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # atomic: a reader sees the old ring or the new one
        self._rings.pop(name, None)

    def rotate(self, name: str) -> str:
        """A new current key; the older ones stay to open what they sealed."""
        path = self._ring_path(name)
        keys: dict[str, bytes] = {}
        if path.exists() or (name == DATA_RING and (self.folder / "data.key").exists()):
            keys = dict(self.keyring(name).keys)
        key_id = secrets.token_hex(4)
        keys[key_id] = secrets.token_bytes(32)
        self._write_ring(name, key_id, keys)
        return key_id

    def retire(self, name: str, key_id: str) -> None:
        ring = self.keyring(name)
        if key_id == ring.current:
            raise EidError("the current key cannot be retired", code="KEY_IN_USE")
        keys = {k: v for k, v in ring.keys.items() if k != key_id}
        self._write_ring(name, ring.current, keys)
        if name == DATA_RING and key_id == LEGACY_KEY_ID:
            # Retired means gone: the former file goes too (the ring no longer needs it).
            (self.folder / "data.key").unlink(missing_ok=True)
            self._loaded.pop("data.key", None)

    def signing_key(self, name: str) -> Ed25519PrivateKey:
        pem = self._read_or_create(
            f"{name}.ed25519.pem",
            lambda: Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise EidError("key %(name)s is not Ed25519", code="KEY_INVALID", params={"name": name})
        return key


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


def hash_token(token: str) -> str:
    """Bearer tokens are stored hashed: a leaked table leaks no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
