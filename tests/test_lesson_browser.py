"""A built catalog module (lms.coursebuild) in the real player, headless Chromium, phone-sized:
the lesson reports through the SCORM API exactly, and resumes where the learner left off."""

from __future__ import annotations

import json

import pytest

from lms.extensions import db
from lms.models import Attempt, Interaction, Registration, ScoState, User

from .browser_helpers import launch, login, pending_commits, setup_learner, wait_until

pytestmark = pytest.mark.browser

CITIZEN = "nd-1-2"  # SCORM 2004 4th edition
CIVIL_SERVANT = "l1-1"  # SCORM 1.2
READY = "() => document.getElementById('lesson').dataset.ready === 'true'"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    pg = context.new_page()
    pg.on("pageerror", lambda e: print("pageerror:", e))
    yield pg
    context.close()


def open_lesson(page, info):
    frame = launch(page, info)
    frame.wait_for_function(READY, timeout=15000)
    return frame


def lesson_state(frame) -> dict:
    return frame.evaluate("() => window.hpLesson.state()")


def sco_state(app, email: str) -> ScoState:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        state = db.session.scalar(
            db.select(ScoState).join(Attempt).join(Registration)
            .where(Registration.user_id == user.id)
        )
        assert state is not None, "nothing was committed"
        db.session.expunge(state)
        return state


def interactions(app, sco_state_id: int) -> list[Interaction]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(Interaction).where(Interaction.sco_state_id == sco_state_id)
            .order_by(Interaction.idx)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def answer_check_by_keyboard(page, frame, choice: int) -> None:
    """The open check answered with the keyboard alone: focus starts on the first choice."""
    focused = frame.evaluate("() => document.activeElement.id")
    assert focused.endswith("-0"), f"focus is on {focused!r}, not the first choice"
    page.keyboard.press("Space")
    for _ in range(choice):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # implicit submission of the check's form
    frame.wait_for_selector("#check-continue:not([hidden])")
    assert frame.evaluate("() => document.activeElement.id") == "check-continue"
    page.keyboard.press("Enter")


def answer_check_by_click(frame, check: dict, choice: int) -> None:
    frame.click(f"label[for='check-{check['id']}-{choice}']")
    frame.click("#check-submit")
    frame.wait_for_selector("#check-continue:not([hidden])")
    frame.click("#check-continue")


@pytest.mark.parametrize(("code", "version"), [(CITIZEN, "2004"), (CIVIL_SERVANT, "1.2")])
def test_lesson_reports_checks_quiz_and_result(app, live_server_fresh, page, built_module_zip,
                                               code, version):
    live = live_server_fresh
    info = setup_learner(app, live, built_module_zip(code))
    assert info["package"]["scorm_version"] == version
    login(page, live.url, info["email"])
    frame = open_lesson(page, info)
    data = frame.evaluate("() => window.hpLesson.data")
    assert lesson_state(frame)["scorm"] == version

    # Vietnamese captions are on from the start and load real cues; the video really plays.
    track = frame.evaluate("""() => { const t = document.getElementById('video').textTracks[0];
        return {mode: t.mode, lang: t.language, kind: t.kind}; }""")
    assert track == {"mode": "showing", "lang": "vi", "kind": "captions"}
    cue = frame.wait_for_function("""() => { const c = document.getElementById('video')
        .textTracks[0].cues; return c && c.length > 10 && c[0].text; }""").json_value()
    assert cue == ("Xin chào bạn." if code == CITIZEN else "Xin chào anh, chị.")
    frame.click("#big-play")
    wait_until(lambda: lesson_state(frame)["position"] > 0.5, 20, "the video to play")
    frame.evaluate("() => window.hpLesson.pause()")

    # Checks: skip ahead (the hooks stop at each unanswered check, as playback would).
    checks = data["checks"]
    assert 2 <= len(checks) <= 3
    for n, check in enumerate(checks):
        state = frame.evaluate("(t) => window.hpLesson.seek(t)", data["duration"])
        assert state["pendingCheck"] == check["id"], state
        assert abs(state["position"] - check["time"]) < 0.1
        if n == 0:  # the first one wrong, by keyboard
            answer_check_by_keyboard(page, frame, (check["answer"] + 1) % len(check["choices"]))
        else:
            answer_check_by_click(frame, check, check["answer"])

    state = frame.evaluate("(t) => window.hpLesson.seek(t)", data["duration"])
    assert state["phase"] == "quiz"
    frame.click("#quiz-form button[type=submit]")  # nothing chosen: told what is missing
    assert "chưa trả lời" in frame.inner_text("#quiz-error")
    for q in data["quiz"]:
        frame.click(f"label[for='quiz-{q['id']}-{q['answer']}']")
    frame.click("#quiz-form button[type=submit]")
    frame.wait_for_selector("#result-view:not([hidden])")
    assert "đã đạt" in frame.inner_text("#result-title")
    assert "100/100" in frame.inner_text("#result-score")

    wait_until(lambda: pending_commits(page) == 0, message="commits delivered")
    total = len(checks) + len(data["quiz"])
    state = wait_until(
        lambda: (s := sco_state(app, info["email"])).success_status == "passed"
        and len(interactions(app, s.id)) == total and s,
        message="result stored",
    )
    assert state.completion_status == "completed"
    assert state.score_raw == 100
    cmi = state.cmi
    rows = interactions(app, state.id)
    wrong = "wrong" if version == "1.2" else "incorrect"
    assert [r.result for r in rows] == [wrong] + ["correct"] * (total - 1)
    assert all(r.type == "choice" for r in rows)
    assert rows[0].interaction_id == f"{code}-c1"
    assert rows[-1].interaction_id == f"{code}-quiz-1-q{len(data['quiz'])}"
    first = checks[0]
    assert rows[0].correct_responses == ["abcd"[first["answer"]]]
    assert rows[0].learner_response == "abcd"[(first["answer"] + 1) % len(first["choices"])]
    assert all(r.latency for r in rows)
    assert all(r.timestamp for r in rows)
    if version == "1.2":
        assert cmi["cmi.core.lesson_status"] == "passed"
        assert (cmi["cmi.core.score.min"], cmi["cmi.core.score.max"]) == ("0", "100")
        assert float(cmi["cmi.core.lesson_location"]) == pytest.approx(data["duration"], abs=0.1)
        assert cmi["cmi.core.session_time"] not in ("", "00:00:00")
    else:
        assert state.score_scaled == 1
        assert cmi["cmi.completion_status"] == "completed"
        assert cmi["cmi.success_status"] == "passed"
        assert float(cmi["cmi.progress_measure"]) == 1
        assert (cmi["cmi.score.min"], cmi["cmi.score.max"]) == ("0", "100")
        assert float(cmi["cmi.location"]) == pytest.approx(data["duration"], abs=0.1)
        assert rows[0].description.startswith("{lang=vi}")
        assert cmi["cmi.exit"] == "normal"
    saved = json.loads(cmi["cmi.suspend_data"])
    assert saved["a"][checks[0]["id"]][1] == 0 and saved["q"]["s"] == 100


