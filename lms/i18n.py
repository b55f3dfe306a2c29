"""Translations: Chinese first, English second.

Message ids are English; ``translations/zh_Hans_CN`` translates every one of them (a test checks
that none is missing). The LMS has its own gettext domain, so that a host application's own
catalogue is left alone.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, g, has_request_context, request
from flask_babel import Domain, get_locale

TRANSLATIONS_DIR = Path(__file__).parent / "translations"

domain = Domain(translation_directories=[str(TRANSLATIONS_DIR)], domain="lms")
gettext = _ = domain.gettext
ngettext = domain.ngettext
lazy_gettext = domain.lazy_gettext

LOCALE_COOKIE = "lms_locale"


def select_locale() -> str:
    """The signed-in user's choice, then the locale cookie, then Accept-Language, then the
    configured default (Chinese)."""
    config = current_app.config
    offered = config["LMS_LOCALES"]
    if has_request_context():
        employee = g.get("_lms_employee")
        if employee is not None and employee.locale in offered:
            return employee.locale
        chosen = request.cookies.get(LOCALE_COOKIE)
        if chosen in offered:
            return chosen
        # Accept-Language says "zh-CN" or "en-US"; match on the language part.
        by_language = {code.split("_")[0]: code for code in reversed(offered)}
        for value, _quality in request.accept_languages:
            language = value.replace("-", "_").split("_")[0].lower()
            if language in by_language:
                return by_language[language]
    return config["LMS_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["LMS_TIMEZONE"]


def current_language() -> str:
    """``zh`` or ``en``: for the page's ``lang`` attribute."""
    locale = get_locale()
    return "zh-CN" if locale is None or locale.language == "zh" else locale.language
