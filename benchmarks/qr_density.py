"""Density of the e-residence card's QR code: the old payload (a whole SD-JWT presentation) and
the new one (a short link `{issuer}/v/<token>`), each at the error level it is drawn with.

Run: .venv/bin/python benchmarks/qr_density.py [--issuer https://eid.example.vn]

For each: QR version, modules per side, module size in mm when the code is 6 cm wide (quiet zone
of 4 modules included), payload bytes, and whether an ordinary phone camera reads it comfortably
(>= 0.5 mm per module). No database: the presentation is built as `wallet.service` issues one
(same claims, an Ed25519 issuer and device key, a status list reference) and `sdjwt.present`
presents it with a key-binding JWT; the link's token is drawn as the service draws it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import time
from typing import Any

from joserfc.jwk import OKPKey

from eid.wallet import qr, sdjwt
from eid.wallet.service import DEFAULT_CARD_CLAIMS, DISCLOSABLE, VCT

CLAIMS: dict[str, Any] = {
    "eid_number": "084912345671",
    "full_name": "NGUYEN VAN A",
    "birthdate": "1990-01-31",
    "sex": "M",
    "nationality": "KOR",
    "residence_card_number": "TT1234567",
    "residence_card_kind": "TRC",
    "residence_card_expiry": "2027-12-31",
    "passport_number": "M12345678",
}


def presentation(issuer: str, reveal: tuple[str, ...]) -> str:
    issuer_key = OKPKey.generate_key("Ed25519")
    device = OKPKey.generate_key("Ed25519")
    now = int(time.time())
    disclosures = [sdjwt.make_disclosure(n, CLAIMS[n]) for n in DISCLOSABLE]
    payload = {
        "iss": issuer,
        "vct": VCT,
        "iat": now,
        "nbf": now,
        "exp": now + 365 * 86400,
        "cnf": {"jwk": device.as_dict(private=False)},
        "status": {"status_list": {"idx": 48213, "uri": f"{issuer}/api/v1/wallet/status/1"}},
        "_sd_alg": sdjwt.SD_ALG,
        "_sd": sorted(sdjwt.digest(d) for d in disclosures),
    }
    header = {"alg": "EdDSA", "typ": sdjwt.ISSUER_TYP, "kid": "issuer-2026-11"}
    credential = sdjwt.compact(sdjwt.sign_jwt(header, payload, issuer_key, ["EdDSA"]), disclosures)
    return sdjwt.present(
        credential,
        device,
        reveal=list(reveal),
        aud="landlord-42",
        nonce=secrets.token_urlsafe(24),
        iat=now,
    )


def report(name: str, payload: str, error: str) -> qr.QrDensity:
    d = qr.density(payload, error=error)
    verdict = "reads comfortably" if d.readable else "too dense for an ordinary camera"
    print(
        f"{name:<34} version {d.version:>2} ECC {d.error.upper()}  {d.modules:>3} modules  "
        f"{d.mm_per_module:.2f} mm/module at 6 cm  {d.payload_bytes:>5} bytes  {verdict}"
    )
    return d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuer", default="https://eid.example.vn")
    args = parser.parse_args()
    print(f"issuer {args.issuer}; card width {qr.CARD_WIDTH_MM:.0f} mm; {dt.date.today()}")
    old = presentation(args.issuer, DEFAULT_CARD_CLAIMS)
    report("old: SD-JWT presentation (5 claims)", old, "l")
    report("old payload at ECC M", old, "m")
    report("old: all 9 claims", presentation(args.issuer, DISCLOSABLE), "l")
    link = f"{args.issuer.rstrip('/')}/v/{secrets.token_urlsafe(16)}"
    report("new: card link", link, qr.CARD_ERROR)


if __name__ == "__main__":
    main()
