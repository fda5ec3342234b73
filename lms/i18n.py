"""Interface languages (Flask-Babel): Vietnamese first, English second.

The locale comes from `?lang=` (remembered in the session and a year-long cookie), then the
session, then the cookie, and is otherwise Vietnamese (the browser's Accept-Language is not
followed; see `select_locale`).
Vietnamese text is the message id, so a string without an English translation stays Vietnamese.

Translations are kept as text (`lms/translations/<lang>/LC_MESSAGES/messages.po`, updated with
`make translations`); the app compiles them into the instance folder when it starts, so a clean
checkout, the test suite and the read-only Docker image need no separate compile step.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, get_locale

SUPPORTED = ("vi", "en")
DEFAULT = "vi"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
NAMES = {"vi": "Tiếng Việt", "en": "English"}
SOURCE_DIR = Path(__file__).resolve().parent / "translations"

babel = Babel()


def select_locale() -> str:
    if not has_request_context():  # CLI, workers, mail jobs: the platform's language
        return DEFAULT
    for candidate in (request.args.get("lang"), session.get("lang"), request.cookies.get(COOKIE)):
        if candidate in SUPPORTED:
            return candidate
    # Not the browser's Accept-Language: many phones here are set to English while their owners
    # read Vietnamese, and Vietnamese is the platform's language. English is chosen explicitly.
    return DEFAULT


def current_lang() -> str:
    return str(get_locale() or DEFAULT)


def lang_url(code: str) -> str:
    """The current page in another language (same path and query, `lang` replaced)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return f"{request.path}?{urlencode([*args, ('lang', code)])}"


def _remember_choice() -> None:
    lang = request.args.get("lang")
    if lang in SUPPORTED and session.get("lang") != lang:
        session["lang"] = lang
        g.set_lang_cookie = lang


def _set_cookie(response):
    lang = g.pop("set_lang_cookie", None)
    if lang:
        response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, samesite="Lax",
                            secure=bool(request.is_secure))
    return response


def compile_translations(source: Path, target: Path) -> list[str]:
    """Compile every `<lang>/LC_MESSAGES/messages.po` under `source` into `target` (atomic
    replace, so app processes starting together never read half a file). Returns the languages."""
    done = []
    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        lang = po.parent.parent.name
        out_dir = target / lang / "LC_MESSAGES"
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(po, "rb") as fh:
            catalog = read_po(fh, locale=lang)
        fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                write_mo(fh, catalog)
            os.replace(tmp, out_dir / "messages.mo")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        done.append(lang)
    return done


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    compiled = Path(app.instance_path) / "translations"
    compile_translations(SOURCE_DIR, compiled)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(compiled))
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_remember_choice)
    app.after_request(_set_cookie)
    app.context_processor(lambda: {"current_lang": current_lang, "lang_url": lang_url,
                                   "lang_names": NAMES})
