"""The verify page, its resend button, and what sign-up and the login gate do with codes."""

from flask import Blueprint, flash, redirect, render_template, session, url_for

from ..auth import gate
from ..models import User
from ..throttling import limit_per_address
from . import codes
from .forms import VerifyForm

bp = Blueprint("verification", __name__, url_prefix="/auth")

CODE_MESSAGES = {
    codes.CodeCheck.WRONG: "That code is not correct. Check the e-mail and try again.",
    codes.CodeCheck.EXPIRED: "That code has expired. Ask for a new one below.",
    codes.CodeCheck.LOCKED: "Too many wrong codes. Wait a few minutes, then ask for a new code.",
}


def sign_up_and_wait_for_code(email: str, password: str):
    """Sign-up with verification: a code is on its way, the account waits for it."""
    # Same answer whether or not the address was already registered.
    wait_for_code(codes.sign_up(email, password), email)
    flash(f"We sent a 6-digit code to {email}.", "info")
    return redirect(url_for("verification.verify"))


def require_verified_address(user: User):
    """The login gate's step: an account whose address is not verified gets a code first."""
    if user.is_verified:
        return None
    wait_for_code(codes.start_verification(user, user.password_hash), user.email)
    flash("Enter the code we e-mailed you to finish signing up.", "info")
    return redirect(url_for("verification.verify"))


def wait_for_code(ticket: str, email: str) -> None:
    """This browser now holds the sign-up's ticket; the address is only shown on the page."""
    session["verify_ticket"] = ticket
    session["verify_email"] = email


@bp.route("/verify", methods=["GET", "POST"])
@limit_per_address("RATELIMIT_VERIFY")
def verify():
    if "verify_ticket" not in session:
        flash("Sign in to verify your e-mail address.", "info")
        return redirect(url_for("auth.login"))
    pending = codes.pending_signup(session["verify_ticket"])
    form = VerifyForm()
    if form.validate_on_submit():
        user = pending.user if pending else None
        result = codes.check_code(pending, form.code.data)
        if result is codes.CodeCheck.ACCEPTED:
            return gate.let_in(
                user, via="email_code", welcome="Your e-mail address is verified. Welcome!"
            )
        form.code.errors.append(CODE_MESSAGES[result])
    return render_template(
        "verification/verify.html",
        form=form,
        email=session["verify_email"],
        resend_wait=codes.seconds_until_resend(pending),
    )


@bp.route("/verify/resend", methods=["POST"])
@limit_per_address("RATELIMIT_RESEND")
def resend_code():
    if "verify_ticket" not in session:
        return redirect(url_for("auth.login"))
    pending = codes.pending_signup(session["verify_ticket"])
    if pending is None:
        flash("This sign-up has expired. Sign up again, or sign in to get a new code.", "warning")
        return redirect(url_for("auth.signup"))
    wait = codes.seconds_until_resend(pending)
    if wait:
        flash(f"Please wait {wait} seconds before asking for a new code.", "warning")
    else:
        codes.resend_code(pending)
        flash("A new code is on its way.", "info")
    return redirect(url_for("verification.verify"))
