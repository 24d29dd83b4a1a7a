"""Server-side sessions on top of Flask-Login.

Flask-Login keeps `user.get_id()` in the session cookie and the remember cookie; here
that is a random token naming a UserSession row. Every request checks the row, so
logging out, changing the password, deactivation or deletion end a session on the
server and a copied cookie is worthless afterwards (ASVS 7.4).
"""

from flask import Flask, current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select

from ..database import utcnow
from ..extensions import db, login_manager
from ..models import User, UserSession
from ..tokens import hash_token, new_token


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    # Sessions are checked on the server; Flask-Login's IP/user-agent heuristics would
    # only sign out people whose mobile network changed address.
    login_manager.session_protection = None


def start_session(user: User, remember: bool = False) -> UserSession:
    # A fresh cookie session at login: nothing from before it survives (no fixation).
    session.clear()
    token = new_token()
    user_session = UserSession(
        user=user,
        token_hash=hash_token(token),
        remember=remember,
        ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:255],
    )
    user.last_login_at = utcnow()
    db.session.add(user_session)
    db.session.commit()
    user.session_token = token
    user.current_session = user_session
    login_user(user, remember=remember)
    return user_session


def end_session(user: User) -> None:
    if user.current_session is not None:
        db.session.delete(user.current_session)
        db.session.commit()
    session.clear()
    # After clearing: logout_user() leaves the mark that deletes the remember cookie.
    logout_user()


def end_all_sessions(user: User, keep: UserSession | None = None) -> int:
    """End every session of a user (all but `keep`, when given); returns how many."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    result = db.session.execute(statement)
    db.session.commit()
    return result.rowcount


def load_user(token: str) -> User | None:
    user_session = db.session.scalar(
        select(UserSession).where(UserSession.token_hash == hash_token(token))
    )
    if user_session is None:
        return None
    now = utcnow()
    if user_session.expired(now) or not user_session.user.is_active:
        db.session.delete(user_session)
        db.session.commit()
        return None
    # Written at most once a minute: a write per request would serialise every page view.
    if now - user_session.last_seen_at >= current_app.config["SESSION_TOUCH_INTERVAL"]:
        user_session.last_seen_at = now
        db.session.commit()
    user = user_session.user
    user.session_token = token
    user.current_session = user_session
    return user
