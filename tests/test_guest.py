""""Học ngay": a visitor learns an open module as a guest; registering or logging in carries
everything into the account (the merge rule is in lms.guest._merge_registration)."""

from __future__ import annotations

from datetime import timedelta

from lms.extensions import db
from lms.guest import ROLE, purge_guests
from lms.models import (
    Attempt,
    Enrollment,
    Interaction,
    Registration,
    ScoState,
    User,
    utcnow,
)

from .conftest import csrf_token, login_as, make_user
from .learn_support import attach, commit, commune, launch, post_form, seed, start

GUEST_CMI = {"cmi.location": "trang-5", "cmi.suspend_data": "da-xem:1,2,3,4",
             "cmi.completion_status": "incomplete", "cmi.session_time": "PT3M",
             "cmi.exit": "suspend",
             "cmi.interactions.0.id": "cau-hoi-1", "cmi.interactions.0.type": "choice",
             "cmi.interactions.0.learner_response": "b", "cmi.interactions.0.result": "correct"}


def _learn_now(app, client) -> dict:
    """An anonymous visitor presses "Học ngay" and makes progress through the SCORM API."""
    r = start(client, "nd-1-1")
    assert r.status_code == 302 and r.headers["Location"].startswith("/play/")
    cfg = launch(client, r.headers["Location"])
    commit(client, cfg, 1, GUEST_CMI)
    with app.app_context():
        guest = db.session.scalar(db.select(User).where(User.role == ROLE))
        reg = db.session.scalar(db.select(Registration).where(Registration.user_id == guest.id))
        assert reg.completion_status == "incomplete" and reg.total_seconds == 180
        return {"guest_id": guest.id, "reg_id": reg.id, "attempt_id": cfg["attempt"], "cfg": cfg}


def _state(app, attempt_id: int) -> ScoState:
    with app.app_context():
        state = db.session.scalar(db.select(ScoState).where(ScoState.attempt_id == attempt_id))
        db.session.expunge(state)
        return state


def test_learn_now_tracks_a_guest_without_an_account(app, client):
    seed(app)
    attach(app, "nd-1-1")
    page = client.get("/hoc/module/nd-1-1").get_data(as_text=True)
    assert ">Học ngay</button>" in page
    info = _learn_now(app, client)
    with app.app_context():
        guest = db.session.get(User, info["guest_id"])
        assert guest.email is None and guest.phone is None
        assert db.session.scalar(db.select(Enrollment.source).where(
            Enrollment.user_id == guest.id)) == "self"
    # The guest now sees their progress and can continue where they stopped.
    page = client.get("/hoc/module/nd-1-1").get_data(as_text=True)
    assert 'data-status="in_progress"' in page and ">Tiếp tục học</button>" in page
    assert "3 phút" in page and "data-guest-note" in page
    # Guests never reach admin pages and keep the sign-up links in the header.
    assert client.get("/admin/packages").status_code == 403
    assert 'href="/register"' in page and "Đăng xuất" not in page


