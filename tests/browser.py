"""What tests/test_browser.py needs around the browser: the tools it drives (Chromium,
axe-core), an SMTP capture, the baked default variant served by gunicorn, and a
Visitor that checks every page it sees.

Nothing here downloads anything: Chromium is the Debian package (or CHROMIUM), axe-core
is the copy .ci/run installs from the npm registry (or AXE_CORE_JS).
"""

import email
import email.policy
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import harness

# Flags for a quiet, hermetic headless Chromium: no sandbox (containers, root), no
# background requests to Google (updates, sync, safe browsing lists).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Playwright turns the back/forward cache off by default; a visitor's browser has it on,
# and the Back-button check must face it.
PLAYWRIGHT_ARGS_NOT_WANTED = ["--disable-back-forward-cache"]
AXE_CORE_DEFAULT = harness.TEMPLATE_DIR / ".ci/node/node_modules/axe-core/axe.min.js"
# axe-core impacts that fail a page; "minor" and "moderate" do not.
AXE_FAILING_IMPACTS = {"serious", "critical"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


# --- the tools -----------------------------------------------------------------------


@dataclass
class Tools:
    chromium: str
    axe_core: Path


def require_tools():
    """Chromium, axe-core and Playwright, or a loud skip (a failure when CI is set)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (pip install -r requirements-dev.txt)")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not chromium or not os.access(chromium, os.X_OK):
        missing.append(
            "Chromium (Debian: apt-get install chromium; or set CHROMIUM to a Chromium or "
            "Chrome executable)"
        )
    axe_core = Path(os.environ.get("AXE_CORE_JS") or AXE_CORE_DEFAULT)
    if not axe_core.is_file():
        missing.append(
            f"axe-core at {axe_core} (npm install --prefix .ci/node --no-save axe-core@4; "
            "or set AXE_CORE_JS to an axe.min.js)"
        )
    if missing:
        reason = f"BROWSER TESTS NOT RUN, missing: {'; '.join(missing)}. .ci/run installs them."
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return Tools(chromium=chromium, axe_core=axe_core)


def launch(playwright, tools):
    return playwright.chromium.launch(
        executable_path=tools.chromium,
        args=CHROMIUM_ARGS,
        ignore_default_args=PLAYWRIGHT_ARGS_NOT_WANTED,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- e-mail ----------------------------------------------------------------------------


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps every message it receives."""

    def __init__(self):
        self.messages = []
        self._arrived = threading.Condition()
        self.port = free_port()
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self):
        self._controller.start()
        return self

    def stop(self):
        self._controller.stop()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, to, subject, timeout=15):
        """The first message to `to` whose subject contains `subject`, taken out of the
        box (the application sends mail from a background thread, so wait for it)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.messages:
                    if to in str(message["To"]) and subject in str(message["Subject"]):
                        self.messages.remove(message)
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(str(m["To"]), str(m["Subject"])) for m in self.messages]
                    pytest.fail(
                        f"no e-mail to {to} about {subject!r} within {timeout} s; "
                        f"the SMTP capture holds {seen}",
                        pytrace=False,
                    )
                self._arrived.wait(left)


def plain_text(message):
    return message.get_body(preferencelist=("plain",)).get_content()


# --- the site ----------------------------------------------------------------------------


@dataclass
class Site:
    base_url: str
    bake: harness.Bake
    env: dict
    process: subprocess.Popen
    log: Path

    def url(self, path):
        return self.base_url + path

    def log_tail(self, lines=60):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def bake_default(output_dir):
    """The default variant (every option at its default), baked with cookiecutter's API
    into a folder of its own: the server's files never mix with another test's bake."""
    from cookiecutter.main import cookiecutter

    variant = dict(harness.DEFAULTS)
    project = Path(
        cookiecutter(
            str(harness.TEMPLATE_DIR),
            no_input=True,
            extra_context=variant,
            output_dir=str(output_dir),
        )
    )
    context = {"package_name": project.name, **variant}
    return harness.Bake(variant=variant, context=context, project=project)


def serve(bake, work_dir, mail_port, admin_email, admin_password):
    """Migrate a fresh SQLite database, create the admin, and start gunicorn on a free
    loopback port with the production configuration (Secure __Host- cookies, HSTS, the
    trusted hosts): Chromium treats http://127.0.0.1 as a secure context, so they work."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = harness.project_env(
        bake,
        APP_ENV="production",
        SECRET_KEY=harness.new_secret_key(),
        DATABASE_URL=f"sqlite:///{work_dir / 'browser.sqlite'}",
        BASE_URL=base_url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(mail_port),
    )
    harness.run(["-m", "flask", "db", "upgrade"], bake, env)
    harness.run(
        ["-m", "flask", "create-admin", "--email", admin_email, "--password", admin_password],
        bake,
        env,
    )
    log = work_dir / "gunicorn.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8"),
                *("--access-logfile", "-", "--error-logfile", "-"),
                "wsgi:app",
            ],
            cwd=bake.project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    site = Site(base_url=base_url, bake=bake, env=env, process=process, log=log)
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
    deadline = time.monotonic() + 30
    while True:
        try:
            with direct.open(site.url("/healthz"), timeout=2) as response:
                if response.status == 200:
                    return site
        except (OSError, urllib.error.URLError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            site.stop()
            pytest.fail(f"gunicorn did not start:\n{site.log_tail()}", pytrace=False)
        time.sleep(0.1)


# --- checking pages ------------------------------------------------------------------------

# Runs in every page before its own scripts: CSP violations reach Python through an
# exposed binding, so none is lost when the page navigates away.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline code"}` +
    ` (${event.sourceFile || event.documentURI}:${event.lineNumber})`
  );
}, true);
"""

OVERFLOW_PROBE = """
() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const culprits = [];
  if (root.scrollWidth > width) {
    for (const el of document.body.querySelectorAll("*")) {
      const right = el.getBoundingClientRect().right;
      if (right > width + 0.5 && culprits.length < 5) {
        const classes = el.className.baseVal ?? el.className;
        const name = el.tagName.toLowerCase();
        culprits.push(`<${name} class="${classes}"> ends at ${Math.round(right)} px`);
      }
    }
  }
  return {scrollWidth: root.scrollWidth, clientWidth: width, culprits};
}
"""

AXE_RUN = """
async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map((node) => node.target.join(" ")),
  }));
}
"""


def same_origin(url, base_url):
    parts, base = urlsplit(url), urlsplit(base_url)
    if parts.scheme in ("data", "blob", "about"):
        return True  # never leaves the browser
    return (parts.scheme, parts.netloc) == (base.scheme, base.netloc)


@dataclass(repr=False)
class Visitor:
    """One person: a browser context of their own (cookies, history) with one tab.

    Everything a page does that the checks care about is recorded as it happens;
    `check_page` looks at what was recorded since the last check, measures the page at
    375 px, runs axe-core at both widths and saves the screenshots.
    """

    context: object
    page: object
    site: Site
    axe_source: str
    shots: "Screenshots"
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    csp_violations: list = field(default_factory=list)
    foreign_requests: list = field(default_factory=list)

    @classmethod
    def open(cls, browser, site, axe_source, shots):
        context = browser.new_context(viewport=DESKTOP, base_url=site.base_url)
        visitor = cls(context=context, page=None, site=site, axe_source=axe_source, shots=shots)
        context.expose_binding(
            "__reportCspViolation", lambda source, text: visitor.csp_violations.append(text)
        )
        context.add_init_script(CSP_LISTENER)
        context.on("request", visitor._on_request)
        visitor.page = context.new_page()
        visitor.page.on("console", visitor._on_console)
        visitor.page.on("pageerror", lambda error: visitor.page_errors.append(str(error)))
        return visitor

    def close(self):
        self.context.close()

    def _on_request(self, request):
        if not same_origin(request.url, self.site.base_url):
            self.foreign_requests.append(f"{request.method} {request.url}")

    def _on_console(self, message):
        if message.type == "error":
            where = message.location.get("url", "")
            self.console_errors.append((message.text, where))

    # -- navigation helpers --

    def goto(self, path):
        return self.page.goto(self.site.url(path))

    def path(self):
        """The current address without the origin, %-escapes decoded."""
        parts = urlsplit(self.page.url)
        return unquote(parts.path + (f"?{parts.query}" if parts.query else ""))

    def submit(self, button_name):
        """Click a submit button and wait for the page the form leads to."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button_name, exact=True).click()

    # -- the checks --

    def recorded_problems(self, allowed_console=()):
        problems = []
        for text, where in self.console_errors:
            if not any(re.search(pattern, text) for pattern in allowed_console):
                problems.append(f"console error: {text} ({where})")
        problems += [f"uncaught error: {text}" for text in self.page_errors]
        problems += [f"CSP violation: {text}" for text in self.csp_violations]
        problems += [f"request to another origin: {text}" for text in self.foreign_requests]
        for recorded in (
            self.console_errors,
            self.page_errors,
            self.csp_violations,
            self.foreign_requests,
        ):
            recorded.clear()
        return problems

    def assert_clean(self):
        """The recorded checks only, for a page already checked in full elsewhere."""
        self.page.evaluate("0")
        problems = self.recorded_problems()
        if problems:
            pytest.fail(
                f"page {self.path()}, {len(problems)} problem(s):\n" + "\n".join(problems),
                pytrace=False,
            )

    def axe_problems(self, width):
        if not self.page.evaluate("typeof window.axe === 'object'"):
            # evaluate, not add_script_tag: an inline <script> would break the strict CSP.
            self.page.evaluate(self.axe_source)
        problems = []
        for violation in self.page.evaluate(AXE_RUN):
            if violation["impact"] in AXE_FAILING_IMPACTS:
                problems.append(
                    f"axe-core at {width} px, {violation['impact']} {violation['id']}: "
                    f"{violation['help']} ({', '.join(violation['targets'])})"
                )
        return problems

    def overflow_problems(self):
        probe = self.page.evaluate(OVERFLOW_PROBE)
        if probe["scrollWidth"] <= probe["clientWidth"]:
            return []
        return [
            f"scrolls sideways at {PHONE['width']} px: {probe['scrollWidth']} px wide; "
            + "; ".join(probe["culprits"])
        ]

    def settle(self):
        self.page.wait_for_load_state("load")
        self.page.evaluate("document.fonts.ready.then(() => true)")

    def check_page(self, name, allowed_console=(), screenshots=True):
        """Every check of the issue on the page now shown; fails with all problems found.
        `allowed_console`: patterns of console errors this page is expected to log."""
        page = self.page
        self.settle()
        problems = self.axe_problems(DESKTOP["width"])
        if screenshots:
            self.shots.take(page, name, DESKTOP["width"])
        page.set_viewport_size(PHONE)
        try:
            self.settle()
            problems += self.overflow_problems()
            problems += self.axe_problems(PHONE["width"])
            if screenshots:
                self.shots.take(page, name, PHONE["width"])
        finally:
            page.set_viewport_size(DESKTOP)
        # Last: whatever the measuring did counts too.
        page.evaluate("0")  # a round trip, so pending console and binding events arrive
        problems += self.recorded_problems(allowed_console)
        if problems:
            pytest.fail(
                f"page {name!r} ({self.path()}), {len(problems)} problem(s):\n"
                + "\n".join(problems)
                + f"\nscreenshots: {self.shots.directory}",
                pytrace=False,
            )


SHOT_NAME = re.compile(r"\d{2,}-[a-z0-9-]+-\d+\.png")


class Screenshots:
    """Full-page screenshots of every checked page at both widths, numbered in the order
    taken, in BROWSER_ARTIFACTS (or a temporary folder)."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob("*.png"):
            if SHOT_NAME.fullmatch(old.name):  # an earlier run's; nothing else
                old.unlink()
        self.count = 0

    def take(self, page, name, width):
        self.count += 1
        path = self.directory / f"{self.count:02d}-{name}-{width}.png"
        # caret="initial": hiding the caret would add an inline <style> the CSP refuses.
        page.screenshot(path=path, full_page=True, animations="disabled", caret="initial")
        return path
