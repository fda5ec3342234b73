"""SCORM report per module: histogram, pass rate, average time, per-question results (each
learner's last answer; most wrong first), unit scoping for managers, CSV round trip."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime

import pytest

from lms.extensions import db
from lms.models import (
    Attempt,
    Interaction,
    Module,
    Programme,
    Registration,
    ScoState,
    Topic,
    Unit,
)

from .conftest import login_as
from .test_dashboard import _package, _user, build_city, switch_user

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _answer(reg_id: int, number: int, answers: dict[str, tuple[str, str]]) -> None:
    att = Attempt(registration_id=reg_id, number=number)
    db.session.add(att)
    db.session.flush()
    sco = ScoState(attempt_id=att.id, item_id="sco", updated_at=T0)
    db.session.add(sco)
    db.session.flush()
    for idx, (qid, (result, text)) in enumerate(answers.items()):
        db.session.add(Interaction(sco_state_id=sco.id, idx=idx, interaction_id=qid,
                                   type="choice", result=result, description=text))


Q1, Q2, Q3 = ("Mật khẩu mạnh là gì?", "Tin nhắn “trúng thưởng” – lừa đảo?",
              "Đăng nhập VNeID, ký số")


@pytest.fixture
def quiz(ctx):
    """One module, six learners in two units with known answers."""
    a = Unit(code="X01", name="Xã Tiên Lãng", kind="xa")
    b = Unit(code="P02", name="Phường Lê Chân", kind="phuong")
    db.session.add_all([a, b])
    db.session.flush()
    prog = Programme(code="lop-1", kind="class", title="Lớp 1")
    db.session.add(prog)
    db.session.flush()
    topic = Topic(programme_id=prog.id, code="T1", title="Chuyên đề 1")
    db.session.add(topic)
    db.session.flush()
    pid, vid = _package("Gói an toàn số")
    module = Module(topic_id=topic.id, code="L1-01", title="An toàn thông tin cá nhân",
                    package_id=pid)
    db.session.add(module)
    db.session.flush()
    W, C = "wrong", "correct"
    # (unit, status, score, seconds, attempts: [{q: result}])
    people = [
        (a, "passed", 0.9, 600, [{"q1": W, "q2": W, "q3": W}, {"q1": C, "q2": W, "q3": C}]),
        (a, "failed", 0.3, 300, [{"q1": W, "q2": W, "q3": C}]),
        (a, "passed", 1.0, 900, [{"q1": C, "q2": C, "q3": C}]),
        (b, "failed", 0.45, 1200, [{"q1": W, "q2": "incorrect", "q3": W}]),
        (b, "passed", 0.8, 0, [{"q1": C, "q2": C, "q3": "neutral"}]),
        (b, "unknown", None, 0, []),
    ]
    texts = {"q1": Q1, "q2": Q2, "q3": Q3}
    for n, (unit, succ, score, secs, attempts) in enumerate(people):
        uid = _user(f"Trần Văn {n}", unit=unit.id)
        reg = Registration(user_id=uid, package_id=pid, package_version_id=vid,
                           completion_status="completed" if attempts else "not attempted",
                           success_status=succ, score_scaled=score, total_seconds=secs,
                           created_at=T0, updated_at=T0)
        db.session.add(reg)
        db.session.flush()
        for number, answers in enumerate(attempts, start=1):
            _answer(reg.id, number, {q: (r, texts[q]) for q, r in answers.items()})
    admin = _user("Quản Trị", "admin")
    manager = _user("Quản Lý Xã", "unit_manager", unit=a.id)
    learner = _user("Học Viên")
    db.session.commit()
    from lms.reports.dashboard import refresh

    refresh()
    return {"module": module.id, "a": a.id, "b": b.id, "admin": admin, "manager": manager,
            "learner": learner}


def test_figures_and_most_wrong_first(quiz):
    from lms.reports.scorm_report import module_report

    report = module_report(db.session.get(Module, quiz["module"]))
    assert (report.registered, report.started, report.passed, report.failed) == (6, 5, 3, 2)
    assert report.pass_rate == pytest.approx(60.0)
    assert report.average_minutes == pytest.approx(3000 / 5 / 60)
    assert report.buckets == [0, 0, 0, 1, 1, 0, 0, 0, 1, 2]  # .3 .45 .8 .9 1.0
    # last answers: q2 wrong by 3 (one "incorrect", 2004 style), q1 by 2, q3 by 1;
    # the first learner's first attempt does not count, "neutral" is answered but not wrong
    got = [(q.interaction_id, q.answered, q.correct, q.wrong) for q in report.questions]
    assert got == [("q2", 5, 2, 3), ("q1", 5, 3, 2), ("q3", 5, 3, 1)]
    assert report.questions[0].description == Q2


def test_most_wrong_order_breaks_ties_by_share():
    from lms.reports.scorm_report import Question, most_wrong_first

    qs = [Question("a", "", 10, 8, 2), Question("b", "", 2, 0, 2), Question("c", "", 5, 0, 5),
          Question("d", "", 4, 2, 2)]
    assert [q.interaction_id for q in most_wrong_first(qs)] == ["c", "b", "d", "a"]


def test_a_unit_manager_sees_only_their_units_learners(quiz, client):
    login_as(client, quiz["manager"])
    page = client.get(f"/reports/modules/{quiz['module']}").get_data(as_text=True)
    assert "<strong data-registered>3</strong>" in page
    assert "<strong data-passed>2</strong>" in page
    assert client.get(f"/reports/modules/{quiz['module']}?unit={quiz['b']}").status_code == 404
    assert client.get(f"/reports/modules/{quiz['module']}?unit={quiz['a']}").status_code == 200
    data = client.get(f"/reports/modules/{quiz['module']}/questions.csv").data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert {r[0]: int(r[4]) for r in rows[1:]} == {"q1": 1, "q2": 2, "q3": 0}
    assert client.get(
        f"/reports/modules/{quiz['module']}/scores.csv?unit={quiz['b']}").status_code == 404

    switch_user(client, quiz["admin"])
    page = client.get(f"/reports/modules/{quiz['module']}").get_data(as_text=True)
    assert "<strong data-registered>6</strong>" in page
    page = client.get(f"/reports/modules/{quiz['module']}?unit={quiz['b']}").get_data(
        as_text=True)
    assert "<strong data-registered>3</strong>" in page and "<strong data-failed>1</strong>" in page


@pytest.mark.parametrize("who,status", [("anonymous", 302), ("learner", 403), ("manager", 200),
                                        ("admin", 200)])
def test_report_access_per_role(quiz, client, who, status):
    if who != "anonymous":
        login_as(client, quiz[who])
    for path in (f"/reports/modules/{quiz['module']}", "/reports/modules",
                 f"/reports/modules/{quiz['module']}/questions.csv"):
        assert client.get(path).status_code == status


def test_csv_round_trips_vietnamese(quiz, client):
    login_as(client, quiz["admin"])
    resp = client.get(f"/reports/modules/{quiz['module']}/questions.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads it as UTF-8
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0] == ["Mã câu hỏi", "Nội dung câu hỏi", "Số người trả lời", "Trả lời đúng",
                       "Trả lời sai", "Tỷ lệ sai (%)"]
    assert [r[1] for r in rows[1:]] == [Q2, Q1, Q3]
    assert rows[1][5] == "60,0"
    scores = client.get(f"/reports/modules/{quiz['module']}/scores.csv").data
    text = scores.decode("utf-8-sig")
    assert "An toàn thông tin cá nhân" in text
    counts = Counter(dict(r for r in csv.reader(io.StringIO(text)) if len(r) == 2
                          and r[0].endswith("%")))
    assert counts["90–100%"] == "2" and counts["30–39%"] == "1"


def test_report_of_the_generated_city_matches_the_raw_answers(ctx):
    """Per question, the counts equal each learner's last answer read from the raw rows."""
    from lms.reports.dashboard import refresh
    from lms.reports.scorm_report import module_report

    city = build_city(seed=11, learners=60)
    refresh()
    module = db.session.get(Module, city.modules["L1-01"])
    last: dict[tuple[int, str], str] = {}
    rows = db.session.execute(
        db.select(Registration.id, Attempt.number, Interaction.idx, Interaction.interaction_id,
                  Interaction.result)
        .join(Attempt, Attempt.registration_id == Registration.id)
        .join(ScoState, ScoState.attempt_id == Attempt.id)
        .join(Interaction, Interaction.sco_state_id == ScoState.id)
        .where(Registration.package_id == module.package_id)
        .order_by(Attempt.number, Interaction.idx))
    for reg_id, _, _, qid, result in rows:
        last[(reg_id, qid)] = result
    wrong = Counter(q for (_, q), r in last.items() if r == "wrong")
    answered = Counter(q for (_, q) in last)
    report = module_report(module)
    assert {q.interaction_id: (q.answered, q.wrong) for q in report.questions} == {
        q: (answered[q], wrong[q]) for q in answered}
    assert [q.interaction_id for q in report.questions][0] == "q2"
