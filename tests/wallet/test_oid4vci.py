"""OpenID for Verifiable Credential Issuance 1.0, clause by clause, over HTTP: issuer metadata
(§12.2), offers by reference with a transaction code (§4.1, §5.1.1), the pre-authorized code
grant (§6.1) with DPoP (RFC 9449), the nonce endpoint (§7), the credential endpoint and its
proofs (§8, Appendix F.1), its errors (§8.3.1.2), audit, a locked account refused."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey
from sqlalchemy import select, text

from eid.authority import service as authority
from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.settings import get_settings
from eid.wallet import oid4vci, sdjwt
from tests.identity.factories import TEST_ACTOR, activate_over_api
from tests.support import code_in, outbox

GRANT = oid4vci.PRE_AUTHORIZED_GRANT
CONFIG = oid4vci.SD_JWT_CONFIGURATION


def _issuer() -> str:
    return get_settings().issuer.rstrip("/")


def _now() -> int:
    return int(clock.now().timestamp())


def _dpop(key: ECKey, method: str, url: str, access_token: str | None = None) -> str:
    payload: dict[str, Any] = {
        "htm": method,
        "htu": url,
        "iat": _now(),
        "jti": secrets.token_hex(8),
    }
    if access_token is not None:
        payload["ath"] = sdjwt.digest(access_token)
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=["ES256"])


def _proof(
    key: ECKey,
    nonce: str | None,
    *,
    typ: str = oid4vci.PROOF_TYP,
    aud: str | None = None,
    iat: int | None = None,
) -> str:
    payload: dict[str, Any] = {"aud": aud or _issuer(), "iat": iat if iat is not None else _now()}
    if nonce is not None:
        payload["nonce"] = nonce
    header = {"typ": typ, "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=["ES256"])


def _account_id(number: str) -> uuid.UUID:
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None
        return account.id


def _offer(api: TestClient) -> tuple[uuid.UUID, dict[str, Any], str]:
    """A holder asks for an offer; returns (account id, offer as a wallet resolves it, tx_code
    from the SMS)."""
    number, token = activate_over_api(api, ECKey.generate_key("P-256"))
    made = api.post(
        "/api/v1/me/wallet/offers",
        json={"credential_configuration_ids": [CONFIG]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["tx_code"] is None and body["credential_offer"] is None
    assert "sms" in body["tx_code_sent_to"]
    link = urlsplit(body["deep_link"])
    assert link.scheme == "openid-credential-offer"
    uri = parse_qs(link.query)["credential_offer_uri"][0]
    assert uri == body["credential_offer_uri"] and uri.startswith(_issuer())
    offer = api.get(urlsplit(uri).path, headers={"Accept-Language": "vi"})
    assert offer.status_code == 200, offer.text
    account_id = _account_id(number)
    with unit_of_work() as db:
        sms = [m for m in outbox(db, account_id, "wallet_offer_tx_code") if m.channel == "sms"]
    assert len(sms) == 1
    return account_id, offer.json(), code_in(sms[0].text)


def _token(
    api: TestClient, offer: dict[str, Any], tx_code: str | None, key: ECKey | None = None
) -> Any:
    code = offer["grants"][GRANT]["pre-authorized_code"]
    form = {"grant_type": GRANT, "pre-authorized_code": code}
    if tx_code is not None:
        form["tx_code"] = tx_code
    headers = {}
    if key is not None:
        headers["DPoP"] = _dpop(key, "POST", f"{_issuer()}/oauth2/token")
    return api.post("/oauth2/token", data=form, headers=headers)


def _nonce(api: TestClient) -> str:
    answer = api.post("/oid4vci/nonce")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    return str(answer.json()["c_nonce"])


def _credential(api: TestClient, access: str, dpop_key: ECKey | None, body: dict[str, Any]) -> Any:
    url = f"{_issuer()}/oid4vci/credential"
    headers = {"Authorization": f"Bearer {access}"}
    if dpop_key is not None:
        headers = {
            "Authorization": f"DPoP {access}",
            "DPoP": _dpop(dpop_key, "POST", url, access),
        }
    return api.post("/oid4vci/credential", json=body, headers=headers)


def _request(proof: str) -> dict[str, Any]:
    return {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}}


def _issuer_payload(api: TestClient, issuer_jwt: str) -> dict[str, Any]:
    """The issuer JWT's claims once its signature verifies: ES256 under the x5c leaf (the
    formats of `eid.wallet.formats`), or EdDSA under the published JWKS (the card before)."""
    header = json.loads(sdjwt.b64url_decode(issuer_jwt.split(".")[0]))
    if "x5c" in header:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        pem = leaf.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key: Any = ECKey.import_key(pem)
        algorithms = ["ES256"]
    else:
        key = OKPKey.import_key(api.get("/api/v1/wallet/issuer/jwks").json()["keys"][0])
        algorithms = ["EdDSA"]
    registry = jws.JWSRegistry(algorithms=algorithms)
    registry.max_header_length = 8192  # an x5c header is larger than joserfc's default
    claims: dict[str, Any] = json.loads(
        jws.deserialize_compact(issuer_jwt, key, algorithms=algorithms, registry=registry).payload
    )
    return claims


def _issued_token(api: TestClient) -> tuple[uuid.UUID, str, ECKey]:
    account_id, offer, tx_code = _offer(api)
    dpop_key = ECKey.generate_key("P-256")
    token = _token(api, offer, tx_code, dpop_key)
    assert token.status_code == 200, token.text
    return account_id, token.json()["access_token"], dpop_key


# ---------------------------------------------------------------- §12.2 metadata


def test_credential_issuer_metadata(api: TestClient) -> None:
    meta = api.get("/.well-known/openid-credential-issuer").json()
    issuer = _issuer()
    assert meta["credential_issuer"] == issuer
    assert meta["authorization_servers"] == [issuer]
    assert meta["credential_endpoint"] == f"{issuer}/oid4vci/credential"
    assert meta["nonce_endpoint"] == f"{issuer}/oid4vci/nonce"
    assert {d["locale"] for d in meta["display"]} == {"vi", "en", "zh", "ko", "ja"}
    card = meta["credential_configurations_supported"][CONFIG]
    assert card["format"] == "dc+sd-jwt" and card["vct"]
    assert card["cryptographic_binding_methods_supported"] == ["jwk"]
    assert card["proof_types_supported"] == {
        "jwt": {"proof_signing_alg_values_supported": ["ES256"]}
    }
    display = card["credential_metadata"]["display"]
    assert {d["locale"] for d in display} == {"vi", "en", "zh", "ko", "ja"}
    claims = {tuple(c["path"]): c["display"] for c in card["credential_metadata"]["claims"]}
    full_name = {d["locale"]: d["name"] for d in claims[("full_name",)]}
    assert full_name["en"] == "Full name" and full_name["vi"] != "Full name"
    server = api.get("/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == issuer
    assert GRANT in server["grant_types_supported"]
    assert server["pre-authorized_grant_anonymous_access_supported"] is True
    assert server["token_endpoint"] == f"{issuer}/oauth2/token"


# ---------------------------------------------------------------- §4.1, §6.1 offer and token


def test_offer_by_reference_then_token_nonce_and_credential(api: TestClient) -> None:
    account_id, offer, tx_code = _offer(api)
    assert offer["credential_issuer"] == _issuer()
    assert offer["credential_configuration_ids"] == [CONFIG]
    tx = offer["grants"][GRANT]["tx_code"]
    assert tx["input_mode"] == "numeric" and tx["length"] == 6
    assert tx["description"] == oid4vci.gettext("vi", oid4vci.TX_CODE_DESCRIPTION)
    dpop_key = ECKey.generate_key("P-256")
    token = _token(api, offer, tx_code, dpop_key)
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    body = token.json()
    assert body["token_type"] == "DPoP" and "refresh_token" not in body
    assert body["scope"] == "eid_residence_card"
    # §6.1: the code works once.
    assert _token(api, offer, tx_code, dpop_key).json()["error"] == "invalid_grant"

    wallet_key = ECKey.generate_key("P-256")
    answer = _credential(
        api, body["access_token"], dpop_key, _request(_proof(wallet_key, _nonce(api)))
    )
    assert answer.status_code == 200, answer.text
    credential = answer.json()["credentials"][0]["credential"]
    issuer_jwt, disclosures, kb = sdjwt.split(credential)
    assert kb == "" and disclosures
    payload = _issuer_payload(api, issuer_jwt)
    # The credential is bound to the proof's key, not the device's.
    assert payload["cnf"]["jwk"] == {
        k: v for k, v in wallet_key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")
    }
    assert payload["iss"] == _issuer()
    with unit_of_work() as db:
        events = db.execute(
            text(
                "SELECT action, details FROM audit_events WHERE subject_id = :id "
                "AND action LIKE 'wallet.%' ORDER BY id"
            ),
            {"id": str(account_id)},
        ).all()
    actions = [e.action for e in events]
    assert "wallet.offer_made" in actions and "wallet.oid4vci_issued" in actions
    issued = next(e.details for e in events if e.action == "wallet.oid4vci_issued")
    assert issued["configuration"] == CONFIG and issued["holder_jkts"] == [wallet_key.thumbprint()]


def test_offer_uri_is_served_once(api: TestClient) -> None:
    _number, token = activate_over_api(api, ECKey.generate_key("P-256"))
    made = api.post(
        "/api/v1/me/wallet/offers", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    path = urlsplit(made.json()["credential_offer_uri"]).path
    assert api.get(path).status_code == 200
    again = api.get(path)
    assert again.status_code == 404 and again.json()["error"] == "not_found"
    assert api.get("/oid4vci/offers/unknown").status_code == 404


def test_tx_code_required_and_three_wrong_codes_end_the_offer(api: TestClient) -> None:
    _, offer, tx_code = _offer(api)
    missing = _token(api, offer, None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = f"{(int(tx_code) + 1) % 10**6:06d}"
    for _ in range(oid4vci.TX_CODE_ATTEMPTS):
        refused = _token(api, offer, wrong)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert _token(api, offer, tx_code).json()["error"] == "invalid_grant"


def test_unknown_code_and_expired_offer_are_invalid_grant(api: TestClient) -> None:
    _, offer, tx_code = _offer(api)
    fake = {"grants": {GRANT: {"pre-authorized_code": "nope"}}}
    assert _token(api, fake, tx_code).json()["error"] == "invalid_grant"
    with unit_of_work() as db:
        db.execute(text("UPDATE wallet_vci_offers SET expires_at = now() - interval '1 second'"))
    assert _token(api, offer, tx_code).json()["error"] == "invalid_grant"


def test_tx_code_is_not_in_any_job_payload(api: TestClient) -> None:
    _, _, tx_code = _offer(api)
    with unit_of_work() as db:
        payloads = db.execute(text("SELECT payload::text FROM jobs")).scalars().all()
    assert payloads and not any(tx_code in p for p in payloads)


def test_bearer_token_without_dpop(api: TestClient) -> None:
    _, offer, tx_code = _offer(api)
    token = _token(api, offer, tx_code).json()
    assert token["token_type"] == "Bearer"
    wallet_key = ECKey.generate_key("P-256")
    answer = _credential(
        api, token["access_token"], None, _request(_proof(wallet_key, _nonce(api)))
    )
    assert answer.status_code == 200, answer.text


# ---------------------------------------------------------------- §8 credential endpoint


def test_dpop_bound_token_needs_its_proof(api: TestClient) -> None:
    _, access, _dpop_key = _issued_token(api)
    wallet_key = ECKey.generate_key("P-256")
    as_bearer = _credential(api, access, None, _request(_proof(wallet_key, _nonce(api))))
    assert as_bearer.status_code == 401
    assert as_bearer.headers["www-authenticate"].startswith("DPoP")
    other = _credential(
        api, access, ECKey.generate_key("P-256"), _request(_proof(wallet_key, _nonce(api)))
    )
    assert other.status_code == 401 and other.json()["error"] == "invalid_dpop_proof"
    no_token = api.post("/oid4vci/credential", json=_request("x"))
    assert no_token.status_code == 401 and "Bearer" in no_token.headers["www-authenticate"]


def test_proof_errors(api: TestClient) -> None:
    _, access, dpop_key = _issued_token(api)
    key = ECKey.generate_key("P-256")

    def error(body: dict[str, Any]) -> str:
        answer = _credential(api, access, dpop_key, body)
        assert answer.status_code == 400, answer.text
        return str(answer.json()["error"])

    assert error(_request(_proof(key, _nonce(api), typ="JWT"))) == "invalid_proof"
    assert error(_request(_proof(key, _nonce(api), aud="https://other.example"))) == "invalid_proof"
    assert error(_request(_proof(key, _nonce(api), iat=_now() - 3600))) == "invalid_proof"
    assert error(_request(_proof(key, None))) == "invalid_nonce"
    assert error(_request(_proof(key, "made-up"))) == "invalid_nonce"
    nonce = _nonce(api)
    assert _credential(api, access, dpop_key, _request(_proof(key, nonce))).status_code == 200
    assert error(_request(_proof(key, nonce))) == "invalid_nonce"  # a nonce answers once
    with unit_of_work() as db:
        db.execute(text("UPDATE wallet_vci_nonces SET expires_at = now() - interval '1 second'"))
    # (every nonce so far is now expired)
    assert error(_request(_proof(key, nonce))) == "invalid_nonce"
    assert error({"credential_configuration_id": "nope", "proofs": {"jwt": ["x"]}}) == (
        "unknown_credential_configuration"
    )
    assert error({"credential_configuration_id": CONFIG}) == "invalid_proof"
    # A batch carries one nonce in all its proofs, each proof for a key of its own.
    two_nonces = {"jwt": [_proof(key, _nonce(api)), _proof(ECKey.generate_key("P-256"), nonce)]}
    assert error({"credential_configuration_id": CONFIG, "proofs": two_nonces}) == "invalid_nonce"
    same = _nonce(api)
    one_key = {"jwt": [_proof(key, same), _proof(key, same)]}
    assert error({"credential_configuration_id": CONFIG, "proofs": one_key}) == "invalid_proof"
    too_many = {"jwt": [_proof(ECKey.generate_key("P-256"), same) for _ in range(11)]}
    assert error({"credential_configuration_id": CONFIG, "proofs": too_many}) == "invalid_proof"
    hs = _proof(key, _nonce(api))
    assert error(_request(hs[:-4] + "AAAA")) == "invalid_proof"


def test_locked_account_gets_no_credential(api: TestClient) -> None:
    account_id, access, dpop_key = _issued_token(api)
    with unit_of_work() as db:
        authority.add_lock_ground(db, account_id, "holder_request", actor=TEST_ACTOR)
    answer = _credential(
        api, access, dpop_key, _request(_proof(ECKey.generate_key("P-256"), _nonce(api)))
    )
    assert answer.status_code == 400 and answer.json()["error"] == "credential_request_denied"
    with unit_of_work() as db:
        refused = db.execute(
            select(text("count(*)"))
            .select_from(text("audit_events"))
            .where(text("action = 'wallet.oid4vci_refused_unusable_account'"))
        ).scalar()
    assert refused == 1


def test_locked_account_offer_code_is_refused(api: TestClient) -> None:
    account_id, offer, tx_code = _offer(api)
    with unit_of_work() as db:
        authority.add_lock_ground(db, account_id, "holder_request", actor=TEST_ACTOR)
    assert _token(api, offer, tx_code).json()["error"] == "invalid_grant"


def test_the_app_itself_as_the_wallet_gets_its_codes(api: TestClient) -> None:
    device = ECKey.generate_key("P-256")
    number, token = activate_over_api(api, device)
    made = api.post(
        "/api/v1/me/wallet/offers",
        json={"for_this_app": True},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert made["tx_code_sent_to"] == [] and len(made["tx_code"]) == 6
    offer = made["credential_offer"]
    token_answer = _token(api, offer, made["tx_code"]).json()
    answer = _credential(
        api, token_answer["access_token"], None, _request(_proof(device, _nonce(api)))
    )
    assert answer.status_code == 200, answer.text
    with unit_of_work() as db:
        assert outbox(db, _account_id(number), "wallet_offer_tx_code") == []


def test_expired_offers_and_nonces_are_purged(api: TestClient) -> None:
    from eid.wallet.tasks import purge_card_links, purge_nonces

    _offer(api)
    _nonce(api)
    with unit_of_work() as db:
        db.execute(text("UPDATE wallet_vci_offers SET expires_at = now() - interval '2 hours'"))
        db.execute(text("UPDATE wallet_vci_nonces SET expires_at = now() - interval '2 hours'"))
        purge_nonces(db, {}, None)
        purge_card_links(db, {}, None)
        left = db.execute(
            text(
                "SELECT (SELECT count(*) FROM wallet_vci_offers)"
                " + (SELECT count(*) FROM wallet_vci_nonces)"
            )
        ).scalar()
    assert left == 0


def test_mdoc_issued_to_the_proof_key(api: TestClient) -> None:
    """§12.2.4 / Appendix A.2: the card as `mso_mdoc`, its IssuerSigned base64url-encoded, the
    MSO's device key the proof's key; the SD-JWT VC is ES256 with x5c and an https vct."""
    import cbor2

    meta = api.get("/.well-known/openid-credential-issuer").json()
    configs = meta["credential_configurations_supported"]
    mdoc = configs[oid4vci.MDOC_CONFIGURATION]
    assert mdoc["format"] == "mso_mdoc" and mdoc["doctype"]
    assert mdoc["credential_signing_alg_values_supported"] == [-7]
    assert configs[CONFIG]["vct"].startswith(("https://", "http://"))
    assert configs[CONFIG]["credential_signing_alg_values_supported"] == ["ES256"]
    _, token = activate_over_api(api, ECKey.generate_key("P-256"))
    made = api.post(
        "/api/v1/me/wallet/offers",
        json={"credential_configuration_ids": [oid4vci.MDOC_CONFIGURATION], "for_this_app": True},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    access = _token(api, made["credential_offer"], made["tx_code"]).json()
    key = ECKey.generate_key("P-256")
    body = {
        "credential_configuration_id": oid4vci.MDOC_CONFIGURATION,
        "proofs": {"jwt": [_proof(key, _nonce(api))]},
    }
    answer = _credential(api, access["access_token"], None, body)
    assert answer.status_code == 200, answer.text
    encoded = answer.json()["credentials"][0]["credential"]
    issuer_signed = cbor2.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert set(issuer_signed) >= {"nameSpaces", "issuerAuth"}
    mso = cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value)
    assert mso["docType"] == mdoc["doctype"]
    device_key = mso["deviceKeyInfo"]["deviceKey"]
    assert device_key[-2] == base64.urlsafe_b64decode(key.as_dict(private=False)["x"] + "=")


def test_batch_issuance_one_card_per_key_unlinkable(api: TestClient) -> None:
    """§8.2 with `batch_credential_issuance`: three proofs under one nonce give three cards, each
    bound to its own key and in its own status slot, so two verifiers cannot link them."""
    metadata = api.get("/.well-known/openid-credential-issuer").json()
    assert metadata["batch_credential_issuance"] == {"batch_size": oid4vci.BATCH_SIZE}
    _, access, dpop_key = _issued_token(api)
    nonce = _nonce(api)
    keys = [ECKey.generate_key("P-256") for _ in range(3)]
    body = {
        "credential_configuration_id": CONFIG,
        "proofs": {"jwt": [_proof(k, nonce) for k in keys]},
    }
    answer = _credential(api, access, dpop_key, body)
    assert answer.status_code == 200, answer.text
    cards = [c["credential"] for c in answer.json()["credentials"]]
    payloads = [_issuer_payload(api, sdjwt.split(card)[0]) for card in cards]
    assert [p["cnf"]["jwk"]["x"] for p in payloads] == [k.as_dict()["x"] for k in keys]
    slots = {p["status"]["status_list"]["idx"] for p in payloads}
    assert len(slots) == 3
    # The nonce went with the batch.
    again = _credential(api, access, dpop_key, _request(_proof(keys[0], nonce)))
    assert again.json()["error"] == "invalid_nonce"
