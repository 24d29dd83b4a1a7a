"""The admin panel: figures, user management and the audit log.

Every view needs an active admin who entered their password recently (see
require_admin). Every action is a POST, checked for CSRF by CSRFProtect, and recorded
as an AuditEvent. An admin never sees or sets a password (ASVS 6.4.6): the most they
can do is send the owner a reset link.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..auth.accounts import create_reset_link
from ..auth.sessions import end_all_sessions
from ..database import utcnow
from ..events import log_security_event
from ..extensions import db, login_manager
from ..mail import send_email
from ..models import User
{%- if cookiecutter.use_otp %}
from .models import ADMINS, DEACTIVATED, UNVERIFIED, AuditEvent
{%- else %}
from .models import ADMINS, DEACTIVATED, AuditEvent
{%- endif %}
from .reauth import authenticated_recently

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 25
# Page numbers beyond this are treated as this one (an empty page): an absurd number
# would overflow the database's OFFSET.
MAX_PAGE = 1_000_000
RECENT_ROWS = 5
MAX_QUERY_LENGTH = 254
NEW_USER_PERIOD = timedelta(days=7)


@bp.before_request
def require_admin():
    """Anonymous: the login page. Not an admin: 403. Password too long ago: ask again."""
    if not current_user.is_authenticated:
        flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(url_for(login_manager.login_view, next=return_path()))
    if not current_user.is_admin:
        abort(403)
    if not authenticated_recently(current_user.current_session):
        return redirect(url_for("reauth.reauthenticate", next=return_path()))
    return None


def return_path() -> str:
    """Where to come back to after logging in: this page, or the users list after a POST."""
    if request.method == "GET":
        return request.full_path.removesuffix("?")
    return users_url()


def list_args() -> dict:
    """The users list's search and page. Action URLs carry them, so the admin lands
    back on the page they acted from."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    page = request.args.get("page", 1, type=int)
    return {"q": query or None, "page": page if page > 1 else None}


def users_url() -> str:
    return url_for("admin.users", **list_args())


def count_users(*conditions):
    """SELECT count(*) FROM users WHERE conditions, as a value inside another query."""
    return select(func.count()).select_from(User).where(*conditions).scalar_subquery()


def user_figures() -> dict[str, int]:
    """The dashboard's counts, in one query that reads no row of the table.

    All accounts are counted from the entries of an index. The exceptions are
    counted from their small partial indexes (models.py) and subtracted; new sign-ups
    are a range of the created_at index.
    """
    figures = select(
        count_users().label("total"),
        count_users(DEACTIVATED).label("deactivated"),
{%- if cookiecutter.use_otp %}
        count_users(UNVERIFIED).label("unverified"),
{%- endif %}
        count_users(ADMINS).label("admins"),
        count_users(User.created_at >= utcnow() - NEW_USER_PERIOD).label("new_this_week"),
    )
    counts = db.session.execute(figures).one()
    return {
        "total": counts.total,
        "active": counts.total - counts.deactivated,
{%- if cookiecutter.use_otp %}
        "verified": counts.total - counts.unverified,
{%- endif %}
        "admins": counts.admins,
        "new_this_week": counts.new_this_week,
    }


def newest_users():
    return select(User).order_by(User.created_at.desc(), User.id.desc())


def newest_events():
    return select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def requested_page() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


@dataclass
class UsersPage:
    """One page of the users list. Matches are not counted (a count reads every
    matching row); the page knows only whether another one follows."""

    number: int
    items: list[User]
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def address_contains(text: str):
    """The accounts whose address contains `text`, in any case.

    Addresses are stored lower-cased (forms.normalise_email): a lower-cased text
    matches case-insensitively with no lower() per row.
    """
{%- if cookiecutter.database == "postgresql" %}
    if db.engine.dialect.name == "postgresql":
        # LIKE, which the trigram index answers; autoescape makes % and _ match only
        # themselves.
        return User.email.contains(text.lower(), autoescape=True)
{%- endif %}
    # SQLite reads every address: instr() costs less per row than LIKE, and has no
    # wildcards to escape.
    return func.instr(User.email, text.lower()) > 0


