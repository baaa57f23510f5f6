"""The one message catalogue: Korean (default) with the English next to it."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("ko", "en")

# key: (Korean, English)
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "app.title": ("관리자 메트릭 히스토리", "Admin Metrics History"),
    "login.title": ("관리자 로그인", "Administrator sign-in"),
    "login.username": ("사용자 이름", "User name"),
    "login.password": ("비밀번호", "Password"),
    "login.submit": ("로그인", "Sign in"),
    "login.failed": (
        "사용자 이름 또는 비밀번호가 올바르지 않습니다.",
        "Wrong user name or password.",
    ),
    "login.rate_limited": (
        "로그인 시도가 너무 많습니다. 잠시 후 다시 시도하세요.",
        "Too many sign-in attempts. Please wait a minute and try again.",
    ),
    "login.csrf": (
        "세션이 만료되었습니다. 다시 시도하세요.",
        "Your session expired. Please try again.",
    ),
    "login.logged_out": ("로그아웃되었습니다.", "You have been signed out."),
    "nav.logout": ("로그아웃", "Sign out"),
    "nav.language": ("English", "한국어"),
    "auth.required": ("관리자 로그인이 필요합니다.", "Administrator sign-in required."),
    "auth.forbidden": ("관리자 권한이 필요합니다.", "Administrator rights required."),
    "error.not_found": ("찾을 수 없습니다.", "Not found."),
    "error.internal": ("서버 내부 오류가 발생했습니다.", "Internal server error."),
    # --- dashboard page (dash.*) ---
    # --- REST API (api.*) ---
    # --- exports (export.*) ---
    # --- collection (collect.*) ---
}


def t(key: str, lang: str = "ko") -> str:
    """The message for ``key`` in ``lang`` (Korean when the language is unknown)."""
    ko, en = MESSAGES[key]
    return en if lang == "en" else ko
