"""The e-mail verification's table: one row per sign-up waiting for its code."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db
from ..models import Expiring, User


class OneTimeCode(Expiring, db.Model):
    """One sign-up waiting for its 6-digit e-mail code (codes.py).

    Bound to the browser that signed up (the session holds the ticket; only its hash is
    stored) and carrying the password chosen at that sign-up: whoever enters the code
    gets exactly the password they chose, never one set by somebody else.
    """

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
