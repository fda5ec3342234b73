"""The audit log: every admin and unit-manager action, with before/after values."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditLog


def record(action: str, target_type: str, target_id: object, before: dict | None = None,
           after: dict | None = None, actor_id: int | None = None) -> AuditLog:
    """Add an entry to the current transaction (it commits or rolls back with the change)."""
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    entry = AuditLog(
        actor_id=actor_id, action=action, target_type=target_type, target_id=str(target_id),
        before=before, after=after,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
