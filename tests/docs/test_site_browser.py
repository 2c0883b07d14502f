"""The built documentation site in a real browser: served over http.server on 127.0.0.1, its pages render
(title, navigation, content) and its search finds pages (Material's client-side search, offline)."""

from __future__ import annotations

import functools
import http.server
import threading
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site_url(built_site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_site))

    class Quiet(handler.func):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def wait_for(driver, script: str, timeout: float = 30, what: str = ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or script} on {driver.current_url}")


@pytest.mark.parametrize(
    "page, heading",
    [
        ("", "ferkit"),
        ("guide/photos/", "Photos"),
        ("guide/web/", "Web app and REST API"),
        ("reference/cli/", "Command-line reference"),
        ("reference/api/", "Python API"),
        ("models/ferplus/", "Model card: ferplus"),
    ],
)
def test_page_renders(site_browser, site_url, page, heading):
    site_browser.get(f"{site_url}/{page}")
    title = wait_for(
        site_browser,
        "document.querySelector('article h1') && document.querySelector('article h1').textContent",
        what="the page heading",
    )
    assert heading in title
    links = site_browser.execute_script("return document.querySelectorAll('nav.md-nav a.md-nav__link').length")
    assert links >= 10  # the site navigation is there
    assert len(site_browser.execute_script("return document.querySelector('article').innerText")) > 200
    broken = site_browser.execute_script(
        "return [...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.src)"
    )
    assert not broken, broken


def test_search_finds_pages(site_browser, site_url):
    from selenium.webdriver.common.by import By

    site_browser.get(f"{site_url}/")
    wait_for(site_browser, "document.querySelector('.md-search__input')", what="the search box")
    box = site_browser.find_element(By.CSS_SELECTOR, ".md-search__input")
    box.click()
    box.send_keys("hysteresis")
    count = wait_for(site_browser, "document.querySelectorAll('.md-search-result__item').length", what="search results")
    assert count >= 1
    hits = site_browser.execute_script(
        "return [...document.querySelectorAll('.md-search-result__item a')].map(a => a.href)"
    )
    assert any("guide/video" in href or "reference/cli" in href for href in hits), hits
