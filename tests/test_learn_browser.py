"""The learner pages on a 360 × 740 phone in headless Chromium: no sideways scrolling, large
type, big targets, and the main button reachable with the keyboard alone."""

from __future__ import annotations

import pytest

from .learn_support import attach, seed

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = ("() => document.documentElement.scrollWidth <= window.innerWidth"
                      " && document.body.scrollWidth <= window.innerWidth")
FOCUSED_IS_MAIN = ("() => document.activeElement"
                   " && document.activeElement.matches('[data-main-button]')")


def _tab_to_main_button(page, limit: int = 40) -> int:
    """Press Tab until the page's main button has the focus; return how many presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_IS_MAIN):
            return presses
    raise AssertionError(f"the main button was not reached in {limit} Tab presses")


def test_phone_sized_pages_and_keyboard(app, live_server_fresh, browser):
    live = live_server_fresh
    seed(app)
    attach(app, "nd-1-1")
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        for path in ("/hoc", "/hoc/nguoi-dan", "/hoc/nguoi-dan/nd-1", "/hoc/module/nd-1-1",
                     "/hoc/module/l1-1", "/hoc?lang=en"):
            response = page.goto(f"{live.url}{path}")
            assert response.status == 200, path
            assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{path} scrolls sideways at 360 px"
        size = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 18

        page.goto(f"{live.url}/hoc/module/nd-1-1?lang=vi")
        page.keyboard.press("Tab")  # the first stop is the skip link
        assert page.evaluate("() => document.activeElement.classList.contains('skip-link')")
        page.keyboard.press("Enter")
        assert page.evaluate("() => location.hash") == "#main"
        page.goto(f"{live.url}/hoc/module/nd-1-1")
        _tab_to_main_button(page)
        button = page.locator("[data-main-button]")
        assert button.inner_text() == "Học ngay"
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"  # the focus is visible
        # Enter on the focused button starts the lesson in the player, as a guest.
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live.url}/play/**")
        assert page.evaluate(NO_SIDEWAYS_SCROLL)

        # Back in the catalog the guest is enrolled; the programme's main button leads on.
        page.goto(f"{live.url}/hoc/nguoi-dan")
        _tab_to_main_button(page)
        main = page.locator("form:has([data-main-button])")
        assert main.get_attribute("action") == "/hoc/module/nd-1-1/bat-dau"
    finally:
        context.close()
