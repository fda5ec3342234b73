"""Background jobs in one place. With REDIS_URL they go to RQ; without it (the embedded
default) they run in-process, synchronously, so a bare machine needs no queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app


def queue(name: str = "default"):
    from redis import Redis
    from rq import Queue

    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    return Queue(name, connection=Redis.from_url(url))


def enqueue(func: Callable[..., Any], *args: Any, queue_name: str = "default", **kwargs: Any):
    """Run func(*args) as a job; return the RQ job, or the result when run in-process."""
    q = queue(queue_name)
    if q is None:
        return func(*args, **kwargs)
    return q.enqueue(func, *args, **kwargs)


def ping() -> bool:
    q = queue()
    return True if q is None else bool(q.connection.ping())
