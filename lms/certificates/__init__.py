"""Skill certificates: eligibility (rules), issuing (issue), the signed PDF (pdf), the signed
Open Badges 3.0 credential (credential), the issuer's keys (keys) and the pages (views).
See docs/certificates.md."""

from .views import bp

__all__ = ["bp"]
