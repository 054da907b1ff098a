"""A Level-1 registration in the app, step by step over HTTP, as the app makes it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import httpx

from eid.registry.mrz import td3
from tests.support import SmsPeer, wait_until

LEVEL1_CONSENT = "2026-11-level1"


def mrz_lines(person: dict[str, Any]) -> list[str]:
    passport = person["passport"]
    return list(
        td3(
            doc_type=passport["type"],
            issuing_state=passport["issuing_state"],
            full_name=person["full_name"],
            number=passport["number"],
            nationality=person["nationality"],
            date_of_birth=dt.date.fromisoformat(person["date_of_birth"]),
            sex=person["sex"],
            expiry_date=dt.date.fromisoformat(passport["expiry_date"]),
        )
    )


def registration_form(person: dict[str, Any], **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        k: person[k] for k in ("full_name", "date_of_birth", "sex", "nationality", "residence_card")
    }
    form["passport"] = person["passport"] | {"mrz": mrz_lines(person)}
    form |= {"phone": "0912 345 678", "email": "holder@example.test", "language": "ko"}
    form.update(changes)
    return form


class Registration:
    """The app's side: the registration's id and its token, sent with every call."""

    def __init__(self, live: str, body: dict[str, Any]) -> None:
        self.id = body["id"]
        self.body = body
        self.client = httpx.Client(
            base_url=live,
            timeout=60,
            headers={"X-Registration-Token": body["registration_token"]},
        )

    def url(self, step: str = "") -> str:
        return f"/api/v1/registrations/{self.id}{step}"

    def get(self) -> dict[str, Any]:
        r = self.client.get(self.url())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def verify_phone(self, sms: SmsPeer, to: str = "+84912345678") -> None:
        seen = len(sms.messages)
        r = self.client.post(self.url("/phone-verification"))
        assert r.status_code == 200, r.text
        message = sms.inbox.wait_for(lambda m: m["to"] == to, after=seen)
        code = re.search(r"\b(\d{6})\b", message["text"])
        assert code is not None, message
        r = self.client.post(self.url("/phone-verification/confirmation"), json={"code": code[1]})
        assert r.status_code == 200, r.text
        assert r.json()["phone_verified"] is True

    def consent(self, by: str = "applicant", language: str = "ko") -> httpx.Response:
        return self.client.post(
            self.url("/consent"),
            json={"by": by, "text_version": LEVEL1_CONSENT, "language": language},
        )

    def selfie(self, image: Path | bytes) -> httpx.Response:
        data = image if isinstance(image, bytes) else image.read_bytes()
        return self.client.put(self.url("/selfie"), content=data)

    def submit(self) -> dict[str, Any]:
        r = self.client.post(self.url("/submission"))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def status_in(self, *wanted: str) -> dict[str, Any]:
        def poll() -> dict[str, Any] | None:
            body = self.get()
            return body if body["status"] in wanted else None

        # Once a second: within the read limit of 60 a minute per registration, however long.
        found: dict[str, Any] = wait_until(poll, every=1.0)
        return found


def start(live: str, form: dict[str, Any]) -> Registration:
    r = httpx.post(f"{live}/api/v1/registrations", json=form, timeout=60)
    assert r.status_code == 201, r.text
    return Registration(live, r.json())


def register(
    live: str,
    person: dict[str, Any],
    selfie: Path,
    sms: SmsPeer,
    sms_to: str = "+84912345678",
    **changes: Any,
) -> Registration:
    """Through to submission: phone, consent, an acceptable selfie, sent."""
    reg = start(live, registration_form(person, **changes))
    reg.verify_phone(sms, to=sms_to)
    assert reg.consent().status_code == 200
    r = reg.selfie(selfie)
    assert r.status_code == 200, r.text
    assert r.json()["acceptable"], r.json()
    reg.submit()
    return reg
