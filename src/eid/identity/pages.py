"""The holder's browser pages of the authorization step (login, consent, errors), rendered by
the one page environment (`eid.web.templating`, templates `holder/*.html`) in the holder's
language: their pick on the page, the relying party's `ui_locales`, then Accept-Language."""

from __future__ import annotations

from collections.abc import Mapping

from eid.web.templating import render


def login_page(
    *,
    language: str,
    next_url: str,
    languages: list[tuple[str, str]] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    method: str = "password",
    login_hint: str = "",
) -> str:
    return render(
        "holder/login.html",
        login_hint=login_hint,
        lang=language,
        next_url=next_url,
        error_code=error_code,
        error_message=error_message,
        method=method,
        languages=languages or [],
    )


def consent_page(
    *,
    language: str,
    client_name: str,
    purpose: str,
    claims: list[str],
    hidden: Mapping[str, str],
    languages: list[tuple[str, str]] | None = None,
) -> str:
    return render(
        "holder/consent.html",
        lang=language,
        client_name=client_name,
        purpose=purpose,
        claims=claims,
        hidden=hidden,
        languages=languages or [],
    )


def logout_page(
    *,
    language: str,
    confirm: bool,
    client_name: str | None,
    hidden: Mapping[str, str] | None = None,
    languages: list[tuple[str, str]] | None = None,
) -> str:
    """RP-initiated logout: the question (`confirm`), or the answer that the holder is out."""
    return render(
        "holder/logout.html",
        lang=language,
        confirm=confirm,
        client_name=client_name,
        hidden=hidden or {},
        languages=languages or [],
    )


def error_page(*, language: str, error: str, description: str | None) -> str:
    return render(
        "holder/error.html", lang=language, error=error, description=description, languages=[]
    )


def approval_page(
    *,
    language: str,
    approval_id: str,
    matching_code: str,
    client_name: str,
    status: str,
    notice: str | None,
    login_url: str,
    poll_seconds: int,
    languages: list[tuple[str, str]] | None = None,
) -> str:
    """The waiting page of "approve in the eID app": the number to pick on the phone."""
    return render(
        "holder/approval.html",
        lang=language,
        approval_id=approval_id,
        matching_code=matching_code,
        client_name=client_name,
        status=status,
        notice=notice,
        login_url=login_url,
        poll_seconds=poll_seconds,
        languages=languages or [],
    )
