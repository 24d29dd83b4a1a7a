"""Re-authentication: the admin pages ask for the password again when the last time it
was given (sign-in, a password change, or this page) is older than
REAUTHENTICATION_WINDOW."""

from flask import Blueprint, current_app, redirect, render_template, request
from flask_login import current_user, login_required
from wtforms import SubmitField

from ..auth.forms import password_field
from ..auth.gate import landing_url, safe_next_url
from ..database import utcnow
from ..events import log_security_event
from ..extensions import db
from ..forms import BaseForm
from ..models import UserSession
from ..passwords import verify_password
from ..throttling import limit_per_address, limit_per_user

# /auth/reauthenticate: outside /admin/, whose pages all send here.
bp = Blueprint("reauth", __name__, url_prefix="/auth")


class ReauthenticateForm(BaseForm):
    password = password_field()
    submit = SubmitField("Continue")


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
    return render_template("admin/reauthenticate.html", form=form)


def mark_authenticated(user_session: UserSession) -> None:
    """The user just proved they know the password."""
    user_session.authenticated_at = utcnow()
    db.session.commit()


def password_proven(sender, user) -> None:
    """auth.signals.password_proven: a password change counts as giving it again."""
    mark_authenticated(user.current_session)


def authenticated_recently(user_session: UserSession) -> bool:
    window = current_app.config["REAUTHENTICATION_WINDOW"]
    return utcnow() - user_session.authenticated_at <= window
