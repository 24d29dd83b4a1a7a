"""Sign-up, login, logout and password reset: the ways in that every project has."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from ..events import log_security_event
from ..mail import run_in_background
from ..passwords import verify_password
from ..throttling import (
    clear_login_failures,
    limit_per_account,
    limit_per_address,
    login_per_account,
    login_per_device,
)
from . import gate
from .accounts import find_user, reset_password_with, send_reset_link, valid_reset_token
from .forms import ForgotPasswordForm, LoginForm, ResetPasswordForm, SignupForm
from .sessions import end_session
from .signals import address_proven

# The reset link's token moves from the URL into the session on the first visit, so it
# never reaches an access log, a Referer or the browser's history again.
RESET_TOKEN_KEY = "reset_token"  # noqa: S105 (a session key, not a secret)

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/signup", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_SIGNUP")
def signup():
    if current_user.is_authenticated:
        return redirect(gate.landing_url(current_user))
    form = SignupForm()
    if form.validate_on_submit():
        return gate.sign_up(form.email.data, form.password.data)
    return render_template("auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_LOGIN_PER_ADDRESS")
@login_per_account
@login_per_device
def login():
    if current_user.is_authenticated:
        return redirect(gate.landing_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        # An unknown address is checked against a dummy hash: it takes as long as a real one.
        if verify_password(form.password.data, user.password_hash if user else None):
            clear_login_failures(user.email)
            return gate.let_in(user, remember=form.remember.data)
        log_security_event("login.failure", user, email=form.email.data)
        flash("The e-mail address or password is not correct.", "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        log_security_event("logout", current_user)
        end_session(current_user)
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_FORGOT_PER_ADDRESS")
@limit_per_account("RATELIMIT_FORGOT_PER_ACCOUNT")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # Looked up and mailed off the request thread: the answer takes the same time
        # whether or not the address has an account.
        run_in_background(send_reset_link, form.email.data)
        # Same answer for every address (no account enumeration).
        flash(
            f"If {form.email.data} has an account, a reset link is on its way.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password_link(token: str):
    """The link in the e-mail: keep its token in the session and drop it from the URL."""
    session[RESET_TOKEN_KEY] = token
    if request.method == "POST":  # a form posted straight to the link works too
        return reset_password()
    return redirect(url_for("auth.reset_password"))


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password():
    reset = valid_reset_token(session.get(RESET_TOKEN_KEY))
    if reset is None:
        return reset_link_invalid()
    form = ResetPasswordForm(email=reset.user.email)
    if form.validate_on_submit():
        user = reset_password_with(reset, form.password.data)
        if user is None:  # a parallel request used the link first
            return reset_link_invalid()
        session.pop(RESET_TOKEN_KEY)
        address_proven.send(current_app._get_current_object(), user=user)
        clear_login_failures(user.email)
        flash("Your password has been changed. Sign in with the new one.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


def reset_link_invalid():
    session.pop(RESET_TOKEN_KEY, None)
    flash("This reset link is invalid or has expired. Ask for a new one.", "error")
    return redirect(url_for("auth.forgot_password"))
