"""Error messages in the caller's language: the code stays, the message and problems translate."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eid.core.errors import IllegalTransition, NotFound
from eid.core.web import validation_error_body
from eid.i18n import N_


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=5)
    born: dt.date
    count: int = Field(ge=1)
    by: Literal["applicant", "guardian"]
    code: str = Field(pattern=r"^[A-Z]{3}$")


def _errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as raised:
        _Form.model_validate(data)
    return [{**e, "loc": ("body", *e["loc"])} for e in raised.value.errors()]


def test_each_field_gets_a_problem_in_the_callers_language() -> None:
    errors = _errors(
        {"name": "abcdefg", "born": "31/01/1990", "count": 0, "by": "friend", "x": 1, "code": "a"}
    )
    body = validation_error_body(errors, "vi")["error"]
    assert body["code"] == "INVALID_REQUEST"
    problems = {e["field"]: (e["type"], e["problem"]) for e in body["details"]["errors"]}
    assert problems == {
        "name": ("string_too_long", "không được quá 5 ký tự"),
        "born": ("date_from_datetime_parsing", "phải là ngày theo định dạng YYYY-MM-DD"),
        "count": ("greater_than_equal", "phải lớn hơn hoặc bằng 1"),
        "by": ("literal_error", "phải là một trong các giá trị: 'applicant', 'guardian'"),
        "code": ("string_pattern_mismatch", "không đúng định dạng"),
        "x": ("extra_forbidden", "không được phép có trường này"),
    }
    assert body["message"] == (
        "yêu cầu không hợp lệ; vui lòng kiểm tra các trường: name, born, count, by, code, x"
    )
    ja = validation_error_body(_errors({"name": "a"}), "ja")["error"]
    assert {e["field"]: e["problem"] for e in ja["details"]["errors"]} == {
        "name": "2文字以上で入力してください",
        "born": "必須項目です",
        "count": "必須項目です",
        "by": "必須項目です",
        "code": "必須項目です",
    }


def test_an_unknown_error_type_reads_a_generic_problem() -> None:
    error = {"type": "made_up", "loc": ("query", "day"), "msg": "?", "ctx": {"odd": 1}}
    body = validation_error_body([error], "ko")["error"]
    assert body["details"]["errors"] == [
        {"field": "day", "type": "made_up", "problem": "올바른 값이 아닙니다"}
    ]


def test_domain_errors_translate_with_their_parameters_and_keep_english_for_logs() -> None:
    error = IllegalTransition(
        "cannot %(action)s an application that is %(status)s",
        params={"action": N_("record consent for"), "status": "draft"},
    )
    assert error.message == "cannot record consent for an application that is draft"
    assert str(error) == error.message
    assert error.to_dict("vi")["error"] == {
        "code": "ILLEGAL_TRANSITION",
        "message": "không thể ghi nhận sự đồng ý cho hồ sơ đang ở trạng thái draft",
        "details": {},
    }
    missing = NotFound("no such application", code="APPLICATION_NOT_FOUND")
    assert missing.to_dict("zh")["error"]["message"] == "申请不存在"
    assert missing.to_dict("fr")["error"]["message"] == "no such application"


def test_a_raise_site_with_wrong_params_still_raises_its_own_error() -> None:
    error = NotFound("no override for %(day)s", code="OVERRIDE_NOT_FOUND", params={"date": 1})
    assert (error.code, error.message) == ("OVERRIDE_NOT_FOUND", "no override for %(day)s")
