"""The default variant in a real browser: headless Chromium (Debian's package, driven by
Playwright) against the baked project served by gunicorn, with e-mails caught by a real
SMTP server.

Every page a test passes through gets `Visitor.check_page`: no console error, no
uncaught exception, no CSP violation, no request to another origin, no sideways
scrolling at 375 px, no serious or critical axe-core finding at 1280 and 375 px, and a
screenshot at both widths (in BROWSER_ARTIFACTS, or a temporary folder named in the
failure message).

One bake, one server and one browser for the whole module, on one xdist worker. Without
Chromium or axe-core the module is skipped with the reason, or fails when CI is set;
.ci/run installs both.
"""

import os
import re

import pytest

import browser
import harness

pytestmark = pytest.mark.xdist_group("browser")

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct-horse-battery-staple-7"
# Every run starts on an empty database, so the people can have fixed names (they read
# well in the screenshots): e-mail and password of each.
ADA = ("ada@example.org", "analytical-engine-1843")
GRACE = ("grace@example.org", "compiler-pioneer-1952")
GRACE_NEW_PASSWORD = "nanosecond-wire-1985"
ALAN = ("alan@example.org", "enigma-bombe-1940")
# The 404 page's own status is the one console error a page may show.
NOT_FOUND_CONSOLE = r"Failed to load resource: the server responded with a status of 404"


@pytest.fixture(scope="module")
def tools():
    return browser.require_tools()


@pytest.fixture(scope="module")
def mailbox(tools):
    mailbox = browser.Mailbox().start()
    yield mailbox
    mailbox.stop()


@pytest.fixture(scope="module")
def site(tools, mailbox, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("browser-site")
    bake = browser.bake_default(work_dir / "bake")
    site = browser.serve(bake, work_dir, mailbox.port, ADMIN_EMAIL, ADMIN_PASSWORD)
    yield site
    site.stop()


@pytest.fixture(scope="module")
def chromium(tools):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = browser.launch(playwright, tools)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    directory = os.environ.get("BROWSER_ARTIFACTS") or tmp_path_factory.mktemp("browser-shots")
    print(f"\nbrowser screenshots: {directory}")
    return browser.Screenshots(directory)


@pytest.fixture
def visitor(chromium, site, tools, shots):
    """open() -> a new Visitor (own cookies and history), closed after the test."""
    axe_source = tools.axe_core.read_text(encoding="utf-8")
    opened = []

    def open_visitor():
        opened.append(browser.Visitor.open(chromium, site, axe_source, shots))
        return opened[-1]

    yield open_visitor
    # Whatever happened after a visitor's last check counts too.
    problems = []
    for each in opened:
        problems += each.recorded_problems()
        each.close()
    harness.assert_none(problems)


def fill_sign_up(person, email, password):
    page = person.page
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password)


def verification_code(mailbox, email):
    text = browser.plain_text(mailbox.wait_for(email, "verification code"))
    codes = re.findall(r"^\s+(\d{6})\s*$", text, re.MULTILINE)
    assert len(codes) == 1, f"expected one 6-digit code in the e-mail:\n{text}"
    return codes[0]


def sign_up(person, mailbox, email, password):
    """The whole sign-up (checked page by page in test_sign_up_...), for tests that
    only need an account."""
    person.goto("/auth/signup")
    fill_sign_up(person, email, password)
    person.submit("Create account")
    person.page.get_by_label("Verification code").fill(verification_code(mailbox, email))
    person.submit("Verify e-mail address")
    assert person.path() == "/dashboard"


def sign_in(person, email, password):
    page = person.page
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    person.submit("Sign in")


def assert_signed_out_view(person, email):
    """What a signed-out visitor sees: the sign-in page, nothing of the account."""
    page = person.page
    assert person.path().startswith("/auth/login"), f"signed out, yet shown {person.path()}"
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome back"
    body = page.locator("body").inner_text()
    assert email not in body
    assert "Signed in as" not in body
    assert page.get_by_role("button", name="Sign out").count() == 0


# --- the checks themselves ------------------------------------------------------------


def test_missing_browser_skips_loudly(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.skip.Exception, match="BROWSER TESTS NOT RUN, missing: Chromium"):
        browser.require_tools()


