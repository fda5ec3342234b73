"""Helpers for the learner-page tests: the seeded catalog, a SCORM package behind a module,
the player's config and commits through the SCORM API endpoint."""

from __future__ import annotations

import json
import re
from datetime import date

from lms.catalog import seed_structure
from lms.extensions import db
from lms.importer import import_package
from lms.models import Assignment, AssignmentAudience, Module, Programme, Unit

from .conftest import csrf_token, sample

SCORM_2004 = "RuntimeBasicCalls_SCORM20043rdEdition.zip"
SCORM_12 = "RuntimeBasicCalls_SCORM12.zip"


def seed(app) -> None:
    """`seed_structure` from courses/catalog.yaml (lms.catalog parses each source file once per
    process, so only the first test pays for parsing)."""
    with app.app_context():
        seed_structure()


def attach(app, code: str, name: str = SCORM_2004) -> int:
    """Import a sample package through the normal pipeline and make it module `code`'s."""
    with app.app_context():
        result = import_package(sample(name))
        module = db.session.scalar(db.select(Module).where(Module.code == code))
        module.package_id = result.version.package_id
        db.session.commit()
        return module.package_id


def module_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(db.select(Module.id).where(Module.code == code))


def programme_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(db.select(Programme.id).where(Programme.code == code))


def commune(app) -> int:
    with app.app_context():
        unit = Unit(code="31001", name="Phường Hồng Bàng", kind="phuong")
        db.session.add(unit)
        db.session.commit()
        return unit.id


def assign(app, user_id: int, kind: str, target_id: int, due: date) -> None:
    with app.app_context():
        a = Assignment(target_type=kind, target_id=target_id, due_date=due)
        a.audiences = [AssignmentAudience(user_id=user_id)]
        db.session.add(a)
        db.session.commit()


def post_form(client, page_url: str, action: str, **data):
    """POST to `action` with the CSRF token of the page at `page_url`."""
    page = client.get(page_url).get_data(as_text=True)
    return client.post(action, data={"csrf_token": csrf_token(page), **data})


def start(client, code: str):
    return post_form(client, f"/hoc/module/{code}", f"/hoc/module/{code}/bat-dau")


def launch(client, location: str) -> dict:
    html = client.get(location).get_data(as_text=True)
    m = re.search(r'<script id="player-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, html[:500]
    cfg = json.loads(m.group(1))
    item = cfg["scos"][0]["id"]
    assert client.get(cfg["stateUrl"].replace("__ITEM__", item)).status_code == 200
    cfg["item"] = item
    return cfg


def commit(client, cfg: dict, seq: int, cmi: dict, terminate: bool = False):
    body = {"item": cfg["item"], "session": cfg["session"], "seq": seq, "cmi": cmi,
            "terminate": terminate}
    r = client.post(cfg["commitUrl"], data=json.dumps(body),
                    headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert r.status_code == 200 and r.get_json()["accepted"], r.get_data(as_text=True)
    return r
