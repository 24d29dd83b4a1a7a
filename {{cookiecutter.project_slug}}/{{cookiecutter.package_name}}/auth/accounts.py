"""Account operations: creating accounts, setting passwords, reset links."""

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..database import utcnow
from ..events import log_security_event
from ..extensions import db
from ..mail import absolute_url, send_email
from ..models import PasswordResetToken, User, UserSession
from ..passwords import hash_password
from ..throttling import allow_mail_to
from ..tokens import hash_token, new_token
from .sessions import end_all_sessions


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def add_user(email: str, password_hash: str) -> User | None:
    """Create an account; None when the address has one already."""
    if find_user(email) is not None:
        return None
    user = User(email=email, password_hash=password_hash)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same address signed up a moment ago
        db.session.rollback()
        return None
    log_security_event("signup", user)
    return user


def register(email: str, password: str) -> User | None:
    """Create an account, or tell the owner of a taken address by e-mail.

    Returns the new user, or None when the address was taken. The visitor must not be
    able to tell which happened (ASVS 6.3.8), so both paths hash a password.
    """
    user = add_user(email, hash_password(password))
    if user is None:
        tell_address_owner(email)
    return user


def tell_address_owner(email: str) -> None:
    """Someone tried to sign up with an address that has an account: its owner hears of it
    (at most RATELIMIT_MAIL_PER_RECIPIENT times, so the form cannot flood a mailbox)."""
    if allow_mail_to(email):
        send_email(
            email,
            "Someone tried to sign up with your address",
            "account_exists",
            login_url=absolute_url("auth.login"),
            reset_url=absolute_url("auth.forgot_password"),
        )


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


def send_reset_link(email: str) -> None:
    """E-mail a reset link when `email` has an active account; do nothing otherwise."""
    user = find_user(email)
    log_security_event("password.reset_requested", user, email=email)
    if user is None or not user.is_active:
        return
    lifetime = current_app.config["PASSWORD_RESET_TOKEN_LIFETIME"]
    send_email(
        user.email,
        "Reset your password",
        "password_reset",
        reset_url=create_reset_link(user),
        minutes=int(lifetime.total_seconds() // 60),
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
    return absolute_url("auth.reset_password_link", token=token)


def valid_reset_token(token: str | None) -> PasswordResetToken | None:
    if not token:
        return None
    reset = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(token))
    )
    if reset is None or reset.expired(utcnow()) or not reset.user.is_active:
        return None
    return reset


def reset_password_with(reset: PasswordResetToken, new_password: str) -> User | None:
    """Use a reset link once: of parallel requests with one link only the first gets
    here (its DELETE is the one that finds the row); the others get None."""
    user = reset.user
    used = db.session.execute(delete(PasswordResetToken).where(PasswordResetToken.id == reset.id))
    if used.rowcount != 1:
        db.session.rollback()
        return None
    set_password(user, new_password)
    log_security_event("password.reset", user)
    return user
