"""Baseline for bench/commit_throughput.py: a bare WSGI endpoint doing only the same single
upsert of the (attempt, SCO) row that a real commit does, on the same database and server."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql import insert

from lms.models import ScoState

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
table = ScoState.__table__


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length))
    attempt_id = int(environ["PATH_INFO"].rsplit("/", 2)[-2])
    seq = (body["session"] << 20) | body["seq"]
    stmt = insert(table).values(
        attempt_id=attempt_id, item_id=body["item"], seq=seq, cmi=body["cmi"],
        completion_status="incomplete", success_status="unknown", base_seconds=0.0,
        base_session=body["session"], total_seconds=0.0, exit="", entry="", launched=True,
        exited=False, updated_at=datetime.now(UTC),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.attempt_id, table.c.item_id],
        set_={"seq": stmt.excluded.seq, "cmi": stmt.excluded.cmi,
              "updated_at": stmt.excluded.updated_at},
        where=table.c.seq < stmt.excluded.seq,
    )
    with engine.begin() as conn:
        conn.execute(stmt)
    out = b'{"ok": true}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]
