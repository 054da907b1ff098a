"""Verifying a presented e-residence card. Stricter than the reference library on purpose:
every disclosure must be referenced by a digest (a forged or foreign one is refused, not
ignored), exp/nbf/iat are checked, and a key-binding JWT by the `cnf` key is always required
(nonce, audience, freshness and sd_hash)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey

from eid.core import clock
from eid.core.errors import EidError
from eid.i18n import N_
from eid.identity.devices import DEVICE_ALGORITHMS, public_device_key
from eid.wallet import certs, sdjwt, status

LEEWAY = 60  # seconds of clock skew tolerated on exp, nbf and iat
KB_MAX_AGE = 300
STATUS_NAMES = {status.VALID: "valid", status.INVALID: "revoked", status.SUSPENDED: "suspended"}
NOT_VALID = N_("the credential is not valid")
ISSUER_MISMATCH = N_("the credential's issuer is not the one its certificate names")
CHAIN_REFUSED = N_("the issuer's certificate chain does not lead to the eid root")
CERTIFICATE_REVOKED = N_("the certificate that signed the credential is revoked")
STATUS_MESSAGES = {
    status.VALID: N_("the credential is valid"),
    status.INVALID: N_("the credential is revoked"),
    status.SUSPENDED: N_("the credential is suspended"),
}


class PresentationRefused(EidError):
    code = "PRESENTATION_INVALID"
    status = 422


@dataclass(frozen=True)
class VerifiedCard:
    claims: dict[str, Any]  # always-visible claims plus exactly the disclosed ones
    disclosed: list[str] = field(default_factory=list)
    status: str = "valid"


def _refuse(code: str, message: str, **params: object) -> PresentationRefused:
    return PresentationRefused(message, code=code, params=params)


def _verify_jws(
    token: str, key: Any, algorithms: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        obj = jws.deserialize_compact(
            token, key, algorithms=algorithms, registry=sdjwt.jws_registry(algorithms)
        )
        return dict(obj.headers()), json.loads(obj.payload)
    except (JoseError, ValueError) as exc:
        raise _refuse(
            "SIGNATURE_INVALID",
            "a signature does not verify: %(problem)s",
            problem=type(exc).__name__,
        ) from None


def _check_times(payload: dict[str, Any], now: int) -> None:
    exp, nbf = payload.get("exp"), payload.get("nbf")
    if not isinstance(exp, int):
        raise _refuse("CREDENTIAL_NO_EXPIRY", "the credential has no expiry")
    if exp + LEEWAY < now:
        raise _refuse("CREDENTIAL_EXPIRED", "the credential has expired")
    if isinstance(nbf, int) and nbf - LEEWAY > now:
        raise _refuse("CREDENTIAL_NOT_YET_VALID", "the credential is not valid yet")


def _place_disclosures(
    payload: dict[str, Any], disclosures: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """Each disclosure must match one digest of the signed `_sd` list, once; anything else is
    a forgery or belongs to another credential."""
    if payload.get("_sd_alg", "sha-256") != sdjwt.SD_ALG:
        raise _refuse("SD_ALG_UNSUPPORTED", "unsupported digest algorithm")
    digests = payload.get("_sd", [])
    if not isinstance(digests, list) or len(set(digests)) != len(digests):
        raise _refuse("DIGESTS_INVALID", "the credential's digest list is malformed")
    visible = {k: v for k, v in payload.items() if k not in ("_sd", "_sd_alg")}
    seen: set[str] = set()
    names: list[str] = []
    for disclosure in disclosures:
        d = sdjwt.digest(disclosure)
        if d not in digests:
            raise _refuse(
                "DISCLOSURE_UNREFERENCED",
                "a disclosure is not referenced by the credential (forged or foreign)",
            )
        if d in seen:
            raise _refuse("DISCLOSURE_DUPLICATED", "a disclosure appears twice")
        seen.add(d)
        try:
            decoded = json.loads(sdjwt.b64url_decode(disclosure))
        except (ValueError, UnicodeDecodeError):
            raise _refuse("DISCLOSURE_MALFORMED", "a disclosure is not valid JSON") from None
        if not (isinstance(decoded, list) and len(decoded) == 3 and isinstance(decoded[1], str)):
            raise _refuse("DISCLOSURE_MALFORMED", "a disclosure is not [salt, name, value]")
        _, name, value = decoded
        if name in ("_sd", "...", "_sd_alg") or name in visible:
            raise _refuse("DISCLOSURE_MALFORMED", "a disclosure overrides a signed claim")
        visible[name] = value
        names.append(name)
    return visible, names


def _check_key_binding(
    kb_jwt: str,
    payload: dict[str, Any],
    issuer_jwt: str,
    disclosures: list[str],
    *,
    audience: str,
    nonce: str,
    now: int,
) -> None:
    if not kb_jwt:
        raise _refuse("KEY_BINDING_MISSING", "the presentation has no key-binding JWT")
    jwk = (payload.get("cnf") or {}).get("jwk")
    if not isinstance(jwk, dict):
        raise _refuse("KEY_BINDING_MISSING", "the credential names no holder key")
    header, kb = _verify_jws(kb_jwt, public_device_key(jwk), DEVICE_ALGORITHMS)
    if header.get("typ") != sdjwt.KB_TYP:
        raise _refuse("KEY_BINDING_INVALID", "the key-binding JWT has the wrong type")
    if kb.get("aud") != audience or kb.get("nonce") != nonce:
        raise _refuse("KEY_BINDING_INVALID", "the key-binding JWT answers another verifier")
    iat = kb.get("iat")
    if not isinstance(iat, int) or iat > now + LEEWAY or iat < now - KB_MAX_AGE:
        raise _refuse("KEY_BINDING_STALE", "the key-binding JWT is not fresh")
    if kb.get("sd_hash") != sdjwt.sd_hash(issuer_jwt, disclosures):
        raise _refuse("KEY_BINDING_INVALID", "the key-binding JWT signs another presentation")


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        header = json.loads(sdjwt.b64url_decode(token.split(".")[0]))
    except (ValueError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict):
        raise _refuse("PRESENTATION_MALFORMED", "not an SD-JWT presentation")
    return header


def revoked(exc: certs.CertificateRevoked) -> PresentationRefused:
    """The credential's issuing certificate is on the root's CRL: every card it signed is
    refused, whatever its own status."""
    return PresentationRefused(
        CERTIFICATE_REVOKED,
        code="CERTIFICATE_REVOKED",
        details={"serial": format(exc.serial, "x"), "reason": exc.reason},
    )


def issuer_verification_key(
    token: str,
    *,
    issuer_key: OKPKey | KeySet | None,
    root: x509.Certificate | None,
    crl: x509.CertificateRevocationList | None = None,
) -> tuple[OKPKey | KeySet | ECKey, list[str]]:
    """The key the issuer JWT must verify with: with `x5c`, its leaf once the chain leads to the
    pinned `root` (ES256) and is not on the root's `crl`; without, eid's first EdDSA key (cards
    issued before issue 12)."""
    x5c = _unverified_header(token).get("x5c")
    if x5c is not None:
        if root is None or not isinstance(x5c, list):
            raise _refuse("CHAIN_INVALID", CHAIN_REFUSED)
        try:
            public = certs.verify_chain(x5c, root, crl)
        except certs.CertificateRevoked as exc:
            raise revoked(exc) from None
        except certs.ChainRefused as exc:
            raise PresentationRefused(
                CHAIN_REFUSED, code="CHAIN_INVALID", details={"problem": str(exc)}
            ) from None
        return ECKey.import_key(public), [certs.ALG]
    if issuer_key is None:
        raise _refuse("CHAIN_INVALID", CHAIN_REFUSED)
    return issuer_key, sdjwt.ISSUER_ALGORITHMS


def verify_presentation(
    presentation: str,
    *,
    issuer_key: OKPKey | KeySet | None = None,
    root: x509.Certificate | None = None,
    crl: x509.CertificateRevocationList | None = None,
    audience: str,
    nonce: str,
    status_lookup: status.StatusLookup,
) -> VerifiedCard:
    """`root`: the eid Root CA to chain an `x5c` credential to, `crl` its revocation list (a
    revoked issuing certificate: `CERTIFICATE_REVOKED`); `issuer_key`: the EdDSA key (or key
    set, by `kid`) of the cards issued before (no `x5c`). Either may be left out to refuse that
    kind."""
    try:
        issuer_jwt, disclosures, kb_jwt = sdjwt.split(presentation.strip())
    except ValueError:
        raise _refuse("PRESENTATION_MALFORMED", "not an SD-JWT presentation") from None
    key, algorithms = issuer_verification_key(issuer_jwt, issuer_key=issuer_key, root=root, crl=crl)
    header, payload = _verify_jws(issuer_jwt, key, algorithms)
    if header.get("typ") not in sdjwt.ACCEPTED_TYPS:
        raise _refuse("CREDENTIAL_TYPE", "not an SD-JWT VC")
    if "x5c" in header and payload.get("iss") not in certs.issuer_uris(certs.leaf(header["x5c"])):
        raise _refuse("ISSUER_MISMATCH", ISSUER_MISMATCH)
    now = int(clock.now().timestamp())
    _check_times(payload, now)
    claims, names = _place_disclosures(payload, disclosures)
    _check_key_binding(
        kb_jwt, payload, issuer_jwt, disclosures, audience=audience, nonce=nonce, now=now
    )
    check_status(payload.get("status"), status_lookup)
    return VerifiedCard(claims=claims, disclosed=names, status="valid")


def check_status(claim: Any, status_lookup: status.StatusLookup) -> tuple[str, int]:
    """The credential's `status.status_list` reference (SD-JWT VC and mdoc alike) looked up;
    refused unless valid. Returns (uri, idx)."""
    reference = (claim if isinstance(claim, dict) else {}).get("status_list") or {}
    uri, index = reference.get("uri"), reference.get("idx")
    if not isinstance(uri, str) or not isinstance(index, int):
        raise _refuse("STATUS_MISSING", "the credential has no status reference")
    code = status_lookup(uri, index)
    if code != status.VALID:
        raise PresentationRefused(
            STATUS_MESSAGES.get(code, NOT_VALID),
            code="CREDENTIAL_" + STATUS_NAMES.get(code, "invalid").upper(),
            details={"status": STATUS_NAMES.get(code, "unknown")},
        )
    return uri, index
