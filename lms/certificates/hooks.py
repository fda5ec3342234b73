"""The automatic path: tracking calls `module_done` after a commit turned a module's registration
completed or passed (a status transition, so at most a couple of times per learner and module).
It only enqueues a job on the `certificates` queue; the job re-checks eligibility."""

from __future__ import annotations

import logging

from flask import has_request_context, request

log = logging.getLogger(__name__)


def module_done(registration_id: int) -> None:
    from .. import jobs

    base = request.host_url if has_request_context() else None
    try:
        jobs.enqueue(jobs.issue_certificates_for_registration, registration_id, base,
                     queue_name="certificates", timeout=300)
    except Exception:  # noqa: BLE001 - the learner's progress is already saved; bulk issue heals
        log.exception("certificates: could not enqueue the issue job for registration %s",
                      registration_id)
