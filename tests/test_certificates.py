"""Certificates: eligibility from the programme's rule, the attested competencies, exactly one
certificate per learner and programme (also under concurrency), automatic issue on completion."""

from __future__ import annotations

import io
import json
import re
import stat
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lms.catalog import seed_structure
from lms.certificates import issue as issue_mod
from lms.certificates import keys
from lms.certificates.issue import issue_certificate
from lms.certificates.rules import attested_competencies, eligibility
from lms.certificates.serial import new_serial, normalise
from lms.extensions import db
from lms.models import (
    Certificate,
    FrameworkVersion,
    Package,
    PackageVersion,
    Programme,
    Registration,
    Unit,
    User,
)
from lms.progress import live_modules

from .browser_helpers import wait_until
from .conftest import login_as, make_token, make_user, running_worker, sample

PROGRAMME = "lop-3"  # two modules: small, and every one required


@pytest.fixture(autouse=True)
def _key_dir(app, tmp_path_factory, monkeypatch):
    """Development keys in a folder of the test session, never in the repository's instance/."""
    folder = tmp_path_factory.getbasetemp() / "certificate-keys"
    monkeypatch.setitem(app.config, "CERT_KEY_DIR", str(folder))
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://hocvuso.haiphong.example")
    yield


@pytest.fixture
def cert_worker(app, monkeypatch):
    """A real RQ worker when Redis is configured (None in the embedded default), using this
    test session's certificate keys."""
    monkeypatch.setenv("CERT_KEY_DIR", app.config["CERT_KEY_DIR"])
    with running_worker(app) as proc:
        yield proc


def setup_programme(code: str = PROGRAMME) -> Programme:
    """Seed the catalog and give every module of `code` a package (a minimal version row)."""
    seed_structure()
    programme = db.session.scalar(db.select(Programme).filter_by(code=code))
    for module in live_modules(programme):
        pkg = Package(title=module.title)
        db.session.add(pkg)
        db.session.flush()
        version = PackageVersion(
            package_id=pkg.id, number=1, sha256="0" * 64, scorm_version="1.2", edition="",
            title=module.title, manifest={}, sequencing={}, size_bytes=1, file_count=1,
        )
        db.session.add(version)
        db.session.flush()
        pkg.current_version_id = version.id
        module.package_id = pkg.id
    db.session.commit()
    return programme


def make_learner(email: str, name: str = "Nguyễn Thị Hồng Nhung", birth_year: int | None = 1975,
                 unit: str | None = "Phường Lê Ích Mộc") -> User:
    user = db.session.get(User, make_user(email))
    user.name = name
    user.birth_year = birth_year
    if unit:
        row = db.session.scalar(db.select(Unit).filter_by(name=unit))
        if row is None:
            row = Unit(code=f"T{abs(hash(unit)) % 10000}", name=unit, kind="phuong")
            db.session.add(row)
            db.session.flush()
        user.residence_unit_id = row.id
    db.session.commit()
    return user


def pass_module(user: User, module, status: str = "passed") -> None:
    pkg = db.session.get(Package, module.package_id)
    db.session.add(Registration(
        user_id=user.id, package_id=pkg.id, package_version_id=pkg.current_version_id,
        completion_status="completed", success_status=status, total_seconds=300.0,
        completed_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    ))
    db.session.commit()


def certified_learner(email: str = "nhung@example.vn") -> tuple[User, Programme, Certificate]:
    programme = setup_programme()
    user = make_learner(email)
    for module in live_modules(programme):
        pass_module(user, module)
    result = issue_certificate(user, programme)
    assert result.created
    return user, programme, result.certificate


def count_certificates() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Certificate))


# --- serials ----------------------------------------------------------------------------------


def test_serial_has_a_check_character_that_catches_typos():
    serial = new_serial()
    assert re.fullmatch(r"HP-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", serial)
    assert normalise(serial) == serial
    assert normalise(serial.lower().replace("-", " ")) == serial  # typed loosely
    body = serial[8:]
    for pos, ch in enumerate(body):
        if ch == "-":
            continue
        other = "7" if ch != "7" else "8"
        typo = serial[:8] + body[:pos] + other + body[pos + 1:]
        assert normalise(typo) is None, typo  # every single-character typo is caught
    assert normalise("HP-2026-XXXX") is None


