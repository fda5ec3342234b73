"""The learner's way through the catalog: /hoc (programmes and classes), a programme, a topic,
a module page with its progress and the button that launches the SCORM player."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("learn", __name__)

from . import views  # noqa: E402,F401  (registers the routes on bp)
