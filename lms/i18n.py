"""Translations: Chinese first, English second.

Message ids are English; ``translations/zh_Hans_CN/LC_MESSAGES/lms.po`` translates every one of
them (tests/test_i18n.py checks that none is missing) and ``scripts/update-translations``
refreshes the catalogues. English needs no catalogue: gettext falls back to the message ids.
The LMS has its own gettext domain, ``lms``, so that a host application's catalogue is left
alone. The locale code ``zh_Hans_CN`` is what Babel calls Simplified Chinese as used in China;
gettext looks for ``zh_Hans_CN`` and then ``zh``, so the folder name works as it is.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.support import NullTranslations, Translations
from flask import current_app, g, has_request_context, request
from flask_babel import Domain, get_locale
from flask_babel.speaklater import LazyString

from lms.security import current_employee

TRANSLATIONS_DIR = Path(__file__).parent / "translations"

domain = Domain(translation_directories=[str(TRANSLATIONS_DIR)], domain="lms")


def _translations() -> Translations | NullTranslations:
    """The domain's translations for the current locale, found once per request.

    Flask-Babel's ``Domain.get_translations`` walks its per-request namespace and formats the
    locale as a string on every call, and a page makes a hundred or more calls. The result is
    kept in that same namespace (``g._flask_babel``) next to the locale it was found for, and
    used only while that very locale object is current: ``refresh()`` and ``force_locale()``
    replace or remove the locale, so they are followed exactly as before.
    """
    try:
        state = g._flask_babel
        locale, translations = state.lms_translations
        if locale is state.babel_locale:
            return translations
    except (AttributeError, RuntimeError):  # no app context, or nothing found yet
        pass
    translations = domain.get_translations()
    try:
        state = g._flask_babel
        state.lms_translations = (state.babel_locale, translations)
    except (AttributeError, RuntimeError):
        pass
    return translations


def gettext(string: str, **variables: Any) -> str:
    """As ``Domain.gettext`` (translate, then ``%`` the variables), with the translations
    looked up once per request."""
    text = _translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """As ``Domain.ngettext``: ``num`` is also available as ``%(num)d``."""
    variables.setdefault("num", num)
    return _translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Translated when used as a string (module-level labels, error pages)."""
    return LazyString(gettext, string, **variables)


_ = gettext

LOCALE_COOKIE = "lms_locale"


def select_locale() -> str:
    """The signed-in user's choice, then the locale cookie, then Accept-Language, then the
    configured default (Chinese)."""
    config = current_app.config
    offered = config["LMS_LOCALES"]
    if has_request_context():
        employee = current_employee()
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


def local_date(moment: datetime | None = None) -> date:
    """The bureau's calendar date (``LMS_TIMEZONE``) of ``moment``, or of now: the server may
    run on UTC, and dates people see and the ledger keeps are the bureau's."""
    from lms.db import utcnow

    return (moment or utcnow()).astimezone(ZoneInfo(current_app.config["LMS_TIMEZONE"])).date()


def local_midnight(day: date) -> datetime:
    """The moment the bureau's calendar date ``day`` begins (aware, in ``LMS_TIMEZONE``)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["LMS_TIMEZONE"]))


def current_language() -> str:
    """``zh`` or ``en``: for the page's ``lang`` attribute."""
    locale = get_locale()
    return "zh-CN" if locale is None or locale.language == "zh" else locale.language
