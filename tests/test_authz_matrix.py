"""Authorization matrix: every route of the app, for each role, answers exactly as listed.

Roles: anonymous, a learner (of unit A), the manager of unit A, the manager of unit B, an
admin. Each row of MATRIX is `"METHOD /rule"` (as in app.url_map) -> cases; a case is a
concrete path (placeholders filled from the world built below), the expected status per role
and, optionally, texts a role must never see in the answer (another unit's people).

A new route fails `test_every_route_is_classified` until it gets a row here: read its code,
decide who may do what, and add the row (the helpers S(...) and constants keep it short).
POST requests carry a valid CSRF token, so a status reflects the authorization decision
rather than a missing token. Cases run in role order, on one world, so a case that changes
something (retire) is written so that later roles still see the intended state.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from lms.extensions import db

from .conftest import sample

ROLES = ("anon", "learner", "mgr_a", "mgr_b", "admin")


@dataclass(frozen=True)
class Case:
    path: str  # str.format()-ed with the world's ids
    expect: tuple[int, int, int, int, int]  # in ROLES order
    data: dict | None = None  # form fields of a POST (the CSRF token is added)
    json: object | None = None  # a JSON body instead
    raw: str | None = None  # a raw text body instead
    hidden: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> texts never shown
    shown: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> texts shown


def S(anon: int, learner: int, mgr_a: int, mgr_b: int, admin: int) -> tuple[int, ...]:
    return (anon, learner, mgr_a, mgr_b, admin)


PUBLIC = S(200, 200, 200, 200, 200)
SIGNED_IN = S(302, 200, 200, 200, 200)
ADMIN = S(302, 403, 403, 403, 200)
ANON_ONLY = S(200, 302, 302, 302, 302)  # login / register pages: signed-in users are sent on
B_SECRET = ("Người Bên B", "nguoi-b@t.vn")  # unit B's person: manager A never sees them


def admin_only(ok: int) -> tuple[int, ...]:
    return S(302, 403, 403, 403, ok)


MATRIX: dict[str, list[Case]] = {
    # --- learner pages, player, content ---------------------------------------------------
    "GET /": [Case("/", SIGNED_IN)],
    "POST /packages/<int:package_id>/start": [Case("/packages/{pkg}/start", S(302, 302, 302,
                                                                               302, 302))],
    "GET /play/<int:reg_id>": [Case("/play/{reg}", S(302, 200, 404, 404, 403))],
    "GET /play/attempt/<int:attempt_id>/sco/<path:item_id>/state": [
        Case("/play/attempt/{attempt}/sco/{item}/state", S(302, 200, 404, 404, 404))],
    "POST /play/attempt/<int:attempt_id>/commit": [
        Case("/play/attempt/{attempt}/commit", S(403, 403, 403, 403, 403), raw="{{}}"),
        # the learner's signed token: only the learner's session (or a cookieless beacon)
        Case("/play/attempt/{attempt}/commit?token={commit_token}", S(400, 400, 403, 403, 403),
             raw="not json")],
    "GET /content/<sha>/<path:path>": [Case("/content/{sha}/{content_file}", SIGNED_IN)],
    "GET /hoc": [Case("/hoc", PUBLIC)],
    "GET /hoc/<code>": [Case("/hoc/{open_prog}", PUBLIC), Case("/hoc/lop-4", PUBLIC),
                        Case("/hoc/khong-co", S(404, 404, 404, 404, 404))],
    "POST /hoc/<code>/dang-ky": [Case("/hoc/{open_prog}/dang-ky", S(302, 302, 302, 302, 302)),
                                 Case("/hoc/lop-4/dang-ky", S(302, 403, 403, 403, 403))],
    "GET /hoc/<programme_code>/<code>": [Case("/hoc/lop-4/{closed_topic}", PUBLIC)],
    "GET /hoc/chuyen-de/<code>": [Case("/hoc/chuyen-de/{closed_topic}", S(302, 302, 302, 302,
                                                                           302))],
    "GET /hoc/module/<code>": [Case("/hoc/module/{closed_module}", PUBLIC)],
    # a closed class's module: only the assigned, the enrolled and admins (not built yet: 302)
    "POST /hoc/module/<code>/bat-dau": [Case("/hoc/module/{closed_module}/bat-dau",
                                             S(302, 403, 403, 403, 302)),
                                        Case("/hoc/module/{assigned_module}/bat-dau",
                                             S(302, 302, 302, 302, 302))],
    "GET /static/<path:filename>": [Case("/static/site.css", PUBLIC)],
    # --- accounts ---------------------------------------------------------------------------
    "GET /login": [Case("/login", ANON_ONLY)],
    "POST /login": [Case("/login", ANON_ONLY, data={"email": "x@t.vn", "password": "sai"})],
    "POST /logout": [Case("/logout", S(302, 302, 302, 302, 302))],
    "GET /register": [Case("/register", ANON_ONLY)],
    "POST /register": [Case("/register", ANON_ONLY, data={})],
    "GET /forgot": [Case("/forgot", PUBLIC)],
    "POST /forgot": [Case("/forgot", PUBLIC, data={"contact": ""})],
    "GET /reset/<token>": [Case("/reset/khong-hop-le", S(400, 400, 400, 400, 400))],
    "POST /reset/<token>": [Case("/reset/khong-hop-le", S(400, 400, 400, 400, 400), data={})],
    # --- unit managers and assignments --------------------------------------------------------
    "GET /manage": [Case("/manage", S(302, 403, 200, 200, 200)),
                    Case("/manage?unit={unit_b}", S(302, 403, 404, 200, 200))],
    "GET /manage/people": [
        Case("/manage/people", S(302, 403, 200, 200, 302), hidden={"mgr_a": B_SECRET}),
        Case("/manage/people?unit={unit_b}", S(302, 403, 404, 200, 200),
             shown={"mgr_b": B_SECRET, "admin": B_SECRET}),
        Case("/manage/people?unit={unit_a}&q=B", S(302, 403, 200, 404, 200),
             hidden={"mgr_a": B_SECRET, "admin": B_SECRET})],
    "GET /manage/people/<int:person_id>": [
        Case("/manage/people/{person_a}", S(302, 403, 200, 404, 200)),
        Case("/manage/people/{person_b}", S(302, 403, 404, 200, 200),
             shown={"mgr_b": B_SECRET, "admin": B_SECRET}),
        Case("/manage/people/{person_b}?unit={unit_a}", S(302, 403, 404, 404, 404)),
        Case("/manage/people/{admin}", S(302, 403, 404, 404, 404))],
    "GET /manage/assignments": [
        Case("/manage/assignments", S(302, 403, 200, 200, 302)),
        Case("/manage/assignments?unit={unit_b}", S(302, 403, 404, 200, 200))],
    "POST /manage/assignments": [
        Case("/manage/assignments", S(302, 403, 422, 422, 302), data={}),
        # a unit manager naming another unit in the form
        Case("/manage/assignments", S(302, 403, 403, 422, 302),
             data={"units": "{unit_b}", "target": "module:{assigned_module_id}"})],
    "POST /manage/assignments/<int:assignment_id>/retire": [
        # manager A retires A's own assignment first; B never reaches it
        Case("/manage/assignments/{asg_a}/retire", S(302, 403, 302, 404, 302), data={}),
        Case("/manage/assignments/{asg_b}/retire", S(302, 403, 404, 302, 302), data={}),
        Case("/manage/assignments/{asg_city}/retire", S(302, 403, 404, 404, 302), data={})],
    "POST /manage/managers": [Case("/manage/managers?unit={unit_a}", admin_only(302),
                                   data={"contact": ""})],
    "POST /manage/managers/<int:user_id>/revoke": [
        Case("/manage/managers/{person_a}/revoke?unit={unit_a}", admin_only(302), data={})],
    "GET /admin/assignments": [Case("/admin/assignments", ADMIN)],
    "POST /admin/assignments": [Case("/admin/assignments", admin_only(422), data={})],
    "POST /admin/assignments/<int:assignment_id>/retire": [
        Case("/admin/assignments/{asg_city}/retire", admin_only(302), data={}),
        Case("/admin/assignments/999999/retire", admin_only(404), data={})],
    # --- admin: packages, units, people, jobs ------------------------------------------------
    "GET /admin/packages": [Case("/admin/packages", ADMIN)],
    "POST /admin/packages": [Case("/admin/packages", admin_only(422), data={})],
    "GET /admin/packages/<int:package_id>": [Case("/admin/packages/{pkg}", ADMIN)],
    "POST /admin/packages/<int:package_id>": [Case("/admin/packages/{pkg}", admin_only(302),
                                                   data={"mode": "none"})],
    "GET /admin/imports/<job_id>": [Case("/admin/imports/khong-co", admin_only(404))],
    "GET /admin/jobs": [Case("/admin/jobs", ADMIN)],
    "POST /admin/jobs": [Case("/admin/jobs", admin_only(302), data={"job_id": "khong-co"})],
    "GET /admin/units": [Case("/admin/units", ADMIN)],
    "POST /admin/units": [Case("/admin/units", admin_only(200), data={})],
    "GET /admin/units/<int:unit_id>": [Case("/admin/units/{unit_a}", ADMIN)],
    "POST /admin/units/<int:unit_id>": [Case("/admin/units/{unit_a}", admin_only(400),
                                             data={"action": "khong-ro"})],
    "GET /admin/people/import": [Case("/admin/people/import", ADMIN)],
    "POST /admin/people/import": [Case("/admin/people/import", admin_only(422), data={})],
    "GET /admin/people/import/<job_id>": [Case("/admin/people/import/khong-co",
                                               admin_only(404))],
    "POST /admin/people/import/skip-invalid": [  # no token: 400 (a forged one: 422)
        Case("/admin/people/import/skip-invalid", admin_only(400), data={}),
        Case("/admin/people/import/skip-invalid", admin_only(422), data={"token": "gia-mao"})],
    # --- admin: catalog ------------------------------------------------------------------------
    "GET /admin/catalog/": [Case("/admin/catalog/", ADMIN)],
    "GET /admin/catalog/programmes/new": [Case("/admin/catalog/programmes/new", ADMIN)],
    "POST /admin/catalog/programmes/new": [Case("/admin/catalog/programmes/new",
                                                admin_only(422), data={})],
    "GET /admin/catalog/programmes/<int:programme_id>": [
        Case("/admin/catalog/programmes/{lop4}", ADMIN)],
    "POST /admin/catalog/programmes/<int:programme_id>": [
        Case("/admin/catalog/programmes/{lop4}", admin_only(422), data={})],
    "GET /admin/catalog/programmes/<int:programme_id>/topics/new": [
        Case("/admin/catalog/programmes/{lop4}/topics/new", ADMIN)],
    "POST /admin/catalog/programmes/<int:programme_id>/topics/new": [
        Case("/admin/catalog/programmes/{lop4}/topics/new", admin_only(422), data={})],
    "GET /admin/catalog/topics/<int:topic_id>": [
        Case("/admin/catalog/topics/{closed_topic_id}", ADMIN)],
    "POST /admin/catalog/topics/<int:topic_id>": [
        Case("/admin/catalog/topics/{closed_topic_id}", admin_only(422), data={})],
    "GET /admin/catalog/topics/<int:topic_id>/modules/new": [
        Case("/admin/catalog/topics/{closed_topic_id}/modules/new", ADMIN)],
    "POST /admin/catalog/topics/<int:topic_id>/modules/new": [
        Case("/admin/catalog/topics/{closed_topic_id}/modules/new", admin_only(422), data={})],
    "GET /admin/catalog/modules/<int:module_id>": [
        Case("/admin/catalog/modules/{closed_module_id}", ADMIN)],
    "POST /admin/catalog/modules/<int:module_id>": [
        Case("/admin/catalog/modules/{closed_module_id}", admin_only(422), data={})],
    "POST /admin/catalog/<kind>/<int:item_id>/<action>": [
        Case("/admin/catalog/module/999999/retire", admin_only(404), data={})],
    # --- certificates ------------------------------------------------------------------------
    "GET /certificates": [Case("/certificates", SIGNED_IN)],
    "GET /certificates/<serial>.pdf": [Case("/certificates/{serial}.pdf",
                                            S(302, 200, 404, 404, 200))],
    "GET /certificates/<serial>.json": [Case("/certificates/{serial}.json",
                                             S(302, 200, 404, 404, 200))],
    "GET /verify/<serial>": [Case("/verify/{serial}", PUBLIC)],
    "GET /verify/<serial>/status": [Case("/verify/{serial}/status", PUBLIC)],
    "GET /.well-known/certificate-issuer": [Case("/.well-known/certificate-issuer", PUBLIC)],
    "GET /.well-known/certificate-issuer.pem": [Case("/.well-known/certificate-issuer.pem",
                                                     PUBLIC)],
    "GET /frameworks/<code>/<version>": [Case("/frameworks/{fw_code}/{fw_version}", PUBLIC)],
    "GET /admin/certificates": [Case("/admin/certificates", ADMIN)],
    "GET /admin/certificates/confirmations.csv": [Case("/admin/certificates/confirmations.csv",
                                                        ADMIN)],
    "POST /admin/certificates/issue": [Case("/admin/certificates/issue", admin_only(302),
                                            data={})],
    "GET /admin/certificates/jobs/<job_id>": [Case("/admin/certificates/jobs/khong-co",
                                                   admin_only(404))],
    "GET /admin/certificates/<serial>": [Case("/admin/certificates/{serial}", ADMIN)],
    "POST /admin/certificates/<serial>": [Case("/admin/certificates/{serial}",
                                               admin_only(422), data={})],
    # --- reports: a unit manager sees their own unit only ------------------------------------
    "GET /reports/dashboard": [Case("/reports/dashboard", S(302, 403, 302, 302, 200))],
    "POST /reports/dashboard/refresh": [Case("/reports/dashboard/refresh", admin_only(302),
                                             data={})],
    "GET /reports/dashboard/units/<int:unit_id>": [
        Case("/reports/dashboard/units/{unit_a}", S(302, 403, 200, 404, 200),
             hidden={"mgr_a": B_SECRET}),
        Case("/reports/dashboard/units/{unit_b}", S(302, 403, 404, 200, 200))],
    "GET /reports/modules": [Case("/reports/modules", S(302, 403, 200, 200, 200)),
                             Case("/reports/modules?unit={unit_b}", S(302, 403, 404, 200,
                                                                      200))],
    "GET /reports/modules/<int:module_id>": [
        Case("/reports/modules/{closed_module_id}", S(302, 403, 200, 200, 200)),
        Case("/reports/modules/{closed_module_id}?unit={unit_b}", S(302, 403, 404, 200, 200))],
    "GET /reports/modules/<int:module_id>/questions.csv": [
        Case("/reports/modules/{closed_module_id}/questions.csv", S(302, 403, 200, 200, 200))],
    "GET /reports/modules/<int:module_id>/scores.csv": [
        Case("/reports/modules/{closed_module_id}/scores.csv", S(302, 403, 200, 200, 200),
             hidden={"mgr_a": B_SECRET})],
    "GET /reports/roster": [
        Case("/reports/roster?programme_id={lop1}&unit_id={unit_b}",
             S(302, 403, 200, 200, 200), hidden={"mgr_a": B_SECRET},
             shown={"mgr_b": B_SECRET[:1], "admin": B_SECRET[:1]})],
    "POST /reports/roster/export": [Case("/reports/roster/export", S(302, 403, 302, 302, 302),
                                         data={"fmt": "csv", "programme_id": "{lop1}"})],
    "GET /reports/exports/<job_id>": [Case("/reports/exports/{export_a}",
                                           S(302, 403, 200, 404, 200))],
    "GET /reports/exports/<job_id>/download": [Case("/reports/exports/{export_a}/download",
                                                    S(302, 403, 404, 404, 404))],
    # --- API (bearer token or session) -----------------------------------------------------
    "GET /api/v1/openapi.json": [Case("/api/v1/openapi.json", PUBLIC)],
    "POST /api/v1/packages": [Case("/api/v1/packages", S(401, 403, 403, 403, 422), data={})],
    "GET /api/v1/packages/<int:package_id>": [Case("/api/v1/packages/{pkg}",
                                                   S(401, 200, 200, 200, 200))],
    "POST /api/v1/registrations": [Case("/api/v1/registrations", S(401, 422, 422, 422, 422),
                                        json={"package_id": 999999})],
    "GET /api/v1/registrations/<int:reg_id>": [Case("/api/v1/registrations/{reg}",
                                                    S(401, 200, 404, 404, 200))],
    # --- operations --------------------------------------------------------------------------
    "GET /healthz": [Case("/healthz", PUBLIC)],
    "GET /readyz": [Case("/readyz", PUBLIC)],
    "GET /metrics": [Case("/metrics", PUBLIC)],
}


def route_keys(app) -> set[str]:
    return {f"{method} {rule.rule}" for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_classified(app):
    keys = route_keys(app)
    missing = sorted(keys - MATRIX.keys())
    stale = sorted(MATRIX.keys() - keys)
    assert not missing, "routes without a row in MATRIX (decide who may use them):\n" + \
        "\n".join(missing)
    assert not stale, "MATRIX rows for routes that no longer exist:\n" + "\n".join(stale)
    assert all(MATRIX[k] for k in keys)


# --- the world --------------------------------------------------------------------------------


def build_world(app) -> dict[str, object]:
    from lms import tracking
    from lms.catalog import seed_structure
    from lms.importer import import_package
    from lms.models import (
        Assignment,
        AssignmentAudience,
        Certificate,
        Enrollment,
        FrameworkVersion,
        Programme,
        Unit,
        User,
    )
    from lms.reports.exports import create_job
    from lms.reports.roster import RosterFilters
    from lms.security import commit_token, hash_password

    zip_path = sample("RuntimeBasicCalls_SCORM12.zip")
    with app.app_context():
        seed_structure()
        unit_a = Unit(code="TA", name="Phường Thử A", kind="phuong")
        unit_b = Unit(code="TB", name="Xã Thử B", kind="xa")
        db.session.add_all([unit_a, unit_b])
        db.session.flush()
        pw = hash_password("mat-khau-123")

        def person(key: str, name: str, role: str, unit: Unit | None) -> User:
            user = User(email=f"{key}@t.vn", name=name, role=role, password_hash=pw,
                        unit_id=unit.id if unit else None, job_title="Chuyên viên")
            db.session.add(user)
            return user

        users = {"learner": person("learner", "Người Học", "learner", unit_a),
                 "mgr_a": person("mgr-a", "Quản Lý A", "unit_manager", unit_a),
                 "mgr_b": person("mgr-b", "Quản Lý B", "unit_manager", unit_b),
                 "admin": person("admin", "Quản Trị", "admin", None),
                 "person_a": person("nguoi-a", "Người Bên A", "learner", unit_a),
                 "person_b": person("nguoi-b", "Người Bên B", "learner", unit_b)}
        db.session.commit()

        package = import_package(zip_path).version.package
        reg = tracking.register(users["learner"], package)
        attempt = tracking.open_session(reg)
        item = tracking.version_info(reg.package_version_id).order[0]  # the first SCO
        progs = {p.code: p for p in db.session.scalars(select(Programme))}
        lop4, lop1 = progs["lop-4"], progs["lop-1"]
        closed_topic = lop4.topics[0]
        closed_module = closed_topic.modules[0]
        assigned_module = lop1.topics[0].modules[0]
        open_prog = next(p for p in progs.values() if p.open)
        due = date.today() + timedelta(days=30)

        def assignment(owner: Unit | None, by: User, *units: Unit) -> int:
            a = Assignment(target_type="topic", target_id=assigned_module.topic_id,
                           due_date=due, owner_unit_id=owner.id if owner else None,
                           created_by_id=by.id,
                           audiences=[AssignmentAudience(unit_id=u.id) for u in units])
            db.session.add(a)
            db.session.flush()
            return a.id

        assignment(None, users["admin"], unit_a, unit_b)  # keeps assigned_module assigned
        ids = {"asg_a": assignment(unit_a, users["mgr_a"], unit_a),
               "asg_b": assignment(unit_b, users["mgr_b"], unit_b),
               "asg_city": assignment(None, users["admin"], unit_a)}
        fw = db.session.scalar(select(FrameworkVersion))
        from lms.certificates.serial import new_serial

        cert = Certificate(serial=new_serial(), user_id=users["learner"].id,
                           programme_id=lop1.id, framework_id=fw.id,
                           learner_name="Người Học", programme_title=lop1.title,
                           target_group="Cán bộ", competencies=[], issuer="Sở",
                           completed_on=date.today(), credential={"id": "x"},
                           pdf=b"%PDF-1.4 test")
        db.session.add(cert)
        for key in ("person_a", "person_b"):  # on the class roster of their units
            db.session.add(Enrollment(user_id=users[key].id, programme_id=lop1.id,
                                      source="admin"))
        db.session.commit()
        export = create_job(users["mgr_a"].id, "csv",
                            RosterFilters.from_params({"programme_id": lop1.id}),
                            unit_a.id)
        content_file = _first_file(app, package.current_version.sha256)
        world = {
            **{k: u.id for k, u in users.items()}, **ids,
            "unit_a": unit_a.id, "unit_b": unit_b.id, "pkg": package.id, "reg": reg.id,
            "attempt": attempt.id, "item": item, "sha": package.current_version.sha256,
            "content_file": content_file,
            "commit_token": commit_token(attempt.id, users["learner"].id),
            "open_prog": open_prog.code, "lop4": lop4.id, "lop1": lop1.id,
            "closed_topic": closed_topic.code, "closed_topic_id": closed_topic.id,
            "closed_module": closed_module.code, "closed_module_id": closed_module.id,
            "assigned_module": assigned_module.code, "assigned_module_id": assigned_module.id,
            "serial": cert.serial, "fw_code": fw.code, "fw_version": fw.version,
            "export_a": export.id,
        }
        return world


def _first_file(app, sha: str) -> str:
    root = os.path.join(app.config["CONTENT_ROOT"], sha)
    for folder, _dirs, files in os.walk(root):
        for name in sorted(files):
            if name.endswith(".html"):
                return os.path.relpath(os.path.join(folder, name), root)
    raise AssertionError("no HTML file in the package")


def _client(app, world: dict, role: str):
    client = app.test_client()
    raw = hashlib.sha1(os.urandom(32)).hexdigest()
    with client.session_transaction() as s:
        s["csrf_token"] = raw
        if role != "anon":
            s["_user_id"] = str(world[role])
            s["_fresh"] = True
    token = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
    return client, token


def _request(app, world: dict, role: str, method: str, case: Case):
    client, token = _client(app, world, role)
    path = case.path.format(**world)
    if method == "GET":
        return client.get(path)
    headers = {"X-CSRFToken": token}
    if case.json is not None:
        return client.post(path, json=case.json, headers=headers)
    if case.raw is not None:
        return client.post(path, data=case.raw.format(**world), headers=headers,
                           content_type="text/plain")
    data = {k: v.format(**world) for k, v in (case.data or {}).items()}
    return client.post(path, data={**data, "csrf_token": token}, headers=headers)


def test_matrix(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)
    from lms.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)
    world = build_world(app)
    keys = route_keys(app)
    failures = []
    for key in sorted(MATRIX, key=lambda k: (k.split(" ", 1)[1], k)):
        if key not in keys:
            continue  # reported by test_every_route_is_classified
        method = key.split(" ", 1)[0]
        for case in MATRIX[key]:
            for role, expected in zip(ROLES, case.expect, strict=True):
                r = _request(app, world, role, method, case)
                if r.status_code != expected:
                    failures.append(f"{role:8} {method} {case.path.format(**world)}: "
                                    f"{r.status_code}, expected {expected}")
                    continue
                body = r.get_data(as_text=True)
                for text in case.hidden.get(role, ()):
                    if text in body:
                        failures.append(f"{role:8} {method} {case.path.format(**world)}: "
                                        f"shows {text!r}")
                for text in case.shown.get(role, ()):
                    if text not in body:
                        failures.append(f"{role:8} {method} {case.path.format(**world)}: "
                                        f"does not show {text!r}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures)


# --- brute force: rate-limited with a clear Vietnamese message ---------------------------------


@pytest.mark.parametrize("per", ["account", "address"])
def test_brute_force_login_gets_429_in_vietnamese(app, client, monkeypatch, per):
    from .conftest import csrf_token, make_user

    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_IP", "4 per 5 minutes")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_ACCOUNT", "3 per 15 minutes")
    with app.app_context():
        make_user("muc-tieu@t.vn")
    token = csrf_token(client.get("/login").get_data(as_text=True))
    limit = 3 if per == "account" else 4
    codes = []
    for n in range(limit + 1):
        # one account over and over, or a different account every time from one address
        email = "muc-tieu@t.vn" if per == "account" else f"thu-{n}@t.vn"
        codes.append(client.post("/login", data={"email": email, "password": f"sai-{n}",
                                                 "csrf_token": token}))
    assert [r.status_code for r in codes] == [200] * limit + [429]
    page = codes[-1].get_data(as_text=True)
    assert "Thử quá nhiều lần" in page
    assert "Bạn đã thử quá nhiều lần. Vì an toàn cho tài khoản, vui lòng đợi ít phút rồi thử " \
           "lại." in page
    assert int(codes[-1].headers["Retry-After"]) > 0
    # the right password waits too while the limit holds
    r = client.post("/login", data={"email": "muc-tieu@t.vn", "password": "mat-khau-123",
                                    "csrf_token": token})
    assert r.status_code == 429