# --- rules --------------------------------------------------------------------------------


def test_completing_the_required_modules_gives_exactly_one_certificate(app):
    with app.app_context():
        user, programme, cert = certified_learner()
        assert count_certificates() == 1
        again = issue_certificate(user, programme)
        assert not again.created and again.certificate.serial == cert.serial
        assert count_certificates() == 1

        assert cert.learner_name == "Nguyễn Thị Hồng Nhung"
        assert (cert.birth_year, cert.unit_name) == (1975, "Phường Lê Ích Mộc")
        assert cert.programme_title == programme.title
        assert cert.issuer == "Sở Khoa học và Công nghệ Hải Phòng"
        assert cert.completed_on.isoformat() == "2026-11-20"
        assert db.session.get(FrameworkVersion, cert.framework_id).code == "tt02-2025"
        # target group names from the framework, for the programme's audience
        assert cert.target_group == "Cán bộ, công chức, viên chức và người lao động trong " \
                                    "cơ quan nhà nước"
        # competencies: the union of the modules' mapping, highest level each, by domain
        expected: dict[str, int] = {}
        for module in live_modules(programme):
            for mc in module.competencies:
                expected[mc.competency.code] = max(expected.get(mc.competency.code, 0), mc.level)
        printed = {c["code"]: c["level"] for d in cert.competencies for c in d["competencies"]}
        assert printed == expected and printed
        domains = [d["code"] for d in cert.competencies]
        assert domains == sorted(domains)
        for d in cert.competencies:
            assert all(c["code"].startswith(d["code"] + ".") for c in d["competencies"])
        assert cert.pdf and cert.pdf.startswith(b"%PDF")
        assert cert.credential["proof"]["cryptosuite"] == "eddsa-jcs-2022"


def test_highest_level_wins_when_two_modules_map_one_competency(app):
    with app.app_context():
        programme = setup_programme()
        modules = live_modules(programme)
        first, second = modules[0], modules[1]
        shared = first.competencies[0]
        from lms.models import ModuleCompetency

        second.competencies.append(ModuleCompetency(competency=shared.competency, level=4))
        db.session.commit()
        attested = attested_competencies(modules)
        levels = {c["code"]: (c["level"], c["level_code"])
                  for d in attested.domains for c in d["competencies"]}
        assert levels[shared.competency.code] == (4, "TC2")


def test_missing_one_required_module_gives_no_certificate(app):
    with app.app_context():
        programme = setup_programme()
        user = make_learner("thieu@example.vn")
        modules = live_modules(programme)
        pass_module(user, modules[0])
        pass_module(user, modules[1], status="failed")  # taken, but the quiz not passed
        elig = eligibility(user, programme)
        assert not elig.eligible
        assert [m.id for m in elig.missing_modules] == [modules[1].id]
        result = issue_certificate(user, programme)
        assert result.certificate is None and not result.created
        assert count_certificates() == 0


def test_programme_without_certificate_issues_none(app):
    with app.app_context():
        programme = setup_programme()
        programme.certificate = False
        db.session.commit()
        user = make_learner("khong@example.vn")
        for module in live_modules(programme):
            pass_module(user, module)
        assert issue_certificate(user, programme).certificate is None
        assert count_certificates() == 0


def test_concurrent_issuing_gives_one_certificate(app, monkeypatch):
    with app.app_context():
        programme = setup_programme()
        user = make_learner("dongthoi@example.vn")
        for module in live_modules(programme):
            pass_module(user, module)
        user_id, programme_id = user.id, programme.id

    workers = 4
    barrier = threading.Barrier(workers, timeout=30)
    real_render = issue_mod.pdf.render

    def render_after_everyone_checked(*args, **kwargs):
        barrier.wait()  # all workers have seen "no certificate yet" before anyone inserts
        return real_render(*args, **kwargs)

    monkeypatch.setattr(issue_mod.pdf, "render", render_after_everyone_checked)
    results: list = []
    errors: list = []

    def work() -> None:
        try:
            with app.app_context():
                result = issue_certificate(db.session.get(User, user_id),
                                           db.session.get(Programme, programme_id))
                results.append((result.created, result.certificate.serial))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == workers
    assert sum(created for created, _ in results) == 1
    assert len({serial for _, serial in results}) == 1
    with app.app_context():
        assert count_certificates() == 1


