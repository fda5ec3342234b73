"""Translatable UI text for the catalog admin.

`_` is Flask-Babel's gettext in a request once `lms.i18n.init_i18n` has set Babel up on the
app, and the Vietnamese message id itself otherwise (outside a request, e.g. a seed run from
the CLI, the locale cannot be chosen), so the same rules can be used by the YAML seed and the
admin forms.
"""

from __future__ import annotations

from flask import current_app, has_request_context
from flask_babel import LazyString, gettext


def _(text: str, **values: object) -> str:
    if has_request_context() and "babel" in current_app.extensions:
        return gettext(text, **values)
    return text % values if values else text


def _l(text: str, **values: object) -> LazyString:
    """Lazy form: for labels and messages defined when the module is imported."""
    return LazyString(_, text, **values)
