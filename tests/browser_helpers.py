"""Helpers for driving the player in headless Chromium."""

from __future__ import annotations

import time

import requests

from lms.extensions import db

from .conftest import make_token, make_user


def login(page, base: str, email: str, password: str = "mat-khau-123") -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def setup_learner(app, live, sample_path, email="hv@example.vn") -> dict:
    """Import a package as admin through the API and register a learner; return ids/tokens."""
    with app.app_context():
        if not db.session.scalar(db.text("SELECT count(*) FROM users WHERE role='admin'")):
            make_user("admin@example.vn", "admin")
        admin = make_token("admin@example.vn")
        make_user(email)
    auth = {"Authorization": f"Bearer {admin}"}
    with open(sample_path, "rb") as fh:
        r = requests.post(f"{live.url}/api/v1/packages", headers=auth, files={"file": fh})
    assert r.status_code in (200, 201), r.text
    pkg = r.json()
    r = requests.post(f"{live.url}/api/v1/registrations", headers=auth,
                      json={"package_id": pkg["id"], "user_email": email})
    assert r.status_code == 201, r.text
    return {"package": pkg, "registration": r.json(), "auth": auth, "email": email}


def registration(live, info) -> dict:
    r = requests.get(f"{live.url}/api/v1/registrations/{info['registration']['id']}",
                     headers=info["auth"])
    assert r.status_code == 200, r.text
    return r.json()


API_READY = "() => { const a = window.hpPlayer.api(); return !!a && a.isInitialized(); }"


def content_frame(page, item_id: str | None = None, timeout: float = 15.0, sco: bool = True):
    """The SCO frame once it has loaded content (optionally a given SCO) and, for a SCO, once
    the content has initialised the API."""
    if sco:
        wait_until(lambda: page.evaluate(API_READY), timeout, "the SCO to initialise the API")
    deadline = time.time() + timeout
    while time.time() < deadline:
        shown = page.get_attribute("[data-scorm-session]", "data-current-item")
        if item_id is None or shown == item_id:
            frame = page.frame(name="scorm-content")
            if frame and frame.url.startswith("http"):
                try:
                    frame.wait_for_load_state("load", timeout=5000)
                    return frame
                except Exception:  # noqa: BLE001 - frame navigated meanwhile
                    pass
        time.sleep(0.1)
    raise AssertionError(f"content frame for {item_id!r} did not load")


def wait_until(predicate, timeout: float = 15.0, message: str = "condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}; last value {last!r}")


def launch(page, info: dict, item_id: str | None = None):
    """Open the learner's registration in the player; return the SCO frame once it runs."""
    page.goto(info["registration"]["launch_url"])
    return content_frame(page, item_id)


def choose(page, item_id: str) -> None:
    """Pick an item from the table of contents, opening it first on a narrow screen."""
    entry = page.locator(f'[data-scorm-toc-item="{item_id}"]')
    if entry.count() == 0 or entry.get_attribute("aria-disabled") == "true":
        page.click('[data-scorm-nav="continue"]')  # choice not allowed: flow navigation
        return
    if not page.locator("#toc").is_visible():
        page.click(".toc-toggle")
    entry.click()


def pending_commits(page) -> int:
    return page.evaluate("() => Object.keys(window.hpPlayer.queue()).length")
