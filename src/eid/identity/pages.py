"""The holder's browser pages of the authorization step: login and consent, in vi or en."""

from __future__ import annotations

from html import escape

TEXT = {
    "en": {
        "login_title": "Sign in with your e-ID",
        "eid_number": "e-ID number",
        "password": "Password",
        "passcode": "6-digit passcode",
        "sign_in": "Sign in",
        "consent_title": "{rp} asks for your information",
        "purpose": "Purpose stated in its agreement",
        "will_share": "If you allow, it will receive exactly:",
        "allow": "Allow",
        "deny": "Deny",
        "error_title": "This request cannot be completed",
    },
    "vi": {
        "login_title": "Đăng nhập bằng tài khoản định danh điện tử",
        "eid_number": "Số định danh điện tử",
        "password": "Mật khẩu",
        "passcode": "Mã passcode 6 số",
        "sign_in": "Đăng nhập",
        "consent_title": "{rp} yêu cầu thông tin của bạn",
        "purpose": "Mục đích nêu trong thỏa thuận",
        "will_share": "Nếu bạn đồng ý, bên này sẽ nhận đúng các thông tin sau:",
        "allow": "Đồng ý",
        "deny": "Từ chối",
        "error_title": "Không thể thực hiện yêu cầu này",
    },
}


def text_for(language: str) -> dict[str, str]:
    return TEXT["vi" if language.lower().startswith("vi") else "en"]


_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f8fafc;color:#1d2939;margin:0}"
    "main{max-width:30rem;margin:3rem auto;background:#fff;border-radius:12px;padding:1.5rem 2rem;"
    "box-shadow:0 1px 4px #0002}h1{font-size:1.3rem}label{display:block;margin:.8rem 0;"
    "font-size:.9rem}input{display:block;width:100%;box-sizing:border-box;padding:.5rem;"
    "font-size:1rem;margin-top:.25rem}button{padding:.55rem 1.2rem;font-size:1rem;"
    "margin:.6rem .6rem 0 0;cursor:pointer;border-radius:6px;border:1px solid #98a2b3}"
    "button[value=allow],form[action='/oauth2/login'] button{background:#7a0e0e;color:#fff;"
    "border-color:#7a0e0e}li{margin:.25rem 0}[role=alert]{color:#b42318}"
)


def _page(language: str, title: str, body: str) -> str:
    lang = "vi" if language.lower().startswith("vi") else "en"
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>"
        f"{body}</main></body></html>"
    )


def login_page(*, language: str, next_url: str, error: str | None = None) -> str:
    t = text_for(language)
    problem = f'<p role="alert">{escape(error)}</p>' if error else ""
    body = (
        f'{problem}<form method="post" action="/oauth2/login">'
        f'<input type="hidden" name="next" value="{escape(next_url)}">'
        f'<label>{t["eid_number"]} <input name="eid_number" inputmode="numeric" '
        f'autocomplete="username" required></label>'
        f'<label>{t["password"]} <input name="password" type="password" '
        f'autocomplete="current-password" required></label>'
        f'<label>{t["passcode"]} <input name="passcode" type="password" inputmode="numeric" '
        f'pattern="[0-9]{{6}}" required></label>'
        f'<button type="submit">{t["sign_in"]}</button></form>'
    )
    return _page(language, t["login_title"], body)


def consent_page(
    *,
    language: str,
    client_name: str,
    purpose: str,
    claim_labels: list[str],
    hidden: dict[str, str],
) -> str:
    t = text_for(language)
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items()
    )
    items = "".join(f"<li>{escape(label)}</li>" for label in claim_labels)
    body = (
        f"<p>{t['purpose']}: {escape(purpose)}</p><p>{t['will_share']}</p>"
        f'<ul id="claims">{items}</ul>'
        f'<form method="post" action="/oauth2/authorize">{fields}'
        f'<button name="decision" value="allow" type="submit">{t["allow"]}</button>'
        f'<button name="decision" value="deny" type="submit">{t["deny"]}</button></form>'
    )
    return _page(language, t["consent_title"].format(rp=client_name), body)


def error_page(*, language: str, error: str, description: str | None) -> str:
    t = text_for(language)
    body = f"<p><code>{escape(error)}</code></p><p>{escape(description or '')}</p>"
    return _page(language, t["error_title"], body)
