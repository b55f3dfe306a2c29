"""Chinese first, English second: complete and compiled catalogues, and the locale choice
(user's profile > cookie > Accept-Language > Chinese)."""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from lms.config import SETTINGS, parse_value
from lms.i18n import LOCALE_COOKIE, TRANSLATIONS_DIR, ngettext
from lms.i18n import gettext as lms_gettext
from lms.org.models import Employee

ROOT = Path(__file__).resolve().parent.parent
POT = TRANSLATIONS_DIR / "lms.pot"
ZH = "zh_Hans_CN"
ZH_PO = TRANSLATIONS_DIR / ZH / "LC_MESSAGES" / "lms.po"
ZH_MO = ZH_PO.with_suffix(".mo")
REFRESH = "run scripts/update-translations, translate, and run it again"
# Python-format placeholders: %(name)s, %(n)d, %(x).1f ... (and %% for a literal percent sign).
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0\- +]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa%])")


def read_catalog(path: Path) -> Any:
    with path.open("rb") as file:
        return read_po(file)


def placeholders(text: str) -> list[tuple[str | None, str]]:
    return sorted((name, kind) for name, kind in PLACEHOLDER.findall(text) if kind != "%")


def ids(message: Any) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


# --- the catalogues -----------------------------------------------------------------------------


