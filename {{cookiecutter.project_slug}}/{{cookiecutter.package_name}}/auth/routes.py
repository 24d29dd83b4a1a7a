{% if cookiecutter.use_otp -%}
import time
{% endif -%}
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
{%- if cookiecutter.use_otp %}
    session,
{%- endif %}
    url_for,
)
{%- if cookiecutter.use_admin %}
from flask_login import current_user, login_required
{%- else %}
from flask_login import current_user
{%- endif %}

from ..events import log_security_event
from ..mail import send_email
{%- if cookiecutter.use_otp %}
from . import otp
{%- endif %}
from .accounts import (
    create_reset_link,
    find_reset_token,
    find_user,
    landing_url,
    register,
    set_password,
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
)

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
        user = register(form.email.data, form.password.data)
        if user is not None:
            otp.send_verification_code(user)
        # Same answer whether or not the address was already registered.
        session["verify_email"] = form.email.data
        session["verify_code_sent_at"] = time.time()
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
    clear_login_failures()
    if not user.is_active:
        log_security_event("login.deactivated", user)
        flash("This account has been deactivated. Contact the site's team.", "error")
        return render_template("auth/login.html", form=LoginForm(formdata=None))
{%- if cookiecutter.use_otp %}
    if not user.is_verified:
        session["verify_email"] = user.email
        flash("Enter the code we e-mailed you to finish signing up.", "info")
        return redirect(url_for("auth.verify"))
{%- endif %}
    start_session(user, remember=remember)
    log_security_event("login.success", user)
    return redirect(safe_next_url(request.args.get("next")) or landing_url(user))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        log_security_event("logout", current_user)
        end_session(current_user)
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"))
{%- if cookiecutter.use_otp %}


def pending_user():
    """The account waiting for its code, or None when the address is unknown or verified."""
    email = session.get("verify_email")
    user = find_user(email) if email else None
    return user if user is not None and not user.is_verified else None


def seconds_until_resend(user) -> int:
    if user is not None:
        return otp.seconds_until_resend(user)
    # Unknown or taken address: show the same countdown a real sign-up would see.
    sent_at = session.get("verify_code_sent_at", 0)
    cooldown = current_app.config["OTP_RESEND_COOLDOWN"].total_seconds()
    return max(0, int(sent_at + cooldown - time.time() + 0.999))


CODE_MESSAGES = {
    otp.CodeCheck.WRONG: "That code is not correct. Check the e-mail and try again.",
    otp.CodeCheck.EXPIRED: "That code has expired. Ask for a new one below.",
    otp.CodeCheck.LOCKED: "Too many wrong codes. Wait a few minutes, then ask for a new code.",
}


@bp.route("/verify", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_VERIFY")
def verify():
    if "verify_email" not in session:
        flash("Sign in to verify your e-mail address.", "info")
        return redirect(url_for("auth.login"))
    user = pending_user()
    form = VerifyForm()
    if form.validate_on_submit():
        result = otp.check_code(user, form.code.data) if user else otp.CodeCheck.WRONG
        if result is otp.CodeCheck.ACCEPTED:
            session.pop("verify_email")
            start_session(user)
            flash("Your e-mail address is verified. Welcome!", "success")
            return redirect(landing_url(user))
        form.code.errors.append(CODE_MESSAGES[result])
    return render_template(
        "auth/verify.html",
        form=form,
        email=session["verify_email"],
        resend_wait=seconds_until_resend(user),
    )


@bp.route("/verify/resend", methods=["POST"])
@limit_per_address("RATELIMIT_RESEND")
def resend_code():
    if "verify_email" not in session:
        return redirect(url_for("auth.login"))
    user = pending_user()
    wait = seconds_until_resend(user)
    if wait:
        flash(f"Please wait {wait} seconds before asking for a new code.", "warning")
    else:
        if user is not None:
            otp.send_verification_code(user)
        session["verify_code_sent_at"] = time.time()
        flash("A new code is on its way.", "info")
    return redirect(url_for("auth.verify"))
{%- endif %}


@bp.route("/forgot-password", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_FORGOT_PER_ADDRESS")
@limit_per_account("RATELIMIT_FORGOT_PER_ACCOUNT")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user is not None and user.is_active:
            minutes = int(current_app.config["PASSWORD_RESET_TOKEN_LIFETIME"].total_seconds() // 60)
            send_email(
                user.email,
                "Reset your password",
                "password_reset",
                reset_url=create_reset_link(user),
                minutes=minutes,
            )
        log_security_event("password.reset_requested", user, email=form.email.data)
        # Same answer for every address (no account enumeration).
        flash(
            f"If {form.email.data} has an account, a reset link is on its way.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    reset = find_reset_token(token)
    if reset is None:
        flash("This reset link is invalid or has expired. Ask for a new one.", "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm(email=reset.user.email)
    if form.validate_on_submit():
        user = reset.user
        set_password(user, form.password.data)
        log_security_event("password.reset", user)
        flash("Your password has been changed. Sign in with the new one.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
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
