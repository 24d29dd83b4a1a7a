from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.accounts import set_password
from ..auth.sessions import end_all_sessions, end_session
from ..auth.signals import password_proven
from ..events import log_security_event
from ..extensions import db
from ..models import UserSession
from ..passwords import verify_password
from ..throttling import limit_per_user
from .forms import ChangePasswordForm
from .user_agents import describe_user_agent

bp = Blueprint("account", __name__, url_prefix="/account")


@dataclass
class SessionRow:
    id: int
    browser: str
    ip_address: str | None
    created_at: datetime
    last_seen_at: datetime
    is_current: bool


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limit_per_user("RATELIMIT_CREDENTIAL_CHANGE")
def change_password():
    form = ChangePasswordForm(email=current_user.email)
    if form.validate_on_submit():
        if verify_password(form.current_password.data, current_user.password_hash):
            set_password(current_user, form.password.data, keep=current_user.current_session)
            password_proven.send(current_app._get_current_object(), user=current_user)
            flash("Your password has been changed and your other sessions signed out.", "success")
            return redirect(url_for("main.dashboard"))
        log_security_event("password.change_failure", current_user)
        form.current_password.errors.append("That is not your current password.")
    return render_template("account/password.html", form=form)


@bp.route("/sessions")
@login_required
def sessions():
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == current_user.id)
        .order_by(UserSession.last_seen_at.desc())
    )
    current_id = current_user.current_session.id
    session_rows = [
        SessionRow(
            id=row.id,
            browser=describe_user_agent(row.user_agent),
            ip_address=row.ip_address,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            is_current=row.id == current_id,
        )
        for row in rows
    ]
    return render_template("account/sessions.html", sessions=session_rows)


@bp.route("/sessions/<id:session_id>/revoke", methods=["POST"])
@login_required
def revoke_session(session_id: int):
    user_session = db.session.get(UserSession, session_id)
    if user_session is None or user_session.user_id != current_user.id:
        abort(404)
    log_security_event("session.revoked", current_user, session_id=session_id)
    if user_session.id == current_user.current_session.id:
        end_session(current_user)
        flash("You have been signed out.", "info")
        return redirect(url_for("auth.login"))
    db.session.delete(user_session)
    db.session.commit()
    flash("That session has been signed out.", "success")
    return redirect(url_for("account.sessions"))


@bp.route("/sessions/revoke-others", methods=["POST"])
@login_required
def revoke_other_sessions():
    count = end_all_sessions(current_user, keep=current_user.current_session)
    log_security_event("session.revoked_others", current_user, count=count)
    flash(f"Signed out {count} other session{'s' if count != 1 else ''}.", "success")
    return redirect(url_for("account.sessions"))