def test_guest_registers_and_keeps_every_piece_of_progress(app, client):
    seed(app)
    attach(app, "nd-1-1")
    unit_id = commune(app)
    info = _learn_now(app, client)
    page = client.get("/register").get_data(as_text=True)
    assert 'id="name"' in page  # the form, not a redirect: guests may sign up
    r = client.post("/register", data={
        "csrf_token": csrf_token(page), "name": "Trần Thị Lan", "contact": "0912345678",
        "birth_year": "1960", "residence": str(unit_id), "password": "mat-khau-123",
        "password2": "mat-khau-123"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        account = db.session.scalar(db.select(User).where(User.phone == "0912345678"))
        assert account.role == "learner"
        assert db.session.get(User, info["guest_id"]) is None
        assert db.session.scalar(db.select(db.func.count()).select_from(User)
                                 .where(User.role == ROLE)) == 0
        reg = db.session.get(Registration, info["reg_id"])
        assert reg.user_id == account.id and reg.total_seconds == 180
        attempt = db.session.get(Attempt, info["attempt_id"])
        assert attempt.registration_id == reg.id
        inter = db.session.scalar(db.select(Interaction).join(ScoState).where(
            ScoState.attempt_id == attempt.id))
        assert (inter.interaction_id, inter.learner_response, inter.result) == (
            "cau-hoi-1", "b", "correct")
        assert db.session.scalar(db.select(Enrollment.user_id)) == account.id
    state = _state(app, info["attempt_id"])
    assert state.cmi["cmi.location"] == "trang-5"
    assert state.cmi["cmi.suspend_data"] == "da-xem:1,2,3,4"
    # The same session continues as the account: the player resumes the guest's attempt.
    cfg = launch(client, f"/play/{info['reg_id']}")
    assert cfg["attempt"] == info["attempt_id"]
    cmi = client.get(cfg["stateUrl"].replace("__ITEM__", cfg["item"])).get_json()["cmi"]
    assert cmi["cmi.location"] == "trang-5" and cmi["cmi.entry"] == "resume"


def _account_with_attempt(app, email: str, cmi: dict) -> tuple[int, int]:
    """An account that already took nd-1-1 (its own attempt on the same SCO)."""
    with app.app_context():
        uid = make_user(email)
    other = app.test_client()
    login_as(other, uid)
    r = start(other, "nd-1-1")
    cfg = launch(other, r.headers["Location"])
    commit(other, cfg, 1, cmi, terminate=True)
    return uid, cfg["attempt"]


def _login(client, email: str):
    page = client.get("/login").get_data(as_text=True)
    assert "<form" in page  # a guest sees the login form, not a redirect
    return client.post("/login", data={"csrf_token": csrf_token(page), "email": email,
                                       "password": "mat-khau-123"})


def test_login_merges_guest_into_an_account_with_its_own_attempt(app, client):
    """Both attempts are kept; the newer (the guest's) is current; the pass is never lost."""
    seed(app)
    attach(app, "nd-1-1")
    uid, old_attempt = _account_with_attempt(app, "hv@example.vn", {
        "cmi.location": "trang-9", "cmi.completion_status": "completed",
        "cmi.success_status": "passed", "cmi.score.scaled": "0.8", "cmi.session_time": "PT5M"})
    with app.app_context():
        states_before = db.session.scalar(db.select(db.func.count()).select_from(ScoState))
        old_reg = db.session.scalar(db.select(Registration.id).where(Registration.user_id == uid))
    info = _learn_now(app, client)
    assert _login(client, "hv@example.vn").status_code == 302
    with app.app_context():
        assert db.session.get(User, info["guest_id"]) is None
        regs = db.session.scalars(db.select(Registration).where(Registration.user_id == uid)).all()
        assert [r.id for r in regs] == [old_reg]
        reg = regs[0]
        attempts = db.session.scalars(db.select(Attempt).where(Attempt.registration_id == reg.id)
                                      .order_by(Attempt.number)).all()
        assert [(a.id, a.number) for a in attempts] == [(old_attempt, 1), (info["attempt_id"], 2)]
        assert (reg.completion_status, reg.success_status) == ("completed", "passed")
        assert reg.score_scaled == 0.8 and reg.total_seconds == 300 + 180
        assert db.session.scalar(db.select(db.func.count()).select_from(ScoState)) == (
            states_before + 1)
        assert db.session.get(Registration, info["reg_id"]) is None  # emptied and removed
    assert _state(app, old_attempt).cmi["cmi.location"] == "trang-9"
    assert _state(app, info["attempt_id"]).cmi["cmi.location"] == "trang-5"
    cfg = launch(client, f"/play/{old_reg}")
    assert cfg["attempt"] == info["attempt_id"]  # the player resumes the newest work
    page = client.get("/hoc/module/nd-1-1").get_data(as_text=True)
    assert 'data-status="passed"' in page and "<dd data-score>80%</dd>" in page


def test_login_keeps_the_accounts_attempt_current_when_it_is_newer(app, client):
    seed(app)
    attach(app, "nd-1-1")
    info = _learn_now(app, client)
    uid, own_attempt = _account_with_attempt(app, "hv@example.vn", {
        "cmi.location": "trang-2", "cmi.completion_status": "incomplete",
        "cmi.session_time": "PT1M"})
    with app.app_context():  # the account's work is newer than the guest's
        state = db.session.scalar(db.select(ScoState).where(ScoState.attempt_id == own_attempt))
        state.updated_at = utcnow() + timedelta(minutes=10)
        db.session.commit()
    assert _login(client, "hv@example.vn").status_code == 302
    with app.app_context():
        reg = db.session.scalar(db.select(Registration).where(Registration.user_id == uid))
        numbers = dict(db.session.execute(db.select(Attempt.id, Attempt.number).where(
            Attempt.registration_id == reg.id)).all())
        assert numbers == {info["attempt_id"]: 1, own_attempt: 2}
        assert reg.completion_status == "incomplete" and reg.total_seconds == 180 + 60


def test_guests_cannot_enter_closed_classes(app, client):
    seed(app)
    attach(app, "nd-1-1")
    attach(app, "l1-1", "RuntimeBasicCalls_SCORM12.zip")
    _learn_now(app, client)
    assert "Dành cho cán bộ được giao" in client.get("/hoc/module/l1-1").get_data(as_text=True)
    assert post_form(client, "/hoc", "/hoc/module/l1-1/bat-dau").status_code == 403
    assert post_form(client, "/hoc", "/hoc/lop-1/dang-ky").status_code == 403


def test_logout_forgets_the_guest_and_old_guests_are_purged(app, client):
    seed(app)
    attach(app, "nd-1-1")
    info = _learn_now(app, client)
    with app.app_context():
        idle = User(name="Khách", role=ROLE, password_hash="!guest",
                    created_at=utcnow() - timedelta(days=40))
        db.session.add(idle)
        db.session.commit()
        idle_id = idle.id
        assert purge_guests(30) == 1
        assert db.session.get(User, idle_id) is None
        assert db.session.get(User, info["guest_id"]) is not None  # recent: kept
    with client.session_transaction() as s:
        assert s.get("guest_id") == info["guest_id"]
    assert post_form(client, "/hoc", "/logout").status_code == 302
    with client.session_transaction() as s:
        assert "guest_id" not in s and "_user_id" not in s


def test_too_many_guests_from_one_address_are_refused(app, client):
    seed(app)
    attach(app, "nd-1-1")
    app.config["RATELIMIT_GUEST_IP"] = "2 per hour"
    try:
        codes = []
        for _ in range(3):
            fresh = app.test_client()
            codes.append(start(fresh, "nd-1-1").status_code)
        assert codes == [302, 302, 429]
    finally:
        app.config.pop("RATELIMIT_GUEST_IP")
