from __future__ import annotations

import httpx

from eid.notify.ports import DeliveryFailed


class HttpSmsGateway:
    """The operator's gateway: POST {"to", "text", "idempotency_key"}; 2xx means accepted."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, *, to: str, text: str, idempotency_key: str) -> None:
        try:
            response = httpx.post(
                self.url,
                json={"to": to, "text": text, "idempotency_key": idempotency_key},
                headers={"Idempotency-Key": idempotency_key},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(
                f"SMS gateway unreachable ({type(exc).__name__})", permanent=False
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return
        # 429 asks us to slow down and 5xx is the gateway's own trouble: both pass with time.
        # Any other 4xx says this message will never be accepted as it is.
        permanent = 400 <= status < 500 and status != 429
        raise DeliveryFailed(f"SMS gateway answered {status}", permanent=permanent)
