"""The applicant's language, end to end over HTTP: consent text, account_issued email and SMS;
errors in the caller's language with the same stable code."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.procedure.conftest import status_in, tk01
from tests.support import Peers

CONSENT = "2025-07-v1"

# Per language: a phrase of its consent text, of the notice that the Vietnamese text prevails
# (None for Vietnamese, the original), and the words for "activation code" in the message.
PHRASES = {
    "vi": ("Tôi đồng ý để cơ quan quản lý xuất nhập cảnh", None, "Mã kích hoạt"),
    "ko": ("동의합니다", "베트남어 원문이 우선합니다", "활성화 코드"),
    "zh": ("本人同意", "以越南语原文为准", "激活码"),
    "ja": ("同意します", "ベトナム語原文が優先します", "有効化コード"),
}


@pytest.mark.parametrize("language", sorted(PHRASES))
def test_applicant_reads_consent_and_account_issued_in_the_chosen_language(
    language: str,
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    smtp, sms = peers
    consent_phrase, notice, activation = PHRASES[language]
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="M2345678" + str(sorted(PHRASES).index(language)),
        portrait=faces / "df02_deepface_img22.jpg",
        fingers={2: prints / "pyfnprint_001_1.png", 7: prints / "pyfnprint_002_1.png"},
    )
    officer = make_officer("officer")
    r = officer.post("/api/v1/applications", json=tk01(person, language=language))
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = officer.put(
        f"/api/v1/applications/{app_id}/portrait",
        content=(faces / "df02_deepface_img23.jpg").read_bytes(),
    )
    assert r.status_code == 200 and r.json()["acceptable"], r.text
    for position, image in {2: "pyfnprint_001_2.png", 7: "pyfnprint_002_2.png"}.items():
        r = officer.put(
            f"/api/v1/applications/{app_id}/fingerprints/{position}",
            content=(prints / image).read_bytes(),
        )
        assert r.status_code == 200 and r.json()["acceptable"], r.text
    officer.post(f"/api/v1/applications/{app_id}/verification")
    assert status_in(officer, app_id, "verified", "in_review", "rejected")["status"] == "verified"

    # The text shown to the applicant, in the application's language.
    r = officer.get(f"/api/v1/consent-texts/{CONSENT}", params={"language": language})
    assert r.status_code == 200, r.text
    shown = r.json()
    assert (shown["version"], shown["language"]) == (CONSENT, language)
    assert consent_phrase in shown["text"]
    assert "69/2024" in shown["text"]
    if notice is None:
        assert "bản dịch" not in shown["text"]
    else:
        assert notice in shown["text"]
    r = officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": CONSENT},
    )
    assert r.status_code == 200, r.text
    r = officer.post(f"/api/v1/applications/{app_id}/submission")
    assert r.status_code == 200, r.text

    issued = status_in(officer, app_id, "issued", "rejected")
    assert issued["status"] == "issued"
    number = issued["eid_number"]
    text = sms.inbox.wait_for(lambda m: number in m["text"])["text"]
    mail = smtp.inbox.wait_for(lambda m: number in m.text)
    for message in (text, mail.text):
        assert activation in message, message
        # The activation code follows its label (after a colon of the language's own kind).
        assert re.search(re.escape(activation) + r"\W{1,3}\d{8}\b", message), message
    # The eid app's activation page, by link: in the email, and in the SMS (within two UCS-2
    # parts for an issuer of ordinary length: templates.SMS_BUDGET).
    assert "eid" in mail.text and "/app/activate" in mail.text
    assert "/app/activate" in text, text
    assert mail.subject != "Your e-ID account has been created"


def test_an_invalid_tk01_is_refused_in_the_officers_language(
    make_officer: Callable[..., httpx.Client],
) -> None:
    officer = make_officer("officer")
    body = {"full_name": "", "sex": "M", "date_of_birth": "31/01/1990", "phone": "+84912345678"}

    r = officer.post("/api/v1/applications", json=body, headers={"Accept-Language": "vi"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert error["message"].startswith("yêu cầu không hợp lệ; vui lòng kiểm tra các trường: ")
    for field in ("full_name", "date_of_birth", "nationality", "passport", "residence_card"):
        assert field in error["message"]
    problems = {e["field"]: e["problem"] for e in error["details"]["errors"]}
    assert problems["nationality"] == "trường này là bắt buộc"
    assert problems["date_of_birth"] == "phải là ngày theo định dạng YYYY-MM-DD"
    assert problems["full_name"] == "phải có ít nhất 1 ký tự"

    r = officer.post("/api/v1/applications", json=body, headers={"Accept-Language": "en-GB"})
    error = r.json()["error"]
    assert (r.status_code, error["code"]) == (422, "INVALID_REQUEST")
    assert error["message"].startswith("the request is not valid; check: full_name, ")
    problems = {e["field"]: e["problem"] for e in error["details"]["errors"]}
    assert problems["nationality"] == "this field is required"

    # Refused before any dependency runs (not JSON): still answered as to an officer, who
    # reads Vietnamese or English only.
    for language, problem in (
        ("vi", "nội dung yêu cầu không phải là JSON hợp lệ"),
        ("ko-KR,ko;q=0.9", "the body is not valid JSON"),
    ):
        r = officer.post(
            "/api/v1/applications",
            content=b"{not json",
            headers={"Accept-Language": language, "Content-Type": "application/json"},
        )
        error = r.json()["error"]
        assert (r.status_code, error["code"]) == (422, "INVALID_REQUEST")
        assert error["details"]["errors"] == [
            {"field": "body", "type": "json_invalid", "problem": problem}
        ]


def test_domain_errors_keep_their_code_in_the_officers_language(
    make_officer: Callable[..., httpx.Client],
) -> None:
    officer = make_officer("officer")
    unknown = f"/api/v1/applications/{uuid.uuid4()}"
    answers = {
        lang: officer.get(unknown, headers={"Accept-Language": lang}).json()["error"]
        for lang in ("vi-VN,vi;q=0.9", "en", "ko-KR, ko")
    }
    assert {a["code"] for a in answers.values()} == {"APPLICATION_NOT_FOUND"}
    assert answers["vi-VN,vi;q=0.9"]["message"] == "không tìm thấy hồ sơ"
    assert answers["en"]["message"] == "no such application"
    # Officers work in Vietnamese or English: a Korean browser reads English.
    assert answers["ko-KR, ko"]["message"] == "no such application"

    anonymous = httpx.get(str(officer.base_url) + unknown, headers={"Accept-Language": "vi"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "INVALID_TOKEN"
    assert anonymous.json()["error"]["message"] == "cần mã truy cập (bearer token) của cán bộ"


def test_holders_read_errors_in_any_of_the_five_languages(live: str) -> None:
    body = {"eid_number": "000000000000", "password": "x", "passcode": "123456"}
    for language, message in (
        (
            "ja",
            "電子IDの番号または認証情報が正しくないか、試行回数が多すぎます。"
            "しばらく待ってからもう一度お試しください",
        ),
        ("zh-CN", "电子身份号码或凭据错误，或尝试次数过多：请稍候再试"),  # noqa: RUF001
        ("fr", "wrong e-ID number or credentials, or too many attempts: wait and try again"),
    ):
        r = httpx.post(
            f"{live}/api/v1/identity/sessions", json=body, headers={"Accept-Language": language}
        )
        assert r.json()["error"] == {
            "code": "LOGIN_FAILED",
            "message": message,
            "details": {},
        }, r.text
