"""The admin panel: figures, user management and the audit log.

Every view needs an active admin who entered their password recently (see
require_admin). Every action is a POST, checked for CSRF by CSRFProtect, and recorded
as an AuditEvent. An admin never sees or sets a password (ASVS 6.4.6): the most they
can do is send the owner a reset link.
"""

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select

from ..auth.accounts import create_reset_link
from ..auth.sessions import authenticated_recently, end_all_sessions
from ..database import utcnow
from ..events import log_security_event
from ..extensions import db, login_manager
from ..mail import send_email
from ..models import AuditEvent, User

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 25
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
        return redirect(url_for("auth.reauthenticate", next=return_path()))
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


def count_where(condition):
    return func.count(case((condition, 1)))


def user_figures() -> dict[str, int]:
    """The dashboard's counts in one query: a single pass over users, no rows loaded."""
    columns = [
        func.count().label("total"),
        count_where(User.is_active).label("active"),
{%- if cookiecutter.use_otp %}
        count_where(User.email_verified_at.is_not(None)).label("verified"),
{%- endif %}
        count_where(User.created_at >= utcnow() - NEW_USER_PERIOD).label("new_this_week"),
        count_where(User.is_admin).label("admins"),
    ]
    return db.session.execute(select(*columns).select_from(User)).one()._asdict()


def newest_users():
    return select(User).order_by(User.created_at.desc(), User.id.desc())


def newest_events():
    return select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def paginate(statement):
    page = request.args.get("page", 1, type=int)
    return db.paginate(
        statement, page=page, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False
    )


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
    statement = newest_users()
    if query:
        # Case-insensitive substring; autoescape makes % and _ match themselves.
        statement = statement.where(User.email.icontains(query, autoescape=True))
    return render_template("admin/users.html", pagination=paginate(statement), q=query or "")


@bp.route("/audit")
def audit():
    return render_template("admin/audit.html", pagination=paginate(newest_events()))


# --- actions -------------------------------------------------------------------


def find_target(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    if user is None:
        flash("That account no longer exists.", "error")
    return user


def add_entry(action: str, user: User) -> None:
    """The audit entry: who did what to whom (the row keeps the time)."""
    db.session.add(
        AuditEvent(
            action=action,
            actor_id=current_user.id,
            actor_email=current_user.email,
            subject_id=user.id,
            subject_email=user.email,
        )
    )


def record(action: str, user: User) -> None:
    add_entry(action, user)
    db.session.commit()
    log_security_event(f"admin.{action}", current_user, subject_id=user.id)


def may_remove(user: User, refusal: str) -> bool:
    """Whether the acting admin may deactivate, demote or delete `user`."""
    if user.id == current_user.id:
        flash(refusal, "error")
        return False
    return True


def lock_active_admins() -> None:
    """Lock the active admins' rows until commit (SELECT ... FOR UPDATE; SQLite, which
    has one writer at a time, ignores it), so two admins removing each other at the
    same moment are served one after the other."""
    db.session.scalars(
        select(User.id).where(User.is_admin, User.is_active).with_for_update()
    ).all()


def keeps_an_admin(email: str) -> bool:
    """Checked after the change, inside its transaction: is an active admin left?

    If not, the change is rolled back. The acting admin is active, so only a change
    racing with another one (each admin removing the other) can get here.
    """
    db.session.flush()
    admins = db.session.scalar(
        select(func.count()).select_from(User).where(User.is_admin, User.is_active)
    )
    if admins:
        return True
    db.session.rollback()
    flash(f"{email} is the last active admin. Make someone else an admin first.", "error")
    return False


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
def activate_user(user_id: int):
    user = find_target(user_id)
    if user is not None:
        if user.is_active:
            flash(f"{user.email} is already active.", "info")
        else:
            user.is_active = True
            record("activate", user)
            flash(f"{user.email} is active again and can sign in.", "success")
    return redirect(users_url())


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id: int):
    user = find_target(user_id)
    if user is not None and may_remove(user, "You cannot deactivate your own account."):
        email = user.email
        if not user.is_active:
            flash(f"{email} is already deactivated.", "info")
        else:
            lock_active_admins()
            user.is_active = False
            if keeps_an_admin(email):
                record("deactivate", user)
                end_all_sessions(user)
                flash(f"{email} is deactivated and signed out everywhere.", "success")
    return redirect(users_url())


@bp.route("/users/<int:user_id>/promote", methods=["POST"])
def promote_user(user_id: int):
    user = find_target(user_id)
    if user is not None:
        if user.is_admin:
            flash(f"{user.email} is already an admin.", "info")
        else:
            user.is_admin = True
            record("promote", user)
            flash(f"{user.email} is now an admin.", "success")
    return redirect(users_url())


@bp.route("/users/<int:user_id>/demote", methods=["POST"])
def demote_user(user_id: int):
    user = find_target(user_id)
    if user is not None and may_remove(user, "You cannot remove your own admin rights."):
        email = user.email
        if not user.is_admin:
            flash(f"{email} is not an admin.", "info")
        else:
            lock_active_admins()
            user.is_admin = False
            if keeps_an_admin(email):
                record("demote", user)
                flash(f"{email} is no longer an admin.", "success")
    return redirect(users_url())


@bp.route("/users/<int:user_id>/delete", methods=["POST"])
def delete_user(user_id: int):
    user = find_target(user_id)
    if user is not None and may_remove(user, "You cannot delete your own account here."):
        email, subject_id = user.email, user.id
        lock_active_admins()
        # The entry is written first; deleting the row then sets its subject_id to NULL
        # and deletes the user's sessions, reset tokens and codes (foreign keys).
        add_entry("delete", user)
        db.session.flush()
        db.session.delete(user)
        if keeps_an_admin(email):
            db.session.commit()
            log_security_event("admin.delete", current_user, subject_id=subject_id)
            flash(f"{email} has been deleted and signed out everywhere.", "success")
    return redirect(users_url())


@bp.route("/users/<int:user_id>/send-reset", methods=["POST"])
def send_reset(user_id: int):
    user = find_target(user_id)
    if user is not None:
        if not user.is_active:
            # Reset links of deactivated accounts do not work (auth.accounts).
            flash(f"{user.email} is deactivated. Activate the account first.", "error")
        else:
            lifetime = current_app.config["PASSWORD_RESET_TOKEN_LIFETIME"]
            send_email(
                user.email,
                "Reset your password",
                "password_reset",
                reset_url=create_reset_link(user),
                minutes=int(lifetime.total_seconds() // 60),
            )
            record("send_reset", user)
            flash(f"A password-reset link is on its way to {user.email}.", "success")
    return redirect(users_url())
