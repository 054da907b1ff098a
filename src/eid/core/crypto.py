"""Key store port and the cryptography built on it: AES-GCM at rest, Ed25519 signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eid.core.errors import EidError
from eid.core.settings import Settings, get_settings


class KeyStore(Protocol):
    """Where keys live: an HSM or KMS in production, files in development."""

    def data_key(self) -> bytes: ...
    def signing_key(self, name: str) -> Ed25519PrivateKey: ...
    def secret(self, name: str) -> bytes: ...


class FileKeyStore:
    """Keys as files in one folder (mode 0600). Generates missing keys only when allowed."""

    def __init__(self, folder: Path, *, generate: bool) -> None:
        self.folder = folder
        self.generate = generate
        self._loaded: dict[str, bytes] = {}

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


def seal(plaintext: bytes, *, aad: bytes, keystore: KeyStore | None = None) -> bytes:
    """AES-256-GCM; `aad` binds the ciphertext to its row so blobs cannot be swapped."""
    key = (keystore or get_keystore()).data_key()
    nonce = secrets.token_bytes(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(blob: bytes, *, aad: bytes, keystore: KeyStore | None = None) -> bytes:
    if not blob or blob[0] != 1:
        raise EidError("unknown ciphertext version", code="CIPHERTEXT_INVALID")
    key = (keystore or get_keystore()).data_key()
    return AESGCM(key).decrypt(blob[1:13], blob[13:], aad)


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


def blind_index(value: str, *, keystore: KeyStore | None = None) -> str:
    """Keyed hash for looking up a person by document number without storing it in clear."""
    key = (keystore or get_keystore()).secret("blind-index")
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()
