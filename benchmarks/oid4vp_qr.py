"""The OpenID4VP verifier page's QR (`openid4vp://?client_id=x509_hash:…&request_uri=…`, by
reference): its version and module size on the counter's screen, and whether a phone camera at
arm's length still reads it (simulated: the code downscaled to the camera's pixels a module,
blurred, then decoded by OpenCV as tests/support.py `decode_qr` does).

Run: .venv/bin/python benchmarks/oid4vp_qr.py [--issuer https://eid.example.vn]

Camera model: 1920 px across a 65° horizontal field of view (an ordinary phone's main camera in
QR mode), held `distance` cm from the screen. The page draws the code up to 420 CSS px wide (a
counter's screen), the column's width on a phone (about 326 CSS px at 390); a CSS px is about
0.164 mm on a phone (390 CSS px across 6.4 cm) and 0.265 mm on a desktop screen (96 dpi).
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
from pathlib import Path
from urllib.parse import urlencode

import segno

from eid.wallet import sdjwt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.wallet.qr_camera import SCREENS, camera_px_per_module, simulated_read


def wallet_url(issuer: str) -> str:
    cid = "x509_hash:" + sdjwt.b64url(hashlib.sha256(secrets.token_bytes(400)).digest())
    uri = f"{issuer.rstrip('/')}/oid4vp/request/{secrets.token_urlsafe(16)}"
    return "openid4vp://?" + urlencode({"client_id": cid, "request_uri": uri}, safe=":/")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issuer", default="https://eid.example.vn")
    parser.add_argument("--samples", type=int, default=40, help="random requests per distance")
    args = parser.parse_args()
    urls = [wallet_url(args.issuer) for _ in range(args.samples)]
    url = urls[0]
    code = segno.make(url, error="m", micro=False, boost_error=False)
    side = int(code.symbol_size(scale=1, border=4)[0])
    print(
        f"payload {len(url)} bytes, version {code.version}-{code.error}, "
        f"{side - 8} modules (+4 quiet zone a side)"
    )
    for screen, (mm, css_px) in SCREENS.items():
        module_mm = css_px * mm / side
        for cm in (30, 45, 60, 80):
            px = camera_px_per_module(module_mm, cm)
            print(
                f"  {screen:7s} {css_px} CSS px ({css_px / side:.1f}/module) at {cm} cm: "
                f"{module_mm:.2f} mm/module, {px:.2f} camera px/module, "
                f"read {sum(simulated_read(u, px) for u in urls)}/{len(urls)}"
            )


if __name__ == "__main__":
    main()
