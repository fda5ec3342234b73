"""The player in real headless Chromium: every sample package driven to completion, abrupt
closes, suspend/resume and a server outage mid-session."""

from __future__ import annotations

import pytest

from .browser_helpers import (
    choose,
    content_frame,
    launch,
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
  const r = api.LMSFinish('');
  return r === 'true' ? r : 'LMSFinish failed: ' + api.LMSGetLastError() + ' '
    + api.LMSGetDiagnostic('');
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
  const r = api.Terminate('');
  return r === 'true' ? r : 'Terminate failed: ' + api.GetLastError() + ' ' + api.GetDiagnostic('');
}"""


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    pg = context.new_page()
    pg.on("console", lambda m: m.type in ("error", "warning") and print("console:", m.text))
    pg.on("pageerror", lambda e: print("pageerror:", e))
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
            choose(page, sco["id"])
        frame = content_frame(page, sco["id"], sco=sco["type"] == "sco")
        if sco["type"] == "asset":
            continue  # assets do not use the API; delivering them completes them
        result = frame.evaluate(COMPLETE_12 if v12 else COMPLETE_2004, 80 + n)
        assert result == "true", (sco["id"], result)
    wait_until(lambda: pending_commits(page) == 0, message="commits delivered")
    reg = wait_until(
        lambda: (r := registration(live, info))["completion_status"] == "completed" and r,
        message="registration completed",
    )
    has_sco = any(s["type"] == "sco" for s in scos)
    # An all-asset package (the 1.2 "one file per SCO" sample) cannot report success.
    assert reg["success_status"] == ("passed" if has_sco else "unknown")
    by_id = {s["id"]: s for s in reg["scos"]}
    assert set(by_id) == {s["id"] for s in scos}
    for n, sco in enumerate(scos):
        state = by_id[sco["id"]]
        assert state["completion_status"] == "completed"
        if sco["type"] == "asset":
            continue
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
    frame = launch(page, info)
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
    frame = launch(page, info)
    assert frame.evaluate("() => window.parent.API.LMSGetValue('cmi.core.entry')") == "resume"
    # What the runtime was launched with (the content may move its bookmark right after).
    launched = page.evaluate("() => window.hpPlayer.launchState()")
    assert launched["cmi.core.entry"] == "resume"
    assert launched["cmi.core.lesson_location"] == "slide-4"
    assert launched["cmi.suspend_data"] == "answers=a,b,c|Tiếng Việt có dấu"
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
    frame = launch(page, info)
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
    frame = launch(page, info)
    assert frame.evaluate("() => window.parent.API_1484_11.GetValue('cmi.entry')") == entry
    launched = page.evaluate("() => window.hpPlayer.launchState()")
    assert launched["cmi.entry"] == entry
    assert (launched.get("cmi.location") == "p7") is kept
    assert (launched.get("cmi.suspend_data") == "state-xyz") is kept
    context.close()


def test_server_outage_mid_session(app, live_server_fresh, page):
    live = live_server_fresh
    info = setup_learner(app, live, sample("RuntimeBasicCalls_SCORM20043rdEdition.zip"))
    login(page, live.url, info["email"])
    frame = launch(page, info)
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


def _nav_state(page) -> dict:
    return page.evaluate("""() => {
      const out = {};
      document.querySelectorAll('[data-scorm-nav]').forEach(b => {
        out[b.getAttribute('data-scorm-nav')] = b.disabled ? 'disabled' : 'enabled';
      });
      return out;
    }""")


def test_sequencing_drives_controls_and_resume(app, live_server_fresh, browser):
    """SequencingSimpleRemediation: flow only (choice=false), so TOC entries are not selectable,
    Previous is disabled on the first activity, and suspendAll + relaunch resumes there."""
    live = live_server_fresh
    info = setup_learner(app, live, sample("SequencingSimpleRemediation_SCORM20043rdEdition.zip"))
    scos = info["package"]["scos"]
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    login(page, live.url, info["email"])
    launch(page, info, scos[0]["id"])
    wait_until(lambda: _nav_state(page).get("previous") == "disabled", message="previous off")
    assert _nav_state(page)["continue"] == "enabled"
    toc = page.locator(f'[data-scorm-toc-item="{scos[1]["id"]}"]')
    assert toc.get_attribute("aria-disabled") == "true"
    assert page.locator('[data-scorm-toc-item="content_wrapper"]').count() == 0  # invisible

    page.click('[data-scorm-nav="continue"]')
    content_frame(page, scos[1]["id"])
    wait_until(lambda: _nav_state(page).get("previous") == "enabled", message="previous on")

    page.click('[data-scorm-nav="suspendAll"]')
    wait_until(lambda: page.get_attribute("[data-scorm-session]", "data-scorm-session")
               == "ended", message="session ended")
    assert page.locator(".session-ended").is_visible()
    wait_until(lambda: pending_commits(page) == 0, message="suspend delivered")
    page.close()

    page = context.new_page()
    launch(page, info, scos[1]["id"])  # resumed on the suspended activity
    launched = page.evaluate("() => window.hpPlayer.launchState()")
    assert launched["cmi.entry"] == "resume"
    context.close()


def test_time_counted_once_when_content_terminates_twice(app, live_server_fresh, page):
    live = live_server_fresh
    info = setup_learner(app, live, sample("RuntimeBasicCalls_SCORM20043rdEdition.zip"))
    login(page, live.url, info["email"])
    frame = launch(page, info)
    codes = frame.evaluate("""() => {
      const api = window.parent.API_1484_11;
      api.SetValue('cmi.session_time', 'PT2M');
      api.SetValue('cmi.exit', 'suspend');
      const first = api.Terminate('');
      const second = api.Terminate('');       // buggy content: a second Terminate
      const code2 = api.GetLastError();
      api.SetValue('cmi.session_time', 'PT2M'); // and writes after Terminate
      const commit = api.Commit('');
      return [first, second, code2, commit];
    }""")
    assert codes == ["true", "false", "113", "false"]
    wait_until(lambda: pending_commits(page) == 0, message="terminate delivered")
    page.reload()  # a second session of the same attempt adds its own time only
    frame = content_frame(page)
    frame.evaluate("""() => {
      const api = window.parent.API_1484_11;
      api.SetValue('cmi.session_time', 'PT1M');
      api.SetValue('cmi.exit', 'suspend');
      api.Terminate('');
    }""")
    wait_until(lambda: pending_commits(page) == 0, message="second terminate delivered")
    reg = wait_until(lambda: (r := registration(live, info))["total_time"] == 180 and r,
                     message="total time of 3 minutes")
    assert reg["scos"][0]["cmi"]["cmi.exit"] == "suspend"


def test_unsent_progress_survives_closing_the_browser_offline(app, live_server_fresh, browser):
    """The server is down when the learner closes the tab: the state waits in localStorage
    and is delivered when the learner comes back."""
    live = live_server_fresh
    info = setup_learner(app, live, sample("RuntimeBasicCalls_SCORM12.zip"))
    context = browser.new_context()
    page = context.new_page()
    login(page, live.url, info["email"])
    frame = launch(page, info)
    live.fail_commits = True
    frame.evaluate("""() => {
      const api = window.parent.API;
      api.LMSSetValue('cmi.core.lesson_location', 'offline-9');
      api.LMSSetValue('cmi.suspend_data', 'ghi-nho-offline');
      api.LMSSetValue('cmi.core.exit', 'suspend');
      api.LMSCommit('');
    }""")
    wait_until(lambda: pending_commits(page) == 1, message="commit queued")
    page.close(run_before_unload=True)  # the unload beacon fails too (503)
    reg = registration(live, info)
    assert all(s["cmi"].get("cmi.core.lesson_location") != "offline-9" for s in reg["scos"])

    live.fail_commits = False
    page = context.new_page()  # same browser profile: same localStorage
    launch(page, info)
    reg = wait_until(
        lambda: (r := registration(live, info))["scos"]
        and r["scos"][0]["cmi"].get("cmi.core.lesson_location") == "offline-9" and r,
        message="queued state delivered on return",
    )
    assert reg["scos"][0]["cmi"]["cmi.suspend_data"] == "ghi-nho-offline"
    context.close()


MANIFEST_HIDE_UI = """<?xml version="1.0"?>
<manifest identifier="hide" version="1" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="o"><organization identifier="o"><title>Ẩn nút</title>
    <item identifier="a" identifierref="r"><title>Bài A</title>
      <adlnav:presentation><adlnav:navigationInterface>
        <adlnav:hideLMSUI>previous</adlnav:hideLMSUI><adlnav:hideLMSUI>suspendAll</adlnav:hideLMSUI>
      </adlnav:navigationInterface></adlnav:presentation></item>
    <item identifier="b" identifierref="r"><title>Bài B</title></item>
    <imsss:sequencing><imsss:controlMode choice="true" flow="true"/></imsss:sequencing>
  </organization></organizations>
  <resources><resource identifier="r" type="webcontent" adlcp:scormType="sco" href="index.html">
    <file href="index.html"/></resource></resources>
