"""The wallet over HTTP: issuance to the bound device, verifier nonce and verification, status
list, QR; a device rebinding revokes the old device's card."""

from __future__ import annotations

from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from eid.core import clock
from eid.wallet import sdjwt
from tests.identity.factories import (
    PASSCODE,
    PASSWORD,
    activate_over_api,
    sign_nonce,
)


def _holder(api: TestClient) -> tuple[str, ECKey, str]:
    key = ECKey.generate_key("P-256")
    number, token = activate_over_api(api, key)
    return number, key, token


def test_issue_verify_and_qr(api: TestClient) -> None:
    _, key, token = _holder(api)
    issued = api.post("/api/v1/wallet/credentials", headers={"Authorization": f"Bearer {token}"})
    assert issued.status_code == 201, issued.text
    credential = issued.json()["credential"]
    nonce = api.post("/api/v1/wallet/verifier/nonces", json={"audience": "landlord-7"}).json()
    presentation = sdjwt.present(
        credential,
        key,
        reveal=["full_name", "residence_card_expiry"],
        aud="landlord-7",
        nonce=nonce["nonce"],
        iat=int(clock.now().timestamp()),
    )
    result = api.post(
        "/api/v1/wallet/verifications", json={"presentation": presentation, "nonce": nonce["nonce"]}
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert sorted(body["disclosed"]) == ["full_name", "residence_card_expiry"]
    assert "passport_number" not in body["claims"]
    # The nonce answers once.
    again = api.post(
        "/api/v1/wallet/verifications", json={"presentation": presentation, "nonce": nonce["nonce"]}
    )
    assert again.json()["error"]["code"] == "NONCE_INVALID"
    # A QR holds 2953 bytes at most: two claims with the certificate in `x5c` (its Annex B
    # extensions, the CRL point among them) do not fit; one does.
    too_large = api.post("/api/v1/wallet/presentations/qr", json={"presentation": presentation})
    assert too_large.status_code == 422
    assert too_large.json()["error"]["code"] == "PRESENTATION_TOO_LARGE"
    one_claim = sdjwt.present(
        credential,
        key,
        reveal=["residence_card_expiry"],
        aud="landlord-7",
        nonce=nonce["nonce"],
        iat=int(clock.now().timestamp()),
    )
    qr = api.post("/api/v1/wallet/presentations/qr", json={"presentation": one_claim})
    assert qr.headers["content-type"] == "image/png" and qr.content.startswith(b"\x89PNG")
    status_jwt = api.get("/api/v1/wallet/status/1")
    assert status_jwt.headers["content-type"].startswith("application/statuslist+jwt")
    published = api.get("/api/v1/wallet/issuer/jwks").json()["keys"]
    assert [(k["alg"], k["crv"]) for k in published] == [("ES256", "P-256"), ("EdDSA", "Ed25519")]


def test_passcode_session_cannot_receive_the_card(api: TestClient) -> None:
    number, _, _ = _holder(api)
    login = api.post(
        "/api/v1/identity/sessions",
        json={"eid_number": number, "password": PASSWORD, "passcode": PASSCODE},
    ).json()
    refused = api.post(
        "/api/v1/wallet/credentials", headers={"Authorization": f"Bearer {login['access_token']}"}
    )
    assert refused.json()["error"]["code"] == "DEVICE_SESSION_REQUIRED"


def test_device_login_session_receives_the_card(api: TestClient) -> None:
    number, key, _ = _holder(api)
    challenge = api.post("/api/v1/identity/challenges", json={"eid_number": number}).json()
    session = api.post(
        "/api/v1/identity/sessions",
        json={
            "eid_number": number,
            "password": PASSWORD,
            "challenge_id": challenge["challenge_id"],
            "proof": sign_nonce(key, challenge["nonce"]),
        },
    ).json()
    issued = api.post(
        "/api/v1/wallet/credentials", headers={"Authorization": f"Bearer {session['access_token']}"}
    )
    assert issued.status_code == 201
