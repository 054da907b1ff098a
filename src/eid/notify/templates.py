"""Message texts per template and language. Vietnamese and English; any other language tag
falls back to English (matched on the primary subtag, so vi-VN is Vietnamese).

Each template has a subject (never a secret: it is stored in clear), a body for email and the
app inbox, and a shorter SMS text.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass

from eid.core.errors import ValidationFailed

FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Text:
    subject: str
    body: str
    sms: str


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str
    sms: str


_VI_DO_NOT_SHARE = (
    "Không cung cấp mã kích hoạt cho bất kỳ ai, kể cả cán bộ: cơ quan chức năng không bao giờ "
    "hỏi mã này."
)
_EN_DO_NOT_SHARE = (
    "Do not share the activation code with anyone, officers included: the authorities never "
    "ask for it."
)

TEMPLATES: dict[str, dict[str, Text]] = {
    "application_received": {
        "vi": Text(
            subject="Đã tiếp nhận hồ sơ đề nghị cấp tài khoản định danh điện tử",
            body=(
                "Kính gửi {full_name},\n\n"
                "Cơ quan quản lý xuất nhập cảnh đã tiếp nhận hồ sơ đề nghị cấp tài khoản định "
                "danh điện tử mức độ 2 của Quý vị. Hạn trả kết quả: chậm nhất ngày "
                "{legal_deadline}.\n\nQuý vị sẽ nhận được thông báo khi có kết quả.\n"
            ),
            sms=(
                "Hồ sơ cấp tài khoản định danh điện tử mức độ 2 của Quý vị đã được tiếp nhận. "
                "Hạn trả kết quả: {legal_deadline}."
            ),
        ),
        "en": Text(
            subject="Your e-ID application has been received",
            body=(
                "Dear {full_name},\n\n"
                "The immigration office has received your application for a Level 2 electronic "
                "identification account. The decision is due no later than {legal_deadline}.\n\n"
                "We will notify you of the result.\n"
            ),
            sms=(
                "Your Level 2 e-ID application has been received. Decision due by {legal_deadline}."
            ),
        ),
    },
    "account_issued": {
        "vi": Text(
            subject="Tài khoản định danh điện tử của Quý vị đã được tạo",
            body=(
                "Kính gửi {full_name},\n\n"
                "Tài khoản định danh điện tử mức độ 2 của Quý vị đã được tạo.\n"
                "Số định danh điện tử: {eid_number}\n"
                "Mã kích hoạt: {activation_code}\n\n"
                "Cách kích hoạt: mở ứng dụng VNeID, chọn «Kích hoạt tài khoản», nhập số định danh "
                "điện tử và mã kích hoạt ở trên, sau đó đặt mật khẩu và mã bảo vệ (passcode).\n\n"
                f"{_VI_DO_NOT_SHARE}\n"
            ),
            sms=(
                "Tài khoản định danh điện tử {eid_number} đã được tạo. Mã kích hoạt: "
                "{activation_code}. Mở ứng dụng VNeID, chọn Kích hoạt tài khoản. "
                "Không cung cấp mã cho bất kỳ ai."
            ),
        ),
        "en": Text(
            subject="Your e-ID account has been created",
            body=(
                "Dear {full_name},\n\n"
                "Your Level 2 electronic identification account has been created.\n"
                "e-ID number: {eid_number}\n"
                "Activation code: {activation_code}\n\n"
                "To activate it: open the VNeID app, choose “Activate account”, enter your e-ID "
                "number and the activation code above, then set your password and passcode.\n\n"
                f"{_EN_DO_NOT_SHARE}\n"
            ),
            sms=(
                "Your e-ID account {eid_number} has been created. Activation code: "
                "{activation_code}. Open the VNeID app and choose Activate account. "
                "Never share this code."
            ),
        ),
    },
    "application_rejected": {
        "vi": Text(
            subject="Kết quả giải quyết hồ sơ đề nghị cấp tài khoản định danh điện tử",
            body=(
                "Kính gửi {full_name},\n\n"
                "Hồ sơ đề nghị cấp tài khoản định danh điện tử mức độ 2 của Quý vị không được "
                "chấp thuận.\nLý do: {reason}\n\n"
                "Quý vị vui lòng liên hệ cơ quan quản lý xuất nhập cảnh nơi nộp hồ sơ để được "
                "hướng dẫn.\n"
            ),
            sms=(
                "Hồ sơ cấp tài khoản định danh điện tử mức độ 2 của Quý vị không được chấp thuận. "
                "Lý do: {reason}. Vui lòng liên hệ nơi nộp hồ sơ."
            ),
        ),
        "en": Text(
            subject="Decision on your e-ID application",
            body=(
                "Dear {full_name},\n\n"
                "Your application for a Level 2 electronic identification account has been "
                "refused.\nReason: {reason}\n\n"
                "Please contact the immigration office where you applied for guidance.\n"
            ),
            sms=(
                "Your Level 2 e-ID application was refused. Reason: {reason}. Please contact "
                "the office where you applied."
            ),
        ),
    },
    "document_expiry_warning": {
        "vi": Text(
            subject="Giấy tờ của Quý vị sắp hết hạn",
            body=(
                "Hộ chiếu hoặc thẻ tạm trú/thẻ thường trú gắn với tài khoản định danh điện tử "
                "{eid_number} sẽ hết hạn vào ngày {expiry_date}. Khi giấy tờ hết hạn, tài khoản "
                "sẽ bị khóa. Vui lòng gia hạn giấy tờ và cập nhật tại cơ quan quản lý xuất nhập "
                "cảnh trước ngày này.\n"
            ),
            sms=(
                "Giấy tờ gắn với tài khoản định danh điện tử {eid_number} hết hạn ngày "
                "{expiry_date}. Vui lòng gia hạn để tài khoản không bị khóa."
            ),
        ),
        "en": Text(
            subject="Your document is about to expire",
            body=(
                "The passport or residence card linked to your e-ID account {eid_number} expires "
                "on {expiry_date}. When it expires, the account will be locked. Please renew it "
                "and have it updated at an immigration office before that day.\n"
            ),
            sms=(
                "The document linked to your e-ID account {eid_number} expires on {expiry_date}. "
                "Renew it to keep the account unlocked."
            ),
        ),
    },
    "account_locked": {
        "vi": Text(
            subject="Tài khoản định danh điện tử đã bị khóa",
            body=(
                "Tài khoản định danh điện tử {eid_number} đã bị khóa. Lý do: {ground}.\n"
                "Tài khoản sẽ tự động được mở khóa khi không còn lý do khóa. Nếu Quý vị không "
                "yêu cầu khóa, vui lòng liên hệ cơ quan quản lý xuất nhập cảnh.\n"
            ),
            sms="Tài khoản định danh điện tử {eid_number} đã bị khóa. Lý do: {ground}.",
        ),
        "en": Text(
            subject="Your e-ID account has been locked",
            body=(
                "Your e-ID account {eid_number} has been locked. Reason: {ground}.\n"
                "It unlocks automatically once no reason for the lock remains. If you did not "
                "ask for this, please contact an immigration office.\n"
            ),
            sms="Your e-ID account {eid_number} has been locked. Reason: {ground}.",
        ),
    },
    "account_unlocked": {
        "vi": Text(
            subject="Tài khoản định danh điện tử đã được mở khóa",
            body=(
                "Tài khoản định danh điện tử {eid_number} đã được mở khóa và có thể sử dụng trở "
                "lại.\n"
            ),
            sms="Tài khoản định danh điện tử {eid_number} đã được mở khóa.",
        ),
        "en": Text(
            subject="Your e-ID account has been unlocked",
            body="Your e-ID account {eid_number} has been unlocked and can be used again.\n",
            sms="Your e-ID account {eid_number} has been unlocked.",
        ),
    },
    "phone_verification_otp": {
        "vi": Text(
            subject="Mã xác minh số điện thoại",
            body=(
                "Mã xác minh số điện thoại cho hồ sơ định danh điện tử: {otp}\n\n"
                "Chỉ đọc mã này cho cán bộ xuất nhập cảnh đang tiếp nhận hồ sơ của Quý vị.\n"
            ),
            sms="Mã xác minh số điện thoại hồ sơ định danh điện tử: {otp}. "
            "Chỉ đọc mã cho cán bộ đang tiếp nhận hồ sơ.",
        ),
        "en": Text(
            subject="Phone verification code",
            body=(
                "Your phone verification code for the e-ID application is {otp}\n\n"
                "Tell it only to the immigration officer handling your application.\n"
            ),
            sms="Your e-ID application phone code: {otp}. Tell it only to the officer at the "
            "counter.",
        ),
    },
    "device_rebind_otp": {
        "vi": Text(
            subject="Mã xác thực để gắn thiết bị mới",
            body=(
                "Mã xác thực để gắn thiết bị mới với tài khoản định danh điện tử của Quý vị: "
                "{otp}\n\nNếu Quý vị không yêu cầu, hãy bỏ qua tin này và không cung cấp mã cho "
                "bất kỳ ai.\n"
            ),
            sms="Mã xác thực gắn thiết bị mới: {otp}. Không cung cấp mã này cho bất kỳ ai.",
        ),
        "en": Text(
            subject="Code to bind a new device",
            body=(
                "The code to bind a new device to your e-ID account is {otp}\n\n"
                "If you did not ask for it, ignore this message and do not share the code.\n"
            ),
            sms="Your code to bind a new device: {otp}. Never share this code.",
        ),
    },
}

# Lock grounds arrive as the authority's codes; the holder reads them in words.
_GROUNDS: dict[str, dict[str, str]] = {
    "vi": {
        "holder_request": "theo yêu cầu của chủ tài khoản",
        "breach_of_terms": "vi phạm điều khoản sử dụng",
        "passport_expired": "hộ chiếu đã hết hạn",
        "residence_card_expired": "thẻ tạm trú/thẻ thường trú đã hết hạn",
        "exited": "đã xuất cảnh khỏi Việt Nam",
        "deceased": "chủ tài khoản đã qua đời",
        "agency_request": "theo đề nghị của cơ quan có thẩm quyền",
    },
    "en": {
        "holder_request": "at your request",
        "breach_of_terms": "breach of the terms of use",
        "passport_expired": "the passport has expired",
        "residence_card_expired": "the residence card has expired",
        "exited": "departure from Viet Nam",
        "deceased": "death of the holder",
        "agency_request": "at the request of a competent authority",
    },
}

_DATE_PARAMS = ("legal_deadline", "expiry_date")
_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def resolve_language(tag: str) -> str:
    """The BCP 47 primary subtag if we have texts in it, else English."""
    primary = tag.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in TEMPLATES["account_issued"] else FALLBACK_LANGUAGE


def _format_date(value: object, language: str) -> object:
    day = value if isinstance(value, dt.date) else None
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
    if day is None:
        return value
    if language == "vi":
        return day.strftime("%d/%m/%Y")
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def _fields(text: Text) -> set[str]:
    parser = string.Formatter()
    return {
        field
        for part in (text.subject, text.body, text.sms)
        for _, field, _, _ in parser.parse(part)
        if field
    }


def render(template: str, language: str, params: Mapping[str, object]) -> Rendered:
    texts = TEMPLATES.get(template)
    if texts is None:
        raise ValidationFailed(
            "unknown notification template",
            code="UNKNOWN_TEMPLATE",
            details={"template": template, "known": sorted(TEMPLATES)},
        )
    used = resolve_language(language)
    text = texts[used]
    missing = sorted(_fields(text) - params.keys())
    if missing:
        raise ValidationFailed(
            "the template needs more parameters",
            code="TEMPLATE_PARAMS_MISSING",
            details={"template": template, "missing": missing},
        )
    values = dict(params)
    for name in _DATE_PARAMS:
        if name in values:
            values[name] = _format_date(values[name], used)
    if "ground" in values:
        values["ground"] = _GROUNDS[used].get(str(values["ground"]), values["ground"])
    return Rendered(
        language=used,
        subject=text.subject.format(**values),
        body=text.body.format(**values),
        sms=text.sms.format(**values),
    )
