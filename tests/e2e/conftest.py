"""Browser tests: a live Rapport server driven by Debian's Chromium through Playwright.

Every test gets a fresh browser context (no shared cookies) against pytest-django's live
server, which runs on a transactional test database, so data made here is visible to the
server thread and is flushed after each test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Playwright's sync API runs an asyncio loop in this thread, and Django then refuses ORM calls
# from it (SynchronousOnlyOperation). The tests never touch the ORM concurrently with a
# request, so the guard only gets in the way. Set before anything opens a connection.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import pytest  # noqa: E402

E2E_DIR = Path(__file__).resolve().parent
REPO_DIR = E2E_DIR.parent.parent
RESULTS_DIR = REPO_DIR / "test-results"
HTMX = REPO_DIR / "rapport" / "web" / "static" / "vendor" / "htmx.min.js"

# The password the root conftest gives every test user.
PASSWORD = "correct horse battery staple"

# Without the background-networking flags Chromium phones home at start-up, and on machines
# without outside access those connections are refused and slow every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Long enough for a slow CI machine, short enough that a missing element fails in seconds.
TIMEOUT_MS = 10_000


def chromium_path() -> str | None:
    """Debian's Chromium (apt-get install chromium); RAPPORT_CHROMIUM points elsewhere."""
    candidate = os.environ.get("RAPPORT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else None


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> None:
    """Locally a missing prerequisite skips; in CI nothing may skip, so it fails."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # Runs before `-m` deselection, so `-m "not e2e"` leaves these out even if a module
    # forgot its pytestmark.
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so the page fixture knows whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        skip_or_fail("Chromium is not installed (apt-get install chromium, or set RAPPORT_CHROMIUM)")
    if not HTMX.exists():
        # Pages work without htmx only as plain forms; the inline-logging test would be meaningless.
        pytest.fail(f"{HTMX.relative_to(REPO_DIR)} is missing: run `make assets` (or `make test`)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(request, browser, transactional_db, live_server):
    """A fresh context and page on the live server; a screenshot lands in test-results/ on failure.

    Uncaught JavaScript errors and Content-Security-Policy violations fail the test: both mean
    a page is broken for real users even when the assertions happened to pass.
    """
    context = browser.new_context(base_url=live_server.url, accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"JavaScript error: {exc}"))
    page.on("console", lambda msg: page.problems.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text else None)
    yield page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        RESULTS_DIR.mkdir(exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace("::", "__")
        try:
            page.screenshot(path=str(RESULTS_DIR / f"{name}.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a failed screenshot must not hide the real failure
            print(f"could not take a screenshot: {exc}")
    problems = list(page.problems)
    context.close()
    if problems and not failed:
        pytest.fail("the page reported problems:\n" + "\n".join(problems), pytrace=False)


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the real form, as a person would (axes and CSRF included)."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


@pytest.fixture
def seller_page(page, seller):
    """A page logged in as a seller of the north team."""
    log_in(page, seller.username)
    # Logged in means the layout with the global search box, not the login form again.
    page.locator("#global-q").wait_for()
    return page


@pytest.fixture(autouse=True)
def _migration_defaults(transactional_db):
    """The live server's database is flushed after each test, which also removes what data
    migrations made (the default pipeline and close reasons). Put them back for every test,
    as a fresh installation has them."""
    import importlib

    from django.apps import apps

    importlib.import_module("rapport.sales.migrations.0002_defaults").create_defaults(apps, None)