# --- keys ---------------------------------------------------------------------------------


def test_development_keys_are_generated_once_and_private(app):
    with app.app_context():
        first = keys.pdf_material()
        raw = keys.vc_public_raw()
        folder = Path(app.config["CERT_KEY_DIR"])
        files = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        assert set(files) == {keys.VC_DEV_FILE, keys.PDF_DEV_FILE}
        for name in files:
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        assert keys.pdf_material().cert_pem == first.cert_pem and keys.vc_public_raw() == raw
        assert first.development


# --- automatic issue ----------------------------------------------------------------------


def test_passing_the_last_module_issues_the_certificate_automatically(app, client,
                                                                       admin_token,
                                                                       cert_worker,
                                                                       monkeypatch):
    """A real SCORM commit that turns the last required module 'passed' enqueues the job
    (in-process in the embedded default), which issues the certificate."""
    with open(sample("RuntimeBasicCalls_SCORM12.zip"), "rb") as fh:
        pkg = client.post("/api/v1/packages", headers={"Authorization": f"Bearer {admin_token}"},
                          data={"file": (io.BytesIO(fh.read()), "p.zip")}).get_json()
    with app.app_context():
        programme = setup_programme()
        modules = live_modules(programme)
        modules[-1].package_id = pkg["id"]
        db.session.commit()
        user = make_learner("tudong@example.vn")
        pass_module(user, modules[0])
        uid, email, programme_id = user.id, user.email, programme.id
        token = make_token(email)
    reg = client.post("/api/v1/registrations", headers={"Authorization": f"Bearer {token}"},
                      json={"package_id": pkg["id"]}).get_json()
    login_as(client, uid)
    html = client.get(f"/play/{reg['id']}").get_data(as_text=True)
    cfg = json.loads(re.search(r'<script id="player-config" type="application/json">(.*?)'
                               r'</script>', html, re.S).group(1))
    item = cfg["scos"][0]["id"]
    client.get(cfg["stateUrl"].replace("__ITEM__", item))

    def commit(seq: int, status: str):
        body = {"item": item, "session": cfg["session"], "seq": seq, "terminate": True,
                "cmi": {"cmi.core.lesson_status": status, "cmi.core.score.raw": "90"}}
        return client.post(cfg["commitUrl"], data=json.dumps(body),
                           headers={"Content-Type": "text/plain;charset=UTF-8"})

    from lms.certificates import hooks

    hook_calls: list[int] = []
    real_hook = hooks.module_done

    def counting_hook(registration_id: int) -> None:
        hook_calls.append(registration_id)
        real_hook(registration_id)

    monkeypatch.setattr(hooks, "module_done", counting_hook)
    assert commit(1, "incomplete").status_code == 200
    with app.app_context():
        assert count_certificates() == 0
    assert hook_calls == []  # an ordinary commit does no certificate work
    assert commit(2, "passed").status_code == 200
    assert hook_calls == [reg["id"]]  # the transition to passed

    def issued():
        with app.app_context():
            return db.session.scalar(db.select(Certificate).filter_by(user_id=uid))

    cert = wait_until(issued, 60, "the certificate")  # a worker may need a moment
    assert cert is not None and cert.programme_id == programme_id
    with app.app_context():
        assert cert.credential["id"] == f"https://hocvuso.haiphong.example/verify/{cert.serial}"
    assert commit(3, "passed").status_code == 200  # no transition: nothing new
    assert hook_calls == [reg["id"]]
    time.sleep(0.5 if cert_worker else 0)
    with app.app_context():
        assert count_certificates() == 1