def test_template_lists_every_message_in_the_source():
    """lms.pot holds exactly the messages of the code and templates (babel.cfg's extraction)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as file:
        method_map, options_map = parse_mapping_cfg(file)
    # The same keywords as scripts/update-translations passes to pybabel.
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    in_source = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(str(ROOT), method_map, options_map, keywords)
    }
    in_template = {ids(message)[0] for message in read_catalog(POT) if message.id}
    assert not in_source - in_template, f"messages missing from lms.pot: {REFRESH}"
    assert not in_template - in_source, f"lms.pot lists messages no longer used: {REFRESH}"


def test_every_message_has_a_chinese_translation():
    """Each message of lms.pot is translated into Chinese (not empty, not fuzzy)."""
    translations = {ids(message)[0]: message for message in read_catalog(ZH_PO) if message.id}
    problems = []
    for message in read_catalog(POT):
        if not message.id:
            continue
        translated = translations.get(ids(message)[0])
        strings = translated.string if translated is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if translated is None or translated.fuzzy or not all(s.strip() for s in strings):
            problems.append(ids(message)[0])
    assert not problems, f"untranslated or fuzzy in {ZH_PO.name}: {problems}; {REFRESH}"


def test_translations_keep_the_placeholders():
    """A translation has the same %(name)s placeholders (and kinds) as its message id."""
    problems = []
    for message in read_catalog(ZH_PO):
        if not message.id or not message.string:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = placeholders(ids(message)[-1])  # the plural form carries %(num)d
        problems += [(ids(message)[0], s) for s in strings if placeholders(s) != expected]
        assert not [name for name, _ in expected if name is None], (
            f"use named placeholders, %(name)s, so translators may reorder them: {message.id}"
        )
    assert not problems


def test_compiled_catalogue_is_up_to_date():
    """The committed lms.mo is what compiling the current lms.po gives."""
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(ZH_PO))
    compiled.seek(0)
    with ZH_MO.open("rb") as file:
        committed = gettext.GNUTranslations(file)
    fresh = gettext.GNUTranslations(compiled)
    assert committed._catalog == fresh._catalog, f"lms.mo is stale: {REFRESH}"


def test_offered_locales_have_catalogues():
    """Every default locale is English (the message ids) or has a compiled catalogue."""
    offered = parse_value("LMS_LOCALES", SETTINGS["LMS_LOCALES"].default)
    assert SETTINGS["LMS_DEFAULT_LOCALE"].default == ZH
    for code in offered:
        assert code == "en" or (TRANSLATIONS_DIR / code / "LC_MESSAGES" / "lms.mo").is_file()


def test_zh_hans_cn_catalogue_is_found(app):
    """Babel and gettext find the zh_Hans_CN folder; English falls back to the message ids."""
    with app.test_request_context():
        with force_locale(ZH):
            assert lms_gettext("Sign in") == "登录"
            assert lms_gettext("Welcome, %(name)s", name="张三") == "张三，您好"
            assert ngettext("%(num)d employee", "%(num)d employees", 3) == "共 3 名员工"
        with force_locale("en"):
            assert lms_gettext("Sign in") == "Sign in"
            assert ngettext("%(num)d employee", "%(num)d employees", 1) == "1 employee"


# --- choosing the language ----------------------------------------------------------------------


def token_on(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def choose(client: Any, locale: str, path: str = "/login") -> Any:
    """Press the language switch on ``path``."""
    page = client.get(path).get_data(as_text=True)
    return client.post(
        "/language", data={"locale": locale, "next": path, "csrf_token": token_on(page)}
    )


def test_default_is_chinese(client):
    """Without Accept-Language the sign-in page is in Chinese."""
    page = client.get("/login").get_data(as_text=True)
    assert "<h1>登录</h1>" in page
    assert '<html lang="zh-CN">' in page
    assert 'value="en"' in page  # the switch offers English


def test_accept_language_english(client):
    """A browser asking for en-US gets English."""
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert "<h1>Sign in</h1>" in page
    assert '<html lang="en">' in page
    assert "登录" not in page


def test_accept_language_prefers_first_offered(client):
    """Accept-Language is read in order of preference; Chinese variants get Chinese."""
    english_first = {"Accept-Language": "fr-FR, en;q=0.8, zh;q=0.5"}
    assert "Sign in" in client.get("/login", headers=english_first).get_data(as_text=True)
    chinese = {"Accept-Language": "zh-TW, en;q=0.5"}
    assert "登录" in client.get("/login", headers=chinese).get_data(as_text=True)


def test_language_switch_sets_cookie_that_sticks(client):
    """Choosing English sets the locale cookie; later pages stay English, even against
    Accept-Language; choosing Chinese switches back."""
    response = choose(client, "en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    cookie = client.get_cookie(LOCALE_COOKIE)
    assert cookie is not None and cookie.value == "en"
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    chinese_browser = {"Accept-Language": "zh-CN"}
    assert "Sign in" in client.get("/login", headers=chinese_browser).get_data(as_text=True)
    choose(client, ZH)
    assert "<h1>登录</h1>" in client.get("/login").get_data(as_text=True)


def test_language_switch_checks_its_input(client):
    """An unknown locale, a missing CSRF token, or a foreign next= are refused or ignored."""
    page = client.get("/login").get_data(as_text=True)
    token = token_on(page)
    assert client.post("/language", data={"locale": "xx", "csrf_token": token}).status_code == 400
    assert client.post("/language", data={"locale": "en"}).status_code == 400
    response = client.post(
        "/language", data={"locale": "en", "next": "//evil.example/", "csrf_token": token}
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_signed_in_choice_is_stored_on_employee(client, create_employee, login, db):
    """A signed-in employee's choice goes to Employee.locale and follows them to a new browser."""
    employee = create_employee(name="王芳")
    login(employee)
    assert choose(client, "en", "/").status_code == 302
    stored = db.scalar(sa.select(Employee.locale).where(Employee.id == employee.id))
    assert stored == "en"

    client.delete_cookie(LOCALE_COOKIE)  # a new browser: only the profile remembers
    page = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Welcome, 王芳" in page

    choose(client, ZH, "/")
    db.rollback()  # end the read transaction: SQLite would keep showing its snapshot
    assert db.scalar(sa.select(Employee.locale).where(Employee.id == employee.id)) == ZH
    assert "王芳，您好" in client.get("/").get_data(as_text=True)


def test_error_pages_are_translated(client):
    """The 404 page speaks Chinese by default and English when asked."""
    assert "页面不存在" in client.get("/no-such-page").get_data(as_text=True)
    english = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "Not found" in english.get_data(as_text=True)


@pytest.mark.parametrize("locale", [ZH, "en"])
def test_navigation_is_translated(client, create_employee, login, locale):
    """The menu labels (lazy strings) follow the locale."""
    from lms.org.models import Role

    login(create_employee(role=Role.hr))
    choose(client, locale, "/")
    page = client.get("/").get_data(as_text=True)
    expected = ["首页", "我的档案", "单位", "员工", "导入"] if locale == ZH else ["Home", "Import"]
    for label in expected:
        assert f">{label}</a>" in page
