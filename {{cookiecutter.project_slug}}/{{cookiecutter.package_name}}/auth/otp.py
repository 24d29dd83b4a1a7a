"""E-mail one-time codes: 6 digits from `secrets`, stored as a keyed hash, single use.

A code is bound to one user and one purpose and lives OTP_LIFETIME. Wrong tries are
counted on the account (OTP_MAX_ATTEMPTS, across resends); past the limit the account
waits OTP_LOCKOUT and the pending code is voided.
"""

import enum
import hashlib
import hmac
import math
import secrets

from flask import current_app
from sqlalchemy import delete, select, update

from ..database import utcnow
from ..events import log_security_event
from ..extensions import db
from ..mail import send_email
from ..models import OneTimeCode, User

VERIFY_EMAIL = "verify_email"


class CodeCheck(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"


def send_verification_code(user: User) -> None:
    """Issue a new code (voiding older ones) and e-mail it."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = utcnow()
    db.session.execute(delete(OneTimeCode).where(OneTimeCode.user_id == user.id))
    db.session.add(
        OneTimeCode(
            user_id=user.id,
            purpose=VERIFY_EMAIL,
            code_hash=_hash_code(user, VERIFY_EMAIL, code),
            created_at=now,
            expires_at=now + current_app.config["OTP_LIFETIME"],
        )
    )
    db.session.commit()
    send_email(
        user.email,
        "Your verification code",
        "verification_code",
        code=code,
        minutes=int(current_app.config["OTP_LIFETIME"].total_seconds() // 60),
    )


def seconds_until_resend(user: User) -> int:
    """How long the resend cooldown still runs for this user (0: a code may be sent now)."""
    latest = db.session.scalar(
        select(OneTimeCode.created_at)
        .where(OneTimeCode.user_id == user.id, OneTimeCode.purpose == VERIFY_EMAIL)
        .order_by(OneTimeCode.created_at.desc())
        .limit(1)
    )
    if latest is None:
        return 0
    remaining = current_app.config["OTP_RESEND_COOLDOWN"] - (utcnow() - latest)
    return max(0, math.ceil(remaining.total_seconds()))


def check_code(user: User, code: str) -> CodeCheck:
    now = utcnow()
    if user.otp_locked_until is not None and now < user.otp_locked_until:
        return CodeCheck.LOCKED
    pending = db.session.scalar(
        select(OneTimeCode).where(
            OneTimeCode.user_id == user.id,
            OneTimeCode.purpose == VERIFY_EMAIL,
            OneTimeCode.expires_at > now,
        )
    )
    if pending is None:
        return CodeCheck.EXPIRED
    if hmac.compare_digest(pending.code_hash, _hash_code(user, VERIFY_EMAIL, code)):
        db.session.delete(pending)
        user.email_verified_at = now
        user.otp_failed_attempts = 0
        user.otp_locked_until = None
        db.session.commit()
        log_security_event("otp.verified", user)
        return CodeCheck.ACCEPTED
    return _count_failure(user)


def _count_failure(user: User) -> CodeCheck:
    # Incremented in SQL so concurrent guesses on several workers are all counted.
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(otp_failed_attempts=User.otp_failed_attempts + 1)
    )
    db.session.commit()
    db.session.refresh(user)
    log_security_event("otp.failure", user, attempts=user.otp_failed_attempts)
    if user.otp_failed_attempts < current_app.config["OTP_MAX_ATTEMPTS"]:
        return CodeCheck.WRONG
    user.otp_failed_attempts = 0
    user.otp_locked_until = utcnow() + current_app.config["OTP_LOCKOUT"]
    db.session.execute(delete(OneTimeCode).where(OneTimeCode.user_id == user.id))
    db.session.commit()
    log_security_event("otp.locked", user)
    return CodeCheck.LOCKED


def _hash_code(user: User, purpose: str, code: str) -> str:
    # Keyed, because a plain hash of 6 digits is reversed by trying all million.
    message = f"{user.id}:{purpose}:{code}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()
