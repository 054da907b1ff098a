"""Officers read why each check came out as it did in their language (Accept-Language: vi or
en), on every API that shows checks: the application, the refusal, the person's profile. The
run keeps each reason as a message; a check kept before that shows the English it kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from eid.core.database import unit_of_work
from eid.registry.schemas import EventIn
from eid.registry.service import ReferenceRegistry, record_event
from tests.procedure.conftest import ADMIN
from tests.procedure.test_review import _enrol

REASON = {"purpose": "residency_procedure", "note": "refusal file 12/2026"}
# What the officer reads, per language: the parametrised reasons (a registry status, the fields
# that differ, the number of fingers) with their parameters translated, and a plain one.
READ = {
    "vi": {
        "registry_record": "CSDL xuất nhập cảnh ghi nhận người này là đã rời Việt Nam",
        "identity_data": "khác với CSDL xuất nhập cảnh: ngày sinh; giới tính",
        "fingerprints_1to1": (
            "không ngón nào trong 2 ngón tay được đối chiếu khớp với vân tay lưu trữ"
        ),
        "declared_documents": "chỉ kê khai: CSDL xuất nhập cảnh không có số này để đối chiếu",
    },
    "en": {
        "registry_record": "the immigration database marks the person as having left Viet Nam",
        "identity_data": "differs from the immigration database: date of birth; sex",
        "fingerprints_1to1": "none of the 2 fingers compared matches the file",
        "declared_documents": (
            "declared only: the immigration database holds no such number to compare"
        ),
    },
}
REFUSAL = {
    "vi": (
        "Hồ sơ trong CSDL quốc gia về xuất nhập cảnh: " + READ["vi"]["registry_record"] + "; "
        "Thông tin nhân thân: " + READ["vi"]["identity_data"]
    ),
    "en": (
        "Record in the immigration database: " + READ["en"]["registry_record"] + "; "
        "Personal data: " + READ["en"]["identity_data"]
    ),
}


def _reasons(checks: list[dict[str, Any]]) -> dict[str, str | None]:
    return {c["name"]: c["reason"] for c in checks}


@pytest.fixture
def refused(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
) -> tuple[httpx.Client, dict[str, Any]]:
    """An application refused on several counts: the person has left Viet Nam, TK01 gives
    another date of birth and sex, neither finger matches the file, and the tax code it declares
    is not on record. Its officer, and the application as first read (no Accept-Language)."""
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="R60000006",
        name="HOANG ANNA",
        nationality="DEU",
        portrait=faces / "df02_deepface_img22.jpg",
        fingers={2: prints / "pyfnprint_001_1.png", 7: prints / "pyfnprint_002_1.png"},
    )
    with unit_of_work() as session:
        record_event(session, EventIn(passport_number="R60000006", kind="exit"), actor=ADMIN)
    born = dt.date.fromisoformat(person["date_of_birth"]) - dt.timedelta(days=365)
    officer = make_officer("officer")
    application = _enrol(
        officer,
        dict(person, date_of_birth=born.isoformat(), sex="F"),
        faces / "df02_deepface_img23.jpg",
        {2: prints / "pyfnprint_003_2.png", 7: prints / "pyfnprint_004_2.png"},
    )
    assert application["status"] == "rejected", application["checks"]
    return officer, application


@pytest.mark.parametrize("language", ["vi", "en"])
def test_check_reasons_and_the_refusal_read_in_the_officers_language(
    language: str,
    refused: tuple[httpx.Client, dict[str, Any]],
    make_officer: Callable[..., httpx.Client],
) -> None:
    officer, application = refused
    path = f"/api/v1/applications/{application['id']}"
    header = {"vi": "vi-VN,vi;q=0.9,en;q=0.5", "en": "en-GB"}[language]
    shown = officer.get(path, headers={"Accept-Language": header}).json()
    assert READ[language].items() <= _reasons(shown["checks"]).items()
    assert shown["rejection_code"] == "VERIFICATION_FAILED"
    assert shown["rejection_reason"] == REFUSAL[language]

    # The person's profile shows the same checks, in the supervisor's language.
    supervisor = make_officer("supervisor")
    with unit_of_work() as session:
        record = ReferenceRegistry(session).find_by_passport("R60000006")
        assert record is not None
    opened = supervisor.post(
        "/api/v1/profiles/opening",
        json={"person_ref": record.person_ref} | REASON,
        headers={"Accept-Language": header},
    )
    assert opened.status_code == 200, opened.text
    [profiled] = opened.json()["applications"]
    assert READ[language].items() <= _reasons(profiled["checks"]).items()


def test_reasons_are_kept_in_english_and_other_languages_read_english(
    refused: tuple[httpx.Client, dict[str, Any]],
) -> None:
    officer, application = refused
    # Without Accept-Language, and for a language officers do not work in: English.
    assert READ["en"].items() <= _reasons(application["checks"]).items()
    path = f"/api/v1/applications/{application['id']}"
    shown = officer.get(path, headers={"Accept-Language": "ko"}).json()
    assert READ["en"].items() <= _reasons(shown["checks"]).items()
    # No exception class name, no column name reaches the officer in any reason.
    for language in ("vi", "en"):
        checks = officer.get(path, headers={"Accept-Language": language}).json()["checks"]
        for reason in filter(None, _reasons(checks).values()):
            assert "_" not in reason and "Error" not in reason, reason


def test_a_check_kept_before_reasons_were_messages_shows_its_text(
    refused: tuple[httpx.Client, dict[str, Any]], committed: Engine
) -> None:
    officer, application = refused
    old = "differs from the immigration database: date_of_birth, sex"
    with committed.begin() as conn:
        conn.execute(
            text(
                "UPDATE application_checks SET reason = :old, details = details - 'reason' "
                "WHERE application_id = :id AND name = 'identity_data'"
            ),
            {"old": old, "id": application["id"]},
        )
        kept = conn.execute(
            text("SELECT rejection_reason FROM applications WHERE id = :id"),
            {"id": application["id"]},
        ).scalar_one()
    path = f"/api/v1/applications/{application['id']}"
    shown = officer.get(path, headers={"Accept-Language": "vi"}).json()
    reasons = _reasons(shown["checks"])
    assert reasons["identity_data"] == old
    assert reasons["registry_record"] == READ["vi"]["registry_record"]  # its message: Vietnamese
    # A failed check without its message: the refusal stays as it was kept, in English.
    assert shown["rejection_reason"] == kept == REFUSAL["en"]
