"""Account operations shared by the auth, account{% if cookiecutter.use_admin %} and admin{% endif %} views."""

from datetime import datetime

from flask import current_app, url_for
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..database import utcnow
from ..events import log_security_event
from ..extensions import db
from ..mail import absolute_url, send_email
from ..models import PasswordResetToken, User, UserSession
from .passwords import hash_password
from .sessions import end_all_sessions
from .tokens import hash_token, new_token


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def register(email: str, password: str) -> User | None:
    """Create an account, or tell the owner of a taken address by e-mail.

    Returns the new user, or None when the address was taken. The visitor must not be
    able to tell which happened (ASVS 6.3.8), so both paths hash a password.
    """
    password_hash = hash_password(password)
    if find_user(email) is None:
        user = User(email=email, password_hash=password_hash)
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:  # the same address signed up a moment ago
            db.session.rollback()
        else:
            log_security_event("signup", user)
            return user
    send_email(
        email,
        "Someone tried to sign up with your address",
        "account_exists",
        login_url=absolute_url("auth.login"),
        reset_url=absolute_url("auth.forgot_password"),
    )
    return None


def set_password(user: User, new_password: str, keep: UserSession | None = None) -> None:
    """Change a password by any path: old reset links die, other sessions end, the owner is told."""
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    db.session.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
    db.session.commit()
    end_all_sessions(user, keep=keep)
    log_security_event("password.changed", user)
    send_email(
        user.email,
        "Your password was changed",
        "password_changed",
        reset_url=absolute_url("auth.forgot_password"),
    )


def create_reset_link(user: User) -> str:
    token = new_token()
    lifetime = current_app.config["PASSWORD_RESET_TOKEN_LIFETIME"]
    db.session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + lifetime
        )
    )
    db.session.commit()
    return absolute_url("auth.reset_password", token=token)


def find_reset_token(token: str) -> PasswordResetToken | None:
    reset = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(token))
    )
    if reset is None or is_past(reset.expires_at) or not reset.user.is_active:
        return None
    return reset


def is_past(moment: datetime) -> bool:
    return moment <= utcnow()


def landing_url(user: User) -> str:
{%- if cookiecutter.use_admin %}
    if user.is_admin:
        return url_for("admin.index")
{%- endif %}
    return url_for("main.dashboard")