def users_page(query: str | None) -> UsersPage:
    """A page of the accounts, newest first; only those whose address contains
    `query` when there is one.

    The page's ids come from the index on (created_at, id, email) alone: walked from
    the newest account, it stops once it has one more than a page. With many matches
    that is a few entries; with few or none it is the whole index, but never a row of
    the table{% if cookiecutter.database == "postgresql" %} (PostgreSQL may use its trigram index instead){% endif %}. Then the page's
    accounts are read by id.
    """
    ids = select(User.id).order_by(User.created_at.desc(), User.id.desc())
    if query:
        ids = ids.where(address_contains(query))
    number = requested_page()
    page_ids = db.session.scalars(ids.offset((number - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    users = db.session.scalars(newest_users().where(User.id.in_(page_ids[:PER_PAGE]))).all()
    return UsersPage(number=number, items=users, has_next=len(page_ids) > PER_PAGE)


@bp.route("/")
def index():
    return render_template(
        "admin/index.html",
        stats=user_figures(),
        recent_users=db.session.scalars(newest_users().limit(RECENT_ROWS)).all(),
        recent_events=db.session.scalars(newest_events().limit(RECENT_ROWS)).all(),
    )


@bp.route("/users")
def users():
    query = list_args()["q"]
    return render_template("admin/users.html", page=users_page(query), q=query or "")


@bp.route("/audit")
def audit():
    pagination = db.paginate(
        newest_events(), page=requested_page(), per_page=PER_PAGE, error_out=False
    )
    return render_template("admin/audit.html", pagination=pagination)


# --- actions -------------------------------------------------------------------
#
# Two admins can act at the same moment, even on each other. Each action therefore
# locks the active admins' rows first (SELECT ... FOR UPDATE; SQLite, which has one
# writer at a time, skips it), makes its change, and then checks inside the same
# transaction, which sees whatever the other admin committed, that the change can
# stand (finish). Only then is it recorded and committed. The active admins are found
# through the admins' partial index (models.py: ADMINS), not by reading every account.


def find_target(user_id: int) -> User | None:
    """The account to act on, after locking the active admins' rows until commit."""
    db.session.scalars(select(User.id).where(ADMINS, User.is_active).with_for_update()).all()
    user = db.session.get(User, user_id)
    if user is None:
        flash("That account no longer exists.", "error")
    return user


def may_remove(user: User, refusal: str) -> bool:
    """An admin cannot deactivate, demote or delete themselves."""
    if user.id == current_user.id:
        flash(refusal, "error")
        return False
    return True


def finish(action: str, subject_id: int, email: str, deleted: bool = False) -> bool:
    """Record the change just made to an account and commit it, or roll it back.

    The acting admin must still be an active admin: another admin may have removed
    them a moment ago. As nobody acts on themselves, that also guarantees an active
    admin is left: the last one can never be removed.
    """
    db.session.flush()
    admin_ids = db.session.scalars(select(User.id).where(ADMINS, User.is_active)).all()
    if current_user.id not in admin_ids:
        db.session.rollback()
        if admin_ids:
            flash("Another admin has just removed your admin rights. Nothing was changed.", "error")
        else:
            flash(f"{email} is the last active admin. Make someone else an admin first.", "error")
        return False
    db.session.add(
        AuditEvent(
            action=action,
            actor_id=current_user.id,
            actor_email=current_user.email,
            # The entry outlives a deleted account: it keeps the address as text.
            subject_id=None if deleted else subject_id,
            subject_email=email,
        )
    )
    db.session.commit()
    log_security_event(f"admin.{action}", current_user, subject_id=subject_id)
    return True


@bp.route("/users/<id:user_id>/activate", methods=["POST"])
def activate_user(user_id: int):
    user = find_target(user_id)
    if user is not None:
        email = user.email
        if user.is_active:
            flash(f"{email} is already active.", "info")
        else:
            user.is_active = True
            if finish("activate", user_id, email):
                flash(f"{email} is active again and can sign in.", "success")
    return redirect(users_url())


@bp.route("/users/<id:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id: int):
    user = find_target(user_id)
    if user is not None and may_remove(user, "You cannot deactivate your own account."):
        email = user.email
        if not user.is_active:
            flash(f"{email} is already deactivated.", "info")
        else:
            user.is_active = False
            if finish("deactivate", user_id, email):
                end_all_sessions(user)
                flash(f"{email} is deactivated and signed out everywhere.", "success")
    return redirect(users_url())


@bp.route("/users/<id:user_id>/promote", methods=["POST"])
def promote_user(user_id: int):
    user = find_target(user_id)
    if user is not None:
        email = user.email
        if user.is_admin:
            flash(f"{email} is already an admin.", "info")
        else:
            user.is_admin = True
            if finish("promote", user_id, email):
                flash(f"{email} is now an admin.", "success")
    return redirect(users_url())


@bp.route("/users/<id:user_id>/demote", methods=["POST"])
def demote_user(user_id: int):
    user = find_target(user_id)
    if user is not None and may_remove(user, "You cannot remove your own admin rights."):
        email = user.email
        if not user.is_admin:
            flash(f"{email} is not an admin.", "info")
        else:
            user.is_admin = False
            if finish("demote", user_id, email):
                flash(f"{email} is no longer an admin.", "success")
    return redirect(users_url())


@bp.route("/users/<id:user_id>/delete", methods=["POST"])
def delete_user(user_id: int):
    user = find_target(user_id)
    if user is not None and may_remove(user, "You cannot delete your own account here."):
        email = user.email
        # The database deletes the account's sessions, reset tokens and codes with it,
        # and clears its id from audit entries (foreign keys).
        db.session.delete(user)
        if finish("delete", user_id, email, deleted=True):
            flash(f"{email} has been deleted and signed out everywhere.", "success")
    return redirect(users_url())


@bp.route("/users/<id:user_id>/send-reset", methods=["POST"])
def send_reset(user_id: int):
    user = find_target(user_id)
    if user is not None:
        email = user.email
        if not user.is_active:
            # Reset links of deactivated accounts do not work (auth.accounts).
            flash(f"{email} is deactivated. Activate the account first.", "error")
        elif finish("send_reset", user_id, email):
            lifetime = current_app.config["PASSWORD_RESET_TOKEN_LIFETIME"]
            send_email(
                email,
                "Reset your password",
                "password_reset",
                reset_url=create_reset_link(user),
                minutes=int(lifetime.total_seconds() // 60),
            )
            flash(f"A password-reset link is on its way to {email}.", "success")
    return redirect(users_url())
