"""SD-JWT (RFC 9901) building blocks: disclosures, digests, the compact form, key-binding JWTs.

Our own small code rather than the reference `sd-jwt` library: its verifier skips exp/nbf and
silently ignores disclosures it cannot place, and we need both refused (see verifier.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, OKPKey
from joserfc.jws import JWSRegistry

SD_ALG = "sha-256"
ISSUER_TYP = "dc+sd-jwt"
ACCEPTED_TYPS = ("dc+sd-jwt", "vc+sd-jwt")
KB_TYP = "kb+jwt"
ISSUER_ALGORITHMS = ["EdDSA", "Ed25519"]
MAX_HEADER_BYTES = 8192  # an `x5c` of two P-256 certificates is about 1.5 KiB


def jws_registry(algorithms: list[str]) -> JWSRegistry:
    """joserfc caps a protected header at 512 bytes by default; an `x5c` header needs more."""
    registry = JWSRegistry(algorithms=algorithms)
    registry.max_header_length = MAX_HEADER_BYTES
    return registry


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(text: str) -> str:
    return b64url(hashlib.sha256(text.encode("ascii")).digest())


def make_disclosure(name: str, value: Any) -> str:
    salt = b64url(secrets.token_bytes(16))
    return b64url(json.dumps([salt, name, value], ensure_ascii=False).encode())


def sign_jwt(
    header: dict[str, Any], payload: dict[str, Any], key: OKPKey | ECKey, algorithms: list[str]
) -> str:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, body, key, algorithms=algorithms)


def compact(issuer_jwt: str, disclosures: list[str], kb_jwt: str = "") -> str:
    return "~".join([issuer_jwt, *disclosures]) + "~" + kb_jwt


def sd_hash(issuer_jwt: str, disclosures: list[str]) -> str:
    """The hash a KB-JWT signs: the presentation up to and including the last '~'."""
    return digest(compact(issuer_jwt, disclosures))


def split(presentation: str) -> tuple[str, list[str], str]:
    parts = presentation.split("~")
    if len(parts) < 2:
        raise ValueError("not an SD-JWT: no '~' separator")
    return parts[0], parts[1:-1], parts[-1]


def key_binding_jwt(
    holder_key: OKPKey | ECKey,
    *,
    issuer_jwt: str,
    disclosures: list[str],
    aud: str,
    nonce: str,
    iat: int,
) -> str:
    """What the holder's device signs when presenting (used by the wallet app and tests)."""
    alg = "ES256" if isinstance(holder_key, ECKey) else "EdDSA"
    payload = {"iat": iat, "aud": aud, "nonce": nonce, "sd_hash": sd_hash(issuer_jwt, disclosures)}
    return sign_jwt({"alg": alg, "typ": KB_TYP}, payload, holder_key, [alg])


def present(
    credential: str,
    holder_key: OKPKey | ECKey,
    *,
    reveal: list[str],
    aud: str,
    nonce: str,
    iat: int,
) -> str:
    """Keep only the disclosures of the named claims, then bind the presentation to the device."""
    issuer_jwt, disclosures, _ = split(credential)
    kept = [d for d in disclosures if json.loads(b64url_decode(d))[1] in reveal]
    kb = key_binding_jwt(
        holder_key, issuer_jwt=issuer_jwt, disclosures=kept, aud=aud, nonce=nonce, iat=iat
    )
    return compact(issuer_jwt, kept, kb)
