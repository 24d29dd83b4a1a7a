"""The login gate: every way into an account ends here.

A way in (the password form; options add others) proves who someone is, then calls
`let_in(user)`. The gate runs the steps that the app and its options registered, in
order: each may answer with a page to go to instead (this account is deactivated, its
address is not verified yet, a second factor is due). When none does, the session
starts, the event is logged, the browser is remembered and the user lands on their
page. An option adds a step, never a branch:

    gate.add_step(app, require_verified_address)

Options also choose what a sign-up does (`gate.set_sign_up`) and where some users land
(`gate.add_landing`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..events import log_security_event
from ..models import User
from ..throttling import remember_device
from .accounts import register
from .forms import LoginForm
from .sessions import start_session

Step = Callable[[User], ResponseReturnValue | None]
Landing = Callable[[User], str | None]
SignUp = Callable[[str, str], ResponseReturnValue]


@dataclass
class Gate:
    """What the app and its options registered; one per app, in app.extensions."""

    sign_up: SignUp
    steps: list[Step] = field(default_factory=list)
    landings: list[Landing] = field(default_factory=list)


def init_app(app: Flask) -> None:
    app.extensions["login_gate"] = Gate(
        sign_up=register_and_ask_to_sign_in, steps=[refuse_deactivated]
    )


def add_step(app: Flask, step: Step) -> None:
    app.extensions["login_gate"].steps.append(step)


def add_landing(app: Flask, landing: Landing) -> None:
    app.extensions["login_gate"].landings.append(landing)


def set_sign_up(app: Flask, sign_up: SignUp) -> None:
    app.extensions["login_gate"].sign_up = sign_up


def let_in(
    user: User, remember: bool = False, via: str = "password", welcome: str | None = None
) -> ResponseReturnValue:
    """Sign `user` in, unless a step of the gate sends them elsewhere first."""
    gate = current_app.extensions["login_gate"]
    for step in gate.steps:
        detour = step(user)
        if detour is not None:
            return detour
    start_session(user, remember=remember)
    log_security_event("login.success", user, via=via)
    if welcome:
        flash(welcome, "success")  # after start_session, which starts a new cookie session
    response = redirect(safe_next_url(request.args.get("next")) or landing_url(user))
    remember_device(response, user.email)
    return response


def sign_up(email: str, password: str) -> ResponseReturnValue:
    return current_app.extensions["login_gate"].sign_up(email, password)


def landing_url(user: User) -> str:
    for landing in current_app.extensions["login_gate"].landings:
        url = landing(user)
        if url is not None:
            return url
    return url_for("main.dashboard")


def refuse_deactivated(user: User) -> ResponseReturnValue | None:
    if user.is_active:
        return None
    log_security_event("login.deactivated", user)
    flash("This account has been deactivated. Contact the site's team.", "error")
    return render_template("auth/login.html", form=LoginForm(formdata=None))


def register_and_ask_to_sign_in(email: str, password: str) -> ResponseReturnValue:
    """Without e-mail verification an account is ready at once; its owner signs in."""
    register(email, password)
    # Same answer whether or not the address was already registered.
    flash("Your account is ready. Sign in with your e-mail and password.", "success")
    return redirect(url_for("auth.login"))


def safe_next_url(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirect).

    Browsers treat backslashes as slashes and drop tabs and newlines, so `/\\host`,
    `\\/host` and `/%09/host` all lead off-site: anything like that is refused.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
