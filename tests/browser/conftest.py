"""Real-browser tests: Playwright driving Debian's Chromium (never `playwright install`, which downloads one)."""

import shutil

import pytest

from tests.e2e.stack import running_stack

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    if CHROMIUM is None:
        skip = pytest.mark.skip(reason="browser tests skipped: Chromium is not installed (apt-get install chromium)")
        for item in items:
            if "tests/browser/" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("browser"), MCP_TOKEN_CACHE_SECONDS="1") as running:
        yield running


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    yield page
    context.close()
