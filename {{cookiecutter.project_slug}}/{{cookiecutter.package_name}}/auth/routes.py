from urllib.parse import urlsplit

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
{%- if cookiecutter.use_admin %}
from flask_login import current_user, login_required
{%- else %}
from flask_login import current_user
{%- endif %}

from ..events import log_security_event
from ..mail import run_in_background
{%- if cookiecutter.use_otp %}
from . import otp
{%- endif %}
from .accounts import (
    find_user,
    landing_url,
{%- if not cookiecutter.use_otp %}
    register,
{%- endif %}
    reset_password_with,
    send_reset_link,
    valid_reset_token,
)
from .forms import (
    ForgotPasswordForm,
    LoginForm,
{%- if cookiecutter.use_admin %}
    ReauthenticateForm,
{%- endif %}
    ResetPasswordForm,
    SignupForm,
{%- if cookiecutter.use_otp %}
    VerifyForm,
{%- endif %}
)
from .passwords import MAX_PASSWORD_BYTES, verify_password
{%- if cookiecutter.use_admin %}
from .sessions import end_session, mark_authenticated, start_session
{%- else %}
from .sessions import end_session, start_session
{%- endif %}
from .throttling import (
    clear_login_failures,
    limit_per_account,
    limit_per_address,
{%- if cookiecutter.use_admin %}
    limit_per_user,
{%- endif %}
    login_per_account,
    login_per_device,
    remember_device,
)

# The reset link's token moves from the URL into the session on the first visit, so it
# never reaches an access log, a Referer or the browser's history again.
RESET_TOKEN_KEY = "reset_token"  # noqa: S105 (a session key, not a secret)

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.app_context_processor
def password_policy() -> dict:
    """The policy's numbers, for the live hints next to new-password fields."""
    config = current_app.config
    return {
        "password_policy": {
            "min_length": config["PASSWORD_MIN_LENGTH"],
            "max_bytes": MAX_PASSWORD_BYTES,
            "require_character_classes": config["PASSWORD_REQUIRE_CHARACTER_CLASSES"],
        }
    }


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


@bp.route("/signup", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_SIGNUP")
def signup():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = SignupForm()
    if form.validate_on_submit():
{%- if cookiecutter.use_otp %}
        # Same answer whether or not the address was already registered.
        wait_for_code(otp.sign_up(form.email.data, form.password.data), form.email.data)
        flash(f"We sent a 6-digit code to {form.email.data}.", "info")
        return redirect(url_for("auth.verify"))
{%- else %}
        register(form.email.data, form.password.data)
        # Same answer whether or not the address was already registered.
        flash("Your account is ready. Sign in with your e-mail and password.", "success")
        return redirect(url_for("auth.login"))
{%- endif %}
    return render_template("auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_LOGIN_PER_ADDRESS")
@login_per_account
@login_per_device
def login():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        # An unknown address is checked against a dummy hash: it takes as long as a real one.
        if verify_password(form.password.data, user.password_hash if user else None):
            return finish_login(user, remember=form.remember.data)
        log_security_event("login.failure", user, email=form.email.data)
        flash("The e-mail address or password is not correct.", "error")
    return render_template("auth/login.html", form=form)


def finish_login(user, remember: bool):
    clear_login_failures(user.email)
    if not user.is_active:
        log_security_event("login.deactivated", user)
        flash("This account has been deactivated. Contact the site's team.", "error")
        return render_template("auth/login.html", form=LoginForm(formdata=None))
{%- if cookiecutter.use_otp %}
    if not user.is_verified:
        wait_for_code(otp.start_verification(user, user.password_hash), user.email)
        flash("Enter the code we e-mailed you to finish signing up.", "info")
        return redirect(url_for("auth.verify"))
{%- endif %}
    start_session(user, remember=remember)
    log_security_event("login.success", user)
    response = redirect(safe_next_url(request.args.get("next")) or landing_url(user))
    remember_device(response, user.email)
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        log_security_event("logout", current_user)
        end_session(current_user)
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"))
{%- if cookiecutter.use_otp %}


def wait_for_code(ticket: str, email: str) -> None:
    """This browser now holds the sign-up's ticket; the address is only shown on the page."""
    session["verify_ticket"] = ticket
    session["verify_email"] = email


CODE_MESSAGES = {
    otp.CodeCheck.WRONG: "That code is not correct. Check the e-mail and try again.",
    otp.CodeCheck.EXPIRED: "That code has expired. Ask for a new one below.",
    otp.CodeCheck.LOCKED: "Too many wrong codes. Wait a few minutes, then ask for a new code.",
}


@bp.route("/verify", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_VERIFY")
def verify():
    if "verify_ticket" not in session:
        flash("Sign in to verify your e-mail address.", "info")
        return redirect(url_for("auth.login"))
    pending = otp.pending_signup(session["verify_ticket"])
    form = VerifyForm()
    if form.validate_on_submit():
        user = pending.user if pending else None
        result = otp.check_code(pending, form.code.data)
        if result is otp.CodeCheck.ACCEPTED:
            start_session(user)
            flash("Your e-mail address is verified. Welcome!", "success")
            return redirect(landing_url(user))
        form.code.errors.append(CODE_MESSAGES[result])
    return render_template(
        "auth/verify.html",
        form=form,
        email=session["verify_email"],
        resend_wait=otp.seconds_until_resend(pending),
    )


@bp.route("/verify/resend", methods=["POST"])
@limit_per_address("RATELIMIT_RESEND")
def resend_code():
    if "verify_ticket" not in session:
        return redirect(url_for("auth.login"))
    pending = otp.pending_signup(session["verify_ticket"])
    if pending is None:
        flash("This sign-up has expired. Sign up again, or sign in to get a new code.", "warning")
        return redirect(url_for("auth.signup"))
    wait = otp.seconds_until_resend(pending)
    if wait:
        flash(f"Please wait {wait} seconds before asking for a new code.", "warning")
    else:
        otp.resend_code(pending)
        flash("A new code is on its way.", "info")
    return redirect(url_for("auth.verify"))
{%- endif %}


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
{%- if cookiecutter.use_otp %}
        otp.mailbox_proven(user)
{%- endif %}
        clear_login_failures(user.email)
        flash("Your password has been changed. Sign in with the new one.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


def reset_link_invalid():
    session.pop(RESET_TOKEN_KEY, None)
    flash("This reset link is invalid or has expired. Ask for a new one.", "error")
    return redirect(url_for("auth.forgot_password"))
{%- if cookiecutter.use_admin %}


# The admin pages send here whoever last gave their password too long ago.
@bp.route("/reauthenticate", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_LOGIN_PER_ADDRESS")
@login_required
@limit_per_user("RATELIMIT_CREDENTIAL_CHANGE")
def reauthenticate():
    form = ReauthenticateForm()
    if form.validate_on_submit():
        if verify_password(form.password.data, current_user.password_hash):
            mark_authenticated(current_user.current_session)
            return redirect(safe_next_url(request.args.get("next")) or landing_url(current_user))
        log_security_event("reauthentication.failure", current_user)
        form.password.errors.append("That password is not correct.")
    return render_template("auth/reauthenticate.html", form=form)
{%- endif %}