</manifest>"""

SCO_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script>
function api(w){ while (w) { if (w.API_1484_11) return w.API_1484_11; if (w === w.parent) break;
  w = w.parent; } return null; }
window.onload = function () { api(window.parent).Initialize(''); };
</script></head><body><p>Bài học</p></body></html>"""


def test_hide_lms_ui_hides_controls(app, live_server_fresh, page, tmp_path):
    import zipfile

    zpath = tmp_path / "hide.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("imsmanifest.xml", MANIFEST_HIDE_UI)
        zf.writestr("index.html", SCO_PAGE)
    live = live_server_fresh
    info = setup_learner(app, live, zpath)
    login(page, live.url, info["email"])
    launch(page, info, "a")
    wait_until(lambda: page.locator('[data-scorm-nav="continue"]').count() == 1,
               message="navigation rendered")
    assert page.locator('[data-scorm-nav="previous"]').count() == 0  # hidden, not disabled
    assert page.locator('[data-scorm-nav="suspendAll"]').count() == 0
    assert page.locator('[data-scorm-nav="exitAll"]').count() == 1
    page.click('[data-scorm-nav="continue"]')
    content_frame(page, "b")
    wait_until(lambda: page.locator('[data-scorm-nav="previous"]').count() == 1,
               message="previous shown on item b")
    assert page.locator('[data-scorm-nav="suspendAll"]').count() == 1
