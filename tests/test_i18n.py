"""Interface languages: Vietnamese by default, English on request (link, session, cookie,
browser), `<html lang>` right, and every string of the learner pages translated."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from lms import progress
from lms.i18n import SOURCE_DIR, compile_translations

from .learn_support import seed

ROOT = Path(__file__).resolve().parents[1]
PO = SOURCE_DIR / "en" / "LC_MESSAGES" / "messages.po"


def _lang(page: str) -> str:
    m = re.search(r'<html lang="([a-z]+)">', page)
    assert m, page[:200]
    return m.group(1)


def test_vietnamese_is_the_default(app, client):
    seed(app)
    page = client.get("/hoc").get_data(as_text=True)
    assert _lang(page) == "vi"
    assert "<h1>Danh mục học tập</h1>" in page
    assert 'data-lang-switch="en"' in page and 'href="/hoc?lang=en"' in page
    assert "Bỏ qua, đến nội dung chính" in page


def test_language_switch_is_remembered(app, client):
    seed(app)
    r = client.get("/hoc?lang=en")
    page = r.get_data(as_text=True)
    assert _lang(page) == "en"
    assert "<h1>Learning catalogue</h1>" in page and "For assigned civil servants only" in page
    assert "Skip to main content" in page and 'data-lang-switch="vi"' in page
    assert "lang=en" in r.headers["Set-Cookie"] and "Max-Age" in r.headers["Set-Cookie"]
    # The session remembers the choice ...
    module = client.get("/hoc/module/nd-1-1").get_data(as_text=True)
    assert _lang(module) == "en" and "Lesson being prepared" in module
    assert re.search(r"about \d+ minutes", module) and "level 1 (CB1" in module
    # ... and so does the cookie for a browser that comes back later.
    returning = app.test_client()
    returning.set_cookie("lang", "en")
    assert _lang(returning.get("/hoc").get_data(as_text=True)) == "en"
    # Switching back.
    back = client.get("/hoc?lang=vi").get_data(as_text=True)
    assert _lang(back) == "vi" and "<h1>Danh mục học tập</h1>" in back


def test_browser_language_is_not_followed_and_unknown_languages(app, client):
    # An English phone still gets Vietnamese until English is chosen with the switch.
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert _lang(page.get_data(as_text=True)) == "vi"
    fr = app.test_client().get("/login?lang=fr", headers={"Accept-Language": "fr"})
    assert _lang(fr.get_data(as_text=True)) == "vi"


def _learner_msgids() -> set:
    """Every string marked for translation in the learner pages and the shared header."""
    method_map = [("lms/learn/**.py", "python"), ("lms/templates/learn/**.html", "jinja2"),
                  ("lms/templates/base.html", "jinja2"), ("lms/templates/index.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT), method_map, keywords={"_": None, "gettext": None, "lazy_gettext": None,
                                             "ngettext": (1, 2)}):
        found.add(message)
    return found


def test_every_learner_string_has_an_english_translation():
    with open(PO, "rb") as fh:
        catalog = read_po(fh, locale="en")
    ids = _learner_msgids()
    assert len(ids) > 50
    missing = []
    for msgid in ids:
        entry = catalog.get(msgid)
        strings = entry.string if entry is not None else ""
        if not (all(strings) if isinstance(strings, tuple) else strings):
            missing.append(msgid)
    assert not missing, f"untranslated: {missing}"


def test_translations_compile_from_the_po_file(tmp_path):
    assert compile_translations(SOURCE_DIR, tmp_path) == ["en"]
    with open(tmp_path / "en" / "LC_MESSAGES" / "messages.mo", "rb") as fh:
        mo = read_mo(fh)
    assert mo.get("Học ngay").string == "Learn now"


def test_status_words_match_the_progress_labels(app):
    from lms.learn.labels import status_label

    with app.test_request_context("/?lang=vi"):
        assert {k: status_label(k) for k in progress.LABELS} == progress.LABELS
