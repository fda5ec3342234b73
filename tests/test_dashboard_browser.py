"""Dashboards in Chromium at phone width (360x740) and desktop width: the page never scrolls
sideways (wide tables scroll inside their own box), the charts are drawn at the phone's width,
and the screenshots are saved (to docs/screenshots/ with LMS_SCREENSHOTS=1, else a temp dir)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lms.extensions import db
from lms.models import User
from lms.security import hash_password

from .browser_helpers import login
from .test_dashboard import build_city

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
PASSWORD = "mat-khau-123"


@pytest.fixture
def city_live(app, live_server):
    from lms.reports.dashboard import refresh

    with app.app_context():
        city = build_city(seed=3, learners=120)
        for uid in (city.admin, city.managers["X01"]):
            db.session.get(User, uid).password_hash = hash_password(PASSWORD)
        db.session.commit()
        emails = {uid: db.session.get(User, uid).email
                  for uid in (city.admin, city.managers["X01"])}
        refresh()
        db.session.remove()
    return city, emails


def _out(tmp_path: Path) -> Path:
    if os.environ.get("LMS_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


@pytest.mark.parametrize("width,height,suffix", [(360, 740, ""), (1280, 900, "-desktop")])
def test_dashboards_fit_the_screen(browser, live_server, city_live, tmp_path, width, height,
                                   suffix):
    city, emails = city_live
    out = _out(tmp_path)
    for who, path, name in (
            (city.admin, "/reports/dashboard", "dashboard-city"),
            (city.managers["X01"], f"/reports/dashboard/units/{city.units['X01']}",
             "dashboard-unit")):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="vi-VN")
        page = context.new_page()
        try:
            login(page, live_server.url, emails[who], PASSWORD)
            page.goto(live_server.url + path)
            assert page.locator("svg.chart").count() >= 2
            overflow = page.evaluate(
                "() => document.scrollingElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} scrolls sideways by {overflow}px at {width}px"
            chart_width = page.evaluate(
                "() => document.querySelector('svg.chart').getBoundingClientRect().width")
            assert 250 <= chart_width <= min(width, 720) + 1
            target = out / f"{name}{suffix}.png"
            page.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 10_000
        finally:
            context.close()