@pytest.mark.parametrize(("code", "version"), [(CITIZEN, "2004"), (CIVIL_SERVANT, "1.2")])
def test_leave_midway_then_resume(app, live_server_fresh, browser, built_module_zip, code,
                                  version):
    live = live_server_fresh
    info = setup_learner(app, live, built_module_zip(code))
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, live.url, info["email"])
    frame = open_lesson(page, info)
    data = frame.evaluate("() => window.hpLesson.data")
    first, second = data["checks"][0], data["checks"][1]
    frame.evaluate("(t) => window.hpLesson.seek(t)", data["duration"])
    answer_check_by_click(frame, first, (first["answer"] + 1) % len(first["choices"]))
    frame.evaluate("() => window.hpLesson.pause()")
    midway = round((first["time"] + second["time"]) / 2, 1)
    state = frame.evaluate("(t) => window.hpLesson.seek(t)", midway)
    assert state["pendingCheck"] is None and state["position"] == pytest.approx(midway, abs=0.1)

    page.close(run_before_unload=True)  # the learner just closes the tab
    location = "cmi.core.lesson_location" if version == "1.2" else "cmi.location"
    stored = wait_until(
        lambda: (s := sco_state(app, info["email"])).cmi.get(location) == f"{midway:.1f}" and s,
        message="the bookmark stored on leaving",
    )
    exit_key = "cmi.core.exit" if version == "1.2" else "cmi.exit"
    assert stored.cmi[exit_key] == "suspend"
    assert stored.completion_status == "incomplete"
    if version == "2004":
        expected = 0.9 * midway / data["duration"]
        assert float(stored.cmi["cmi.progress_measure"]) == pytest.approx(expected, abs=0.002)
    else:
        assert stored.cmi["cmi.core.lesson_status"] == "incomplete"
    assert [r.result for r in interactions(app, stored.id)] == [
        "wrong" if version == "1.2" else "incorrect"]

    page = context.new_page()
    frame = open_lesson(page, info)
    entry = "cmi.core.entry" if version == "1.2" else "cmi.entry"
    assert page.evaluate("() => window.hpPlayer.launchState()")[entry] == "resume"
    state = lesson_state(frame)
    assert state["phase"] == "video"
    assert state["position"] == pytest.approx(midway, abs=0.1)
    assert state["answers"] == {first["id"]: {"c": (first["answer"] + 1) % len(first["choices"]),
                                              "ok": False}}
    assert state["interactions"] == 1
    assert frame.inner_text("#big-play").startswith("▶ Học tiếp từ")
    # Going on: the next stop is the second check, not the first one again.
    state = frame.evaluate("(t) => window.hpLesson.seek(t)", data["duration"])
    assert state["pendingCheck"] == second["id"]
    answer_check_by_click(frame, second, second["answer"])
    wait_until(lambda: pending_commits(page) == 0, message="commits delivered")
    rows = wait_until(lambda: len(r := interactions(app, stored.id)) == 2 and r,
                      message="the second answer stored next to the first")
    assert [r.interaction_id for r in rows] == [f"{code}-c1", f"{code}-c2"]
    context.close()
