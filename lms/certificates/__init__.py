"""Skill certificates: eligibility (rules), issuing (issue), the signed PDF (pdf), the signed
Open Badges 3.0 credential (credential), the issuer's keys (keys), the pages (views) and the
confirmation export for the national channel (confirmations). See docs/certificates.md."""

from . import confirmations  # noqa: F401  (adds its route to bp)
from .views import bp

__all__ = ["bp"]
