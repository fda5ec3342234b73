"""`flask lms gen-demo`: a synthetic city in the proportions of the city's report."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from lms.certificates.serial import normalise
from lms.demo import plan
from lms.extensions import db
from lms.models import (
    Attempt,
    Certificate,
    Enrollment,
    Interaction,
    Module,
    Programme,
    Registration,
    ScoState,
    Unit,
    User,
)
from lms.progress import live_modules, modules_progress, programme_rollup

VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]",
                        re.IGNORECASE)


def test_plan_scales_the_report():
    assert plan(59_841) == {"civil_servants": 45_344, "citizens": 14_497, "lop-1": 45_344,
                            "lop-2": 11_749, "lop-3": 1_294, "lop-4": 1_454}
    big = plan(1_000_000)
    assert big["civil_servants"] + big["citizens"] == 1_000_000
    assert round(big["lop-1"] / big["lop-2"], 2) == round(45_344 / 11_749, 2)


def test_gen_demo_2000_learners(app, ctx):
    result = app.test_cli_runner().invoke(args=["lms", "gen-demo", "--learners", "2000",
                                                "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "Demo data:" in result.output

    def count(model, *where) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    assert count(Unit) == 128
    assert count(User, User.role == "learner") == 2000
    assert count(User, User.role == "unit_manager") == 128
    names = db.session.scalars(select(User.name).where(User.role == "learner")).all()
    assert sum(bool(VIETNAMESE.search(n)) for n in names) > 1900  # names carry diacritics
    assert len(set(names)) > 1000

    per_class = dict(db.session.execute(
        select(Programme.code, func.count(Enrollment.id)).join(Enrollment)
        .group_by(Programme.code)).all())
    want = plan(2000)
    for code in ("lop-1", "lop-2", "lop-3", "lop-4"):
        assert abs(per_class[code] - want[code]) <= max(12, want[code] * 0.25), (code, per_class)
    assert per_class["nguoi-dan"] > 0  # the other citizens
    civil = count(User, User.role == "learner", User.unit_id.is_not(None))
    assert abs(civil - want["civil_servants"]) < 80
    assert count(User, User.role == "learner", User.unit_id.is_(None),
                 User.residence_unit_id.is_not(None)) == 2000 - civil

    # tracking: every registration has its attempt and SCO state; realistic statuses
    regs = count(Registration)
    assert regs > 2000 and count(Attempt) == regs and count(ScoState) == regs
    statuses = set(db.session.execute(
        select(Registration.completion_status, Registration.success_status).distinct()).all())
    assert {("completed", "passed"), ("completed", "failed"), ("incomplete", "unknown"),
            ("completed", "unknown")} <= statuses
    assert count(Interaction) > 0
    scores = db.session.scalars(select(Registration.score_scaled)
                                .where(Registration.success_status == "passed")).all()
    assert min(scores) >= 0.7 and max(scores) <= 1.0
    assert db.session.scalar(select(func.min(Registration.total_seconds))
                             .where(Registration.completion_status == "completed")) > 0

    # certificates: valid serials, exactly for learners whose programme is complete
    serials = db.session.scalars(select(Certificate.serial)).all()
    assert serials and all(normalise(s) == s for s in serials)
    lop1 = db.session.scalar(select(Programme).where(Programme.code == "lop-1"))
    modules = live_modules(lop1)
    assert all(m.package_id for m in modules)  # sample packages, importable and trackable
    sample = db.session.scalars(select(Enrollment.user_id)
                                .where(Enrollment.programme_id == lop1.id).limit(60)).all()
    certified = set(db.session.scalars(select(Certificate.user_id)
                                       .where(Certificate.programme_id == lop1.id)))
    for uid in sample:
        complete = programme_rollup(lop1, modules_progress(uid, modules)).complete
        assert complete == (uid in certified)
    assert count(Module) == 43  # the catalog of courses/catalog.yaml
