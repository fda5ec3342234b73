"""The commit endpoint: validation, ordering, time accounting, entry/exit, authorization."""

from __future__ import annotations

import io
import json
import re

import pytest

from lms.extensions import db
from lms.models import Interaction

from .conftest import login_as, make_token, make_user, sample


def _setup(app, client, admin_token, name="RuntimeBasicCalls_SCORM20043rdEdition.zip",
           email="hv@example.vn"):
    with open(sample(name), "rb") as fh:
        pkg = client.post("/api/v1/packages", headers={"Authorization": f"Bearer {admin_token}"},
                          data={"file": (io.BytesIO(fh.read()), "p.zip")}).get_json()
    with app.app_context():
        uid = make_user(email)
        tok = make_token(email)
    reg = client.post("/api/v1/registrations", headers={"Authorization": f"Bearer {tok}"},
                      json={"package_id": pkg["id"]}).get_json()
    return pkg, reg, uid, tok


def _launch(client, reg) -> dict:
    html = client.get(f"/play/{reg['id']}").get_data(as_text=True)
    m = re.search(r'<script id="player-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, html[:500]
    return json.loads(m.group(1))


def _commit(client, cfg, item, seq, cmi, terminate=False, session=None, **headers):
    body = {"item": item, "session": session or cfg["session"], "seq": seq, "cmi": cmi,
            "terminate": terminate}
    return client.post(cfg["commitUrl"], data=json.dumps(body),
                       headers={"Content-Type": "text/plain;charset=UTF-8", **headers})


@pytest.fixture
def launched(app, client, admin_token):
    pkg, reg, uid, tok = _setup(app, client, admin_token)
    login_as(client, uid)
    cfg = _launch(client, reg)
    item = cfg["scos"][0]["id"]
    assert client.get(cfg["stateUrl"].replace("__ITEM__", item)).status_code == 200
    return {"pkg": pkg, "reg": reg, "uid": uid, "tok": tok, "cfg": cfg, "item": item}


def _reg(client, launched) -> dict:
    return client.get(f"/api/v1/registrations/{launched['reg']['id']}",
                      headers={"Authorization": f"Bearer {launched['tok']}"}).get_json()


def test_text_plain_commit_is_stored(client, launched):
    cfg, item = launched["cfg"], launched["item"]
    r = _commit(client, cfg, item, 1, {"cmi.location": "p3", "cmi.completion_status": "completed",
                                        "cmi.success_status": "passed", "cmi.score.scaled": "0.9",
                                        "cmi.session_time": "PT2M"})
    assert r.status_code == 200 and r.get_json()["accepted"] is True
    reg = _reg(client, launched)
    assert reg["completion_status"] == "completed"
    assert reg["success_status"] == "passed"
    assert reg["score"] == pytest.approx(0.9)
    assert reg["scos"][0]["cmi"]["cmi.location"] == "p3"


def test_older_commit_never_overwrites_newer(client, launched):
    cfg, item = launched["cfg"], launched["item"]
    assert _commit(client, cfg, item, 5, {"cmi.location": "new"}).get_json()["accepted"]
    stale = _commit(client, cfg, item, 4, {"cmi.location": "old"})
    assert stale.status_code == 200 and stale.get_json()["accepted"] is False
    replay = _commit(client, cfg, item, 5, {"cmi.location": "replayed"})
    assert replay.get_json()["accepted"] is False
    assert _reg(client, launched)["scos"][0]["cmi"]["cmi.location"] == "new"


def test_bad_values_rejected_with_4xx(client, launched):
    cfg, item = launched["cfg"], launched["item"]
    cases = [
        {"cmi.completion_status": "finished"},
        {"cmi.score.scaled": "7"},
        {"cmi.session_time": "ten minutes"},
        {"cmi.nonsense": "x"},
        {"cmi.location": "x" * 5000},
    ]
    for n, cmi in enumerate(cases, start=1):
        r = _commit(client, cfg, item, n, cmi)
        assert r.status_code == 422, (cmi, r.get_json())
        assert r.get_json()["errors"], cmi
    assert client.post(cfg["commitUrl"], data="{not json").status_code == 400
    assert _commit(client, cfg, "no-such-sco", 9, {}).status_code == 422
    r = client.post(cfg["commitUrl"], data=json.dumps({"item": item, "session": "x"}))
    assert r.status_code == 422


def test_time_counted_once(client, launched):
    cfg, item = launched["cfg"], launched["item"]
    # Session 1: several commits, Terminate, then a commit after Terminate (buggy content).
    _commit(client, cfg, item, 1, {"cmi.session_time": "PT1M"})
    _commit(client, cfg, item, 2, {"cmi.session_time": "PT10M", "cmi.exit": "suspend"}, True)
    _commit(client, cfg, item, 3, {"cmi.session_time": "PT10M", "cmi.exit": "suspend"}, True)
    assert _reg(client, launched)["total_time"] == pytest.approx(600)
    # Session 2 adds its own time on top.
    cfg2 = _launch(client, launched["reg"])
    assert cfg2["session"] == cfg["session"] + 1
    client.get(cfg2["stateUrl"].replace("__ITEM__", item))
    _commit(client, cfg2, item, 1, {"cmi.session_time": "PT5M"})
    _commit(client, cfg2, item, 2, {"cmi.session_time": "PT7M", "cmi.exit": "suspend"}, True)
    assert _reg(client, launched)["total_time"] == pytest.approx(600 + 420)
    state = client.get(cfg2["stateUrl"].replace("__ITEM__", item)).get_json()["cmi"]
    assert state["cmi.total_time"] == "PT17M"
    assert state["cmi.entry"] == "resume"


def test_interactions_written_to_their_table(app, client, launched):
    cfg, item = launched["cfg"], launched["item"]
    cmi = {
        "cmi.interactions.0.id": "q1", "cmi.interactions.0.type": "choice",
        "cmi.interactions.0.learner_response": "b", "cmi.interactions.0.result": "incorrect",
        "cmi.interactions.0.correct_responses.0.pattern": "a",
        "cmi.interactions.1.id": "q2", "cmi.interactions.1.type": "true-false",
        "cmi.interactions.1.learner_response": "true", "cmi.interactions.1.result": "correct",
    }
    assert _commit(client, cfg, item, 1, cmi).status_code == 200
    assert _commit(client, cfg, item, 2, cmi).status_code == 200  # replaced, not duplicated
    with app.app_context():
        rows = db.session.scalars(db.select(Interaction).order_by(Interaction.idx)).all()
        assert [(r.interaction_id, r.result) for r in rows] == [("q1", "incorrect"),
                                                               ("q2", "correct")]
        assert rows[0].correct_responses == ["a"]


def test_commit_defences(app, client, launched):
    cfg, item = launched["cfg"], launched["item"]
    forged = cfg["commitUrl"].split("token=")[0] + "token=forged"
    body = json.dumps({"item": item, "session": 1, "seq": 1, "cmi": {}})
    assert client.post(forged, data=body).status_code == 403
    r = _commit(client, cfg, item, 1, {}, Origin="https://evil.example")
    assert r.status_code == 403
    # Another logged-in learner cannot use this attempt's URL.
    with app.app_context():
        other = make_user("other@example.vn")
    login_as(client, other)
    assert _commit(client, cfg, item, 2, {}).status_code == 403
    assert client.get(cfg["stateUrl"].replace("__ITEM__", item)).status_code == 404
    assert client.get(f"/play/{launched['reg']['id']}").status_code == 404


def test_12_masteryscore_and_entry(app, client, admin_token):
    pkg, reg, uid, tok = _setup(app, client, admin_token, "RuntimeBasicCalls_SCORM12.zip")
    login_as(client, uid)
    cfg = _launch(client, reg)
    item = cfg["scos"][0]["id"]
    first = client.get(cfg["stateUrl"].replace("__ITEM__", item)).get_json()["cmi"]
    assert first["cmi.core.entry"] == "ab-initio"
    assert first["cmi.core.student_name"] == "An, Nguyễn Văn"
    r = _commit(client, cfg, item, 1, {"cmi.core.lesson_status": "incomplete",
                                        "cmi.core.lesson_location": "5",
                                        "cmi.core.exit": "suspend",
                                        "cmi.core.session_time": "00:03:00"}, True)
    assert r.status_code == 200
    cfg = _launch(client, reg)
    again = client.get(cfg["stateUrl"].replace("__ITEM__", item)).get_json()["cmi"]
    assert again["cmi.core.entry"] == "resume"
    assert again["cmi.core.lesson_location"] == "5"
    assert again["cmi.core.total_time"].startswith("00")


MANIFEST_2004 = """<?xml version="1.0"?>
<manifest identifier="{ident}" version="1" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:adlseq="http://www.adlnet.org/xsd/adlseq_v1p3">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="o"><organization identifier="o" {attr}><title>{ident}</title>
    <item identifier="i" identifierref="r"><title>Bài 1</title></item></organization>
  </organizations>
  <resources><resource identifier="r" type="webcontent" adlcp:scormType="sco"
    href="index.html"><file href="index.html"/></resource></resources>
</manifest>"""


def _package_2004(client, admin_token, ident: str, global_objectives: bool) -> dict:
    import zipfile

    attr = "" if global_objectives else 'adlseq:objectivesGlobalToSystem="false"'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("imsmanifest.xml", MANIFEST_2004.format(ident=ident, attr=attr))
        zf.writestr("index.html", "<html><body>bài học</body></html>")
    r = client.post("/api/v1/packages", headers={"Authorization": f"Bearer {admin_token}"},
                    data={"file": (io.BytesIO(buf.getvalue()), "p.zip")})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_global_objectives_and_shared_data_scope(app, client, admin_token):
    with app.app_context():
        uid = make_user("hv@example.vn")
        tok = make_token("hv@example.vn")
    login_as(client, uid)
    auth = {"Authorization": f"Bearer {tok}"}
    pkgs = {name: _package_2004(client, admin_token, name, g)
            for name, g in (("A", True), ("B", False), ("C", True))}
    regs = {name: client.post("/api/v1/registrations", headers=auth,
                              json={"package_id": p["id"]}).get_json()
            for name, p in pkgs.items()}
    for name in ("A", "B"):
        cfg = _launch(client, regs[name])
        body = {"item": "i", "session": cfg["session"], "seq": 1, "cmi": {},
                "globals": {f"obj-{name}": {"satisfiedStatus": True}},
                "shared": {f"data-{name}": "giá trị"}}
        assert client.post(cfg["commitUrl"], data=json.dumps(body)).status_code == 200
    seen_c = _launch(client, regs["C"])
    assert seen_c["globalObjectives"] == {"obj-A": {"satisfiedStatus": True}}
    # B keeps objectives to its attempt, but sharedDataGlobalToSystem defaults to true.
    assert seen_c["sharedData"] == {"data-A": "giá trị", "data-B": "giá trị"}
    seen_b = _launch(client, regs["B"])  # same attempt: its own, attempt-scoped objectives
    assert seen_b["globalObjectives"] == {"obj-B": {"satisfiedStatus": True}}


def test_completion_fallback_is_flagged_as_platform(app, client, admin_token, launched):
    from lms.models import Package

    with app.app_context():
        package = db.session.get(Package, launched["pkg"]["id"])
        package.completion_fallback = {"mode": "all_launched_and_exited", "minutes": None}
        db.session.commit()
    cfg, item = launched["cfg"], launched["item"]
    # Content that never reports completion, then exits.
    r = _commit(client, cfg, item, 1, {"cmi.location": "3", "cmi.exit": "suspend"}, True)
    assert r.status_code == 200
    reg = _reg(client, launched)
    assert reg["completion_status"] == "completed"
    assert reg["completion_decided_by"] == "platform"


def test_new_version_keeps_running_attempts(app, client, admin_token, launched):
    import zipfile

    cfg, item = launched["cfg"], launched["item"]
    _commit(client, cfg, item, 1, {"cmi.location": "v1-page", "cmi.exit": "suspend"}, True)
    buf = io.BytesIO()
    with zipfile.ZipFile(sample("RuntimeBasicCalls_SCORM20043rdEdition.zip")) as src, \
            zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr("notes.txt", "bản sửa")
    r = client.post("/api/v1/packages", headers={"Authorization": f"Bearer {admin_token}"},
                    data={"file": (io.BytesIO(buf.getvalue()), "v2.zip"),
                          "package_id": str(launched["pkg"]["id"])})
    assert r.status_code == 201 and r.get_json()["version"] == 2
    # The suspended attempt continues on version 1, with its data.
    assert _reg(client, launched)["package_version"] == 1
    cfg2 = _launch(client, launched["reg"])
    state = client.get(cfg2["stateUrl"].replace("__ITEM__", item)).get_json()["cmi"]
    assert state["cmi.location"] == "v1-page" and state["cmi.entry"] == "resume"
    assert cfg2["scos"][0]["launch"] == cfg["scos"][0]["launch"]
    # Once that attempt ends, the next one starts on version 2.
    _commit(client, cfg2, item, 1, {"cmi.exit": "normal", "cmi.completion_status": "completed"},
            True)
    cfg3 = _launch(client, launched["reg"])
    assert _reg(client, launched)["package_version"] == 2
    assert cfg3["scos"][0]["launch"] != cfg["scos"][0]["launch"]


@pytest.mark.parametrize("exit_value", ["", "logout", "time-out"])
def test_12_non_suspend_exit_is_a_reentry(app, client, admin_token, exit_value):
    pkg, reg, uid, tok = _setup(app, client, admin_token, "RuntimeBasicCalls_SCORM12.zip")
    login_as(client, uid)
    cfg = _launch(client, reg)
    item = cfg["scos"][0]["id"]
    client.get(cfg["stateUrl"].replace("__ITEM__", item))
    r = _commit(client, cfg, item, 1, {"cmi.core.lesson_status": "incomplete",
                                        "cmi.core.lesson_location": "7",
                                        "cmi.core.exit": exit_value}, True)
    assert r.status_code == 200
    cfg = _launch(client, reg)
    again = client.get(cfg["stateUrl"].replace("__ITEM__", item)).get_json()["cmi"]
    assert again["cmi.core.entry"] == ""
    assert again["cmi.core.lesson_location"] == "7"
    assert again["cmi.core.lesson_status"] == "incomplete"


def test_relaunch_reopens_the_last_sco_of_a_multi_sco_package(app, client, admin_token):
    pkg, reg, uid, tok = _setup(app, client, admin_token,
                                "ContentPackagingOneFilePerSCO_SCORM12.zip")
    login_as(client, uid)
    cfg = _launch(client, reg)
    assert cfg["currentItem"] is None
    # Assets are delivered, not committed: the state fetch is what records the visit.
    third = cfg["scos"][2]["id"]
    client.get(cfg["stateUrl"].replace("__ITEM__", third))
    assert _launch(client, reg)["currentItem"] == third
