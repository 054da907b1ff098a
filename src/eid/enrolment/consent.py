"""Consent texts shown to the applicant (or guardian), by version and language."""

from __future__ import annotations

CURRENT_VERSION = "2025-07-v1"

TEXTS: dict[str, dict[str, str]] = {
    "2025-07-v1": {
        "vi": (
            "Tôi đồng ý để cơ quan quản lý xuất nhập cảnh thu thập, xử lý và chuyển cho cơ quan "
            "định danh điện tử các thông tin nhân thân, ảnh chân dung và vân tay của tôi nhằm tạo "
            "tài khoản định danh điện tử mức độ 2, theo Nghị định 69/2024/NĐ-CP và Luật Bảo vệ dữ "
            "liệu cá nhân. Tôi có quyền xem, yêu cầu chỉnh sửa và xem lịch sử sử dụng dữ liệu."
        ),
        "en": (
            "I agree that the immigration authority collects, processes and passes to the e-ID "
            "authority my identity data, portrait and fingerprints to create a Level-2 electronic "
            "identification account, under Decree 69/2024/ND-CP and the Personal Data Protection "
            "Law. I may access my data, ask for corrections and see the history of its use."
        ),
    }
}


def text_for(version: str, language: str) -> str | None:
    texts = TEXTS.get(version)
    if texts is None:
        return None
    return texts.get(language.split("-")[0].lower())