def test_missing_axe_core_fails_on_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("AXE_CORE_JS", str(tmp_path / "axe.min.js"))
    with pytest.raises(pytest.fail.Exception, match=r"BROWSER TESTS NOT RUN, missing: .*axe-core"):
        browser.require_tools()


def test_page_checks_catch_what_they_look_for(visitor, site):
    """Break a page on purpose: check_page must report every kind of problem, or a
    green run would prove nothing."""
    person = visitor()
    person.goto("/")
    person.page.evaluate(
        """() => {
          console.error("deliberate console error");
          setTimeout(() => { throw new Error("deliberate uncaught error"); });
          const wide = document.createElement("div");
          wide.style.width = "2000px";  // CSSOM, which the CSP allows
          wide.textContent = "too wide";
          document.body.append(wide);
          const inline = document.createElement("script");
          inline.textContent = "void 0";  // inline code: refused by the CSP
          document.body.append(inline);
          const image = document.createElement("img");  // no alt text: axe-core "critical"
          image.src = "/static/favicon.svg";
          document.body.append(image);
        }"""
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        person.check_page("deliberately-broken", screenshots=False)
    report = str(failure.value)
    assert "console error: deliberate console error" in report
    assert re.search(r"uncaught error: .*deliberate uncaught error", report)
    assert "CSP violation: script-src-elem blocked inline" in report
    assert "scrolls sideways at 375 px" in report
    assert "critical image-alt" in report

    # Another origin: the same server under another name.
    other_origin = site.base_url.replace("127.0.0.1", "localhost")
    person.page.goto(other_origin + "/healthz")
    with pytest.raises(pytest.fail.Exception) as failure:
        person.check_page("other-origin", screenshots=False)
    assert f"request to another origin: GET {other_origin}/healthz" in str(failure.value)


# --- the journeys ------------------------------------------------------------------------


def test_sign_up_verify_sign_out_back_and_sign_in(visitor, mailbox):
    person = visitor()
    page = person.page
    email, password = ADA

    person.goto("/")
    person.check_page("home")
    with page.expect_navigation():
        page.get_by_role("link", name="Create your account").click()
    assert person.path() == "/auth/signup"
    fill_sign_up(person, email, password)
    assert page.locator("#password-rules [data-rule=length]").get_attribute("data-state") == "met"
    assert page.locator("#confirm_password-match").inner_text() == "✓ Passwords match"
    person.check_page("sign-up")

    person.submit("Create account")
    assert person.path() == "/auth/verify"
    assert f"We sent a 6-digit code to {email}" in page.locator("[data-flash]").inner_text()
    # The resend button waits out its cooldown.
    assert page.get_by_role("button", name=re.compile("Send a new code")).is_disabled()
    person.check_page("verify")

    page.get_by_label("Verification code").fill(verification_code(mailbox, email))
    person.submit("Verify e-mail address")
    assert person.path() == "/dashboard"
    assert "Your e-mail address is verified" in page.locator("[data-flash]").inner_text()
    assert email in page.locator("main").inner_text()
    assert page.get_by_text("Confirmed", exact=True).is_visible()
    person.check_page("dashboard")

    person.submit("Sign out")
    assert_signed_out_view(person, email)
    assert "You have been signed out." in page.locator("[data-flash]").inner_text()
    person.check_page("sign-in")

    # Back: the dashboard's entry in the history must not show the account, neither
    # from a cache nor from the server; nor after a reload.
    # "commit": a page restored from the back/forward cache fires no new load event.
    page.go_back(wait_until="commit")
    page.wait_for_function("document.readyState === 'complete'")
    assert_signed_out_view(person, email)
    assert person.path() == "/auth/login?next=/dashboard"
    page.reload()
    assert_signed_out_view(person, email)
    person.check_page("sign-in-after-back")

    # Signing in again works, and the account's pages pass the checks.
    sign_in(person, email, password)
    assert person.path() == "/dashboard"
    assert email in page.locator("main").inner_text()
    person.assert_clean()  # the dashboard itself was checked above

    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    assert page.get_by_text("1 active", exact=True).is_visible()
    person.check_page("sessions")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Password").click()
    assert person.path() == "/account/password"
    person.check_page("change-password")


def test_wrong_password_then_forgot_and_reset(visitor, mailbox, site):
    member = visitor()
    email, password = GRACE
    sign_up(member, mailbox, email, password)
    member.submit("Sign out")
    member.assert_clean()

    person = visitor()
    page = person.page
    person.goto("/auth/login")
    sign_in(person, email, "not-the-password-at-all")
    assert person.path() == "/auth/login"
    assert "not correct" in page.locator("[data-flash]").inner_text()
    person.check_page("sign-in-failed")

    with page.expect_navigation():
        page.get_by_role("link", name="Forgot password?").click()
    person.check_page("forgot-password")
    page.get_by_label("E-mail").fill(email)
    person.submit("Send reset link")
    assert person.path() == "/auth/login"
    assert "a reset link is on its way" in page.locator("[data-flash]").inner_text()

    text = browser.plain_text(mailbox.wait_for(email, "Reset your password"))
    links = re.findall(r"https?://\S+", text)
    assert len(links) == 1, f"expected one link in the e-mail:\n{text}"
    assert links[0].startswith(site.url("/auth/reset-password/")), links[0]
    page.goto(links[0])
    # The token left the address bar (and every later request's URL) at once.
    assert person.path() == "/auth/reset-password"
    assert page.get_by_role("heading", level=1).inner_text() == "Choose a new password"
    person.check_page("reset-password")

    new = GRACE_NEW_PASSWORD
    page.get_by_label("New password").fill(new)
    page.get_by_label("Confirm password").fill(new)
    person.submit("Set new password")
    assert person.path() == "/auth/login"
    assert "Your password has been changed" in page.locator("[data-flash]").inner_text()

    sign_in(person, email, password)  # the old one no longer works
    assert person.path() == "/auth/login"
    assert "not correct" in page.locator("[data-flash]").inner_text()
    sign_in(person, email, new)
    assert person.path() == "/dashboard"
    assert email in page.locator("main").inner_text()
    person.assert_clean()  # the pages themselves were checked above


def test_admin_searches_and_deactivates(visitor, mailbox):
    member = visitor()
    email, password = ALAN
    sign_up(member, mailbox, email, password)
    member.assert_clean()

    admin = visitor()
    page = admin.page
    admin.goto("/auth/login")
    sign_in(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert admin.path() == "/admin/"
    assert page.get_by_role("heading", level=1).inner_text() == "Admin"
    admin.check_page("admin-overview")

    admin_tabs = page.get_by_role("navigation", name="Admin")
    with page.expect_navigation():
        admin_tabs.get_by_role("link", name="Users").click()
    query = email.split("@")[0]
    page.get_by_label("Search by e-mail").fill(query)
    with page.expect_navigation():
        page.get_by_role("button", name="Search", exact=True).click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    row = rows.first
    assert email in row.inner_text()
    assert "Active" in row.inner_text()
    admin.check_page("admin-users")

    deactivate = row.get_by_role("button", name=f"Deactivate {email}")
    dialogs, posts = [], []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))

    # Dismissing the confirmation sends nothing.
    def dismiss(dialog):
        dialogs.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.once("dialog", dismiss)
    deactivate.click()
    page.wait_for_timeout(500)
    assert len(dialogs) == 1 and dialogs[0][0] == "confirm", dialogs
    assert f"Deactivate {email}?" in dialogs[0][1]
    assert posts == []
    page.reload()
    assert "Active" in rows.first.inner_text()
    admin.assert_clean()

    # Accepting it deactivates the account.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        deactivate.click()
    assert len(posts) == 1 and "/deactivate" in posts[0], posts
    assert f"{email} is deactivated" in page.locator("[data-flash]").inner_text()
    assert admin.path() == f"/admin/users?q={query}"
    assert rows.count() == 1
    assert "Deactivated" in rows.first.inner_text()
    admin.check_page("admin-users-deactivated")

    with page.expect_navigation():
        admin_tabs.get_by_role("link", name="Audit log").click()
    assert email in page.locator('tr[data-event="deactivate"]').first.inner_text()
    admin.check_page("admin-audit")

    # The member was signed out everywhere and cannot sign in again.
    member.page.reload()
    assert_signed_out_view(member, email)
    sign_in(member, email, password)
    assert "deactivated" in member.page.locator("[data-flash]").inner_text()
    member.assert_clean()


def test_not_found_page(visitor):
    person = visitor()
    response = person.goto("/no-such-page")
    assert response.status == 404
    assert person.page.get_by_role("heading", level=1).inner_text() == "Page not found"
    person.check_page("not-found", allowed_console=[NOT_FOUND_CONSOLE])
