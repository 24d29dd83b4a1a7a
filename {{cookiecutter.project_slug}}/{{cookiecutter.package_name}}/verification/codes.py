"""E-mail verification: each sign-up gets a ticket for its browser and a code for the mailbox.

A sign-up (or a sign-in to an account not verified yet) stores one OneTimeCode row: the
hash of a ticket kept in that browser's session, a keyed hash of a 6-digit code that is
e-mailed, and the hash of the password chosen at that sign-up. The code verifies only
from the browser holding the ticket, and verifying gives the account that sign-up's
password. So somebody who signs up first with another person's address, and never sees
the mailbox, can never sign in to the account once its owner proves the address.

Every sign-up gets the same treatment whatever the address: an address whose account is
verified already gets a decoy row (its code can match nothing and is never sent; the
owner is told by e-mail instead), so the verify page answers taken and free addresses
alike, expiry, resend wait and lockout included.

Wrong codes are counted on the account, across resends and sign-ups
(OTP_MAX_ATTEMPTS); past the limit it waits OTP_LOCKOUT. Each attempt is counted in one
conditional UPDATE before the code is compared, so parallel guesses cannot exceed the
limit, and a code row is consumed by a DELETE that only one request can win.
"""

import enum
import hashlib
import hmac
import math
import secrets

from flask import current_app
from sqlalchemy import delete, or_, select, update

from ..auth.accounts import add_user, find_user, tell_address_owner
from ..database import utcnow
from ..events import log_security_event
from ..extensions import db
from ..mail import send_email
from ..models import User
from ..passwords import hash_password
from ..throttling import allow_mail_to
from ..tokens import hash_token, new_token
from .models import OneTimeCode

VERIFY_EMAIL = "verify_email"
# Stored as the code hash of a decoy: compare_digest never matches a 64-character digest.
NO_CODE = "-"


class CodeCheck(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"


def sign_up(email: str, password: str) -> str:
    """Start a sign-up for `email`; returns the ticket for the browser's session.

    A new address gets an unverified account. An address nobody has verified yet takes
    the newest password, so its owner can sign in with what they just chose. A verified
    address keeps its account untouched; its owner is told by e-mail.
    """
    password_hash = hash_password(password)
    user = add_user(email, password_hash) or find_user(email)
    if user.is_verified:
        tell_address_owner(email)
    else:
        user.password_hash = password_hash
    return start_verification(user, password_hash)


def start_verification(user: User, password_hash: str) -> str:
    """A ticket and a code for one browser; the code goes to the account's address."""
    ticket = new_token()
    code = _new_code()
    pending = OneTimeCode(
        user_id=user.id,
        purpose=VERIFY_EMAIL,
        ticket_hash=hash_token(ticket),
        code_hash=NO_CODE if user.is_verified else _hash_code(user.id, code),
        password_hash=password_hash,
    )
    _set_lifetime(pending)
    db.session.add(pending)
    db.session.commit()
    if not user.is_verified:
        _mail_code(user, code)
    return ticket


def pending_signup(ticket: str | None) -> OneTimeCode | None:
    if not ticket:
        return None
    return db.session.scalar(
        select(OneTimeCode).where(OneTimeCode.ticket_hash == hash_token(ticket))
    )


def resend_code(pending: OneTimeCode) -> None:
    """A new code for the same sign-up; its wrong tries still count."""
    user = pending.user
    code = _new_code()
    if not user.is_verified:
        pending.code_hash = _hash_code(user.id, code)
    _set_lifetime(pending)
    db.session.commit()
    if not user.is_verified:
        _mail_code(user, code)


def seconds_until_resend(pending: OneTimeCode | None) -> int:
    """How long the resend cooldown still runs (0: a code may be sent now)."""
    if pending is None:
        return 0
    remaining = current_app.config["OTP_RESEND_COOLDOWN"] - (utcnow() - pending.created_at)
    return max(0, math.ceil(remaining.total_seconds()))


def check_code(pending: OneTimeCode | None, code: str) -> CodeCheck:
    now = utcnow()
    if pending is None or pending.expired(now):
        return CodeCheck.EXPIRED
    user_id = pending.user_id
    attempts = db.session.scalar(
        update(User)
        .where(
            User.id == user_id,
            User.otp_failed_attempts < current_app.config["OTP_MAX_ATTEMPTS"],
            or_(User.otp_locked_until.is_(None), User.otp_locked_until <= now),
        )
        .values(otp_failed_attempts=User.otp_failed_attempts + 1)
        .returning(User.otp_failed_attempts)
    )
    db.session.commit()
    if attempts is None:
        return CodeCheck.LOCKED
    if hmac.compare_digest(pending.code_hash, _hash_code(user_id, code)) and _verify(pending, now):
        log_security_event("otp.verified", db.session.get(User, user_id))
        return CodeCheck.ACCEPTED
    user = db.session.get(User, user_id)
    log_security_event("otp.failure", user, attempts=attempts)
    if attempts < current_app.config["OTP_MAX_ATTEMPTS"]:
        return CodeCheck.WRONG
    db.session.execute(
        update(User)
        .where(User.id == user_id)
        .values(otp_failed_attempts=0, otp_locked_until=now + current_app.config["OTP_LOCKOUT"])
    )
    db.session.commit()
    log_security_event("otp.locked", user)
    return CodeCheck.LOCKED


def address_proven(sender, user: User) -> str | None:
    """The owner proved the address another way (auth.signals.address_proven): the
    account is verified, and every pending sign-up, with the password its browser chose,
    is void. Returns what changed, for whoever reports it."""
    db.session.execute(delete(OneTimeCode).where(OneTimeCode.user_id == user.id))
    changed = None
    if not user.is_verified:
        user.email_verified_at = utcnow()
        changed = "e-mail address marked verified"
    db.session.commit()
    return changed


def _verify(pending: OneTimeCode, now) -> bool:
    """Consume the sign-up and give the account its password; False if a parallel
    request consumed it first."""
    consumed = db.session.execute(delete(OneTimeCode).where(OneTimeCode.id == pending.id))
    if consumed.rowcount != 1:
        db.session.rollback()
        return False
    db.session.execute(
        update(User)
        .where(User.id == pending.user_id, User.email_verified_at.is_(None))
        .values(
            password_hash=pending.password_hash,
            email_verified_at=now,
            otp_failed_attempts=0,
            otp_locked_until=None,
        )
    )
    # The other sign-ups for this address, and the passwords they chose, are void.
    db.session.execute(delete(OneTimeCode).where(OneTimeCode.user_id == pending.user_id))
    db.session.commit()
    return True


def _set_lifetime(pending: OneTimeCode) -> None:
    pending.created_at = utcnow()
    pending.expires_at = pending.created_at + current_app.config["OTP_LIFETIME"]


def _mail_code(user: User, code: str) -> None:
    if not allow_mail_to(user.email):
        return
    send_email(
        user.email,
        "Your verification code",
        "verification_code",
        code=code,
        minutes=int(current_app.config["OTP_LIFETIME"].total_seconds() // 60),
    )


def _new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _hash_code(user_id: int, code: str) -> str:
    # Keyed, because a plain hash of 6 digits is reversed by trying all million.
    message = f"{user_id}:{VERIFY_EMAIL}:{code}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()
