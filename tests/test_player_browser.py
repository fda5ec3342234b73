"""The player in real headless Chromium: every sample package driven to completion, abrupt
closes, suspend/resume and a server outage mid-session."""

from __future__ import annotations

import pytest

from .browser_helpers import (
    content_frame,
    login,
    pending_commits,
    registration,
    setup_learner,
    wait_until,
)
from .conftest import sample

pytestmark = pytest.mark.browser

GOOD_SAMPLES = [
    "RuntimeBasicCalls_SCORM12.zip",
    "ContentPackagingOneFilePerSCO_SCORM12.zip",
    "RuntimeBasicCalls_SCORM20043rdEdition.zip",
    "ContentPackagingOneFilePerSCO_SCORM20043rdEdition.zip",
    "SequencingSimpleRemediation_SCORM20043rdEdition.zip",
]

COMPLETE_12 = """(score) => {
  const api = window.parent.API;
  api.LMSSetValue('cmi.core.lesson_location', 'page-9');
  api.LMSSetValue('cmi.core.score.raw', String(score));
  api.LMSSetValue('cmi.core.lesson_status', 'passed');
  api.LMSSetValue('cmi.core.exit', '');
  api.LMSCommit('');
  return api.LMSFinish('');
}"""

COMPLETE_2004 = """(score) => {
  const api = window.parent.API_1484_11;
  api.SetValue('cmi.location', 'page-9');
  api.SetValue('cmi.score.raw', String(score));
  api.SetValue('cmi.score.min', '0');
  api.SetValue('cmi.score.max', '100');
  api.SetValue('cmi.score.scaled', String(score / 100));
  api.SetValue('cmi.success_status', 'passed');
  api.SetValue('cmi.completion_status', 'completed');
  api.SetValue('cmi.exit', 'normal');
  api.Commit('');
  return api.Terminate('');
}"""


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.mark.parametrize("name", GOOD_SAMPLES)
def test_sample_driven_to_completion(app, live_server_fresh, page, name):
    live = live_server_fresh
    info = setup_learner(app, live, sample(name))
    scos = info["package"]["scos"]
    v12 = info["package"]["scorm_version"] == "1.2"
    login(page, live.url, info["email"])
    page.goto(info["registration"]["launch_url"])
    for n, sco in enumerate(scos):
        if n > 0:
            if len(scos) > 1:
                page.click(f'[data-scorm-toc-item="{sco["id"]}"]', force=True)
        frame = content_frame(page, sco["id"])
        result = frame.evaluate(COMPLETE_12 if v12 else COMPLETE_2004, 80 + n)
        assert result == "true"
    wait_until(lambda: pending_commits(page) == 0, message="commits delivered")
    reg = wait_until(
        lambda: (r := registration(live, info))["completion_status"] == "completed" and r,
        message="registration completed",
    )
    assert reg["success_status"] == "passed"
    by_id = {s["id"]: s for s in reg["scos"]}
    assert set(by_id) == {s["id"] for s in scos}
    for n, sco in enumerate(scos):
        state = by_id[sco["id"]]
        assert state["completion_status"] == "completed"
        assert state["success_status"] == "passed"
        assert state["score_raw"] == 80 + n
        key = "cmi.core.lesson_location" if v12 else "cmi.location"
        assert state["cmi"][key] == "page-9"


def test_abrupt_close_then_resume_12(app, live_server_fresh, browser):
    live = live_server_fresh
    info = setup_learner(app, live, sample("RuntimeBasicCalls_SCORM12.zip"))
    context = browser.new_context()
    page = context.new_page()
    login(page, live.url, info["email"])
    page.goto(info["registration"]["launch_url"])
    frame = content_frame(page)
    frame.evaluate("""() => {
      const api = window.parent.API;
      api.LMSSetValue('cmi.core.lesson_location', 'slide-4');
      api.LMSSetValue('cmi.suspend_data', 'answers=a,b,c|Tiếng Việt có dấu');
      api.LMSSetValue('cmi.core.exit', 'suspend');
    }""")
    page.close(run_before_unload=True)  # no LMSCommit, no LMSFinish
    reg = wait_until(
        lambda: (r := registration(live, info))["scos"]
        and r["scos"][0]["cmi"].get("cmi.core.lesson_location") == "slide-4" and r,
        message="beacon commit stored",
    )
    assert reg["scos"][0]["cmi"]["cmi.suspend_data"] == "answers=a,b,c|Tiếng Việt có dấu"

    page = context.new_page()
    page.goto(info["registration"]["launch_url"])
    frame = content_frame(page)
    got = frame.evaluate("""() => {
      const api = window.parent.API;
      return [api.LMSGetValue('cmi.core.entry'), api.LMSGetValue('cmi.core.lesson_location'),
              api.LMSGetValue('cmi.suspend_data')];
    }""")
    assert got == ["resume", "slide-4", "answers=a,b,c|Tiếng Việt có dấu"]
    context.close()


@pytest.mark.parametrize(
    ("exit_value", "entry", "kept"),
    [("suspend", "resume", True), ("normal", "ab-initio", False), ("", "ab-initio", False)],
)
def test_exit_semantics_2004(app, live_server_fresh, browser, exit_value, entry, kept):
    live = live_server_fresh
    info = setup_learner(app, live, sample("RuntimeBasicCalls_SCORM20043rdEdition.zip"))
    context = browser.new_context()
    page = context.new_page()
    login(page, live.url, info["email"])
    page.goto(info["registration"]["launch_url"])
    frame = content_frame(page)
    frame.evaluate("""(exitValue) => {
      const api = window.parent.API_1484_11;
      api.SetValue('cmi.location', 'p7');
      api.SetValue('cmi.suspend_data', 'state-xyz');
      api.SetValue('cmi.completion_status', 'incomplete');
      api.SetValue('cmi.exit', exitValue);
      api.Terminate('');
    }""", exit_value)
    wait_until(lambda: pending_commits(page) == 0, message="terminate delivered")
    page.close()
    page = context.new_page()
    page.goto(info["registration"]["launch_url"])
    frame = content_frame(page)
    got = frame.evaluate("""() => {
      const api = window.parent.API_1484_11;
      return [api.GetValue('cmi.entry'), api.GetValue('cmi.location')];
    }""")
    assert got[0] == entry
    assert (got[1] == "p7") is kept
    context.close()


def test_server_outage_mid_session(app, live_server_fresh, page):
    live = live_server_fresh
    info = setup_learner(app, live, sample("RuntimeBasicCalls_SCORM20043rdEdition.zip"))
    login(page, live.url, info["email"])
    page.goto(info["registration"]["launch_url"])
    frame = content_frame(page)
    live.fail_commits = True
    for i in range(1, 6):
        frame.evaluate("""(i) => {
          const api = window.parent.API_1484_11;
          api.SetValue('cmi.location', 'page-' + i);
          api.SetValue('cmi.progress_measure', String(i / 10));
          api.SetValue('cmi.suspend_data', 'step=' + i);
          api.Commit('');
        }""", i)
    notice = page.locator(".save-notice")
    wait_until(lambda: notice.is_visible() and "Chưa lưu" in notice.inner_text(),
               timeout=20, message="'not saved yet' notice")
    assert pending_commits(page) == 1
    live.fail_commits = False
    wait_until(lambda: pending_commits(page) == 0, timeout=40, message="queue drained")
    reg = registration(live, info)
    cmi = reg["scos"][0]["cmi"]
    assert cmi["cmi.location"] == "page-5"
    assert cmi["cmi.suspend_data"] == "step=5"
    assert float(cmi["cmi.progress_measure"]) == 0.5
