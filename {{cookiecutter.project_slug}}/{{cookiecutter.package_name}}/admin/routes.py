"""The admin panel: figures, user management and the audit log.

Every view needs an active admin who entered their password recently (see
require_admin). Every action is a POST, checked for CSRF by CSRFProtect, and recorded
as an AuditEvent. An admin never sees or sets a password (ASVS 6.4.6): the most they
can do is send the owner a reset link.
"""

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, false, func, select

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
# A search walks the created_at index newest first, which visits about
# page * PER_PAGE * users / matches rows, only while that is under a tenth of the
# table: a row reached through the index costs about ten rows read in one pass.
WALK_FACTOR = 10
# Before counting, a search collects the matches' ids and dates in a pass that stops
# once walking the index would pay. When fewer turn up, that pass found them all:
# they are ranked here, and no second pass is needed. Skipped beyond this many.
COLLECT_LIMIT = 1_000


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


def count_users(*conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(*conditions))


def user_figures() -> dict[str, int]:
    """The dashboard's counts, computed by the database; no rows are loaded.

    The new sign-ups come from the created_at index alone; the total and the flags
    share one pass over the table (a separate count(*) would be a second pass).
    """
    counts = select(
        func.count().label("total"),
        count_where(User.is_active).label("active"),
{%- if cookiecutter.use_otp %}
        count_where(User.email_verified_at.is_not(None)).label("verified"),
{%- endif %}
        count_where(User.is_admin).label("admins"),
    ).select_from(User)
    return {
        "new_this_week": count_users(User.created_at >= utcnow() - NEW_USER_PERIOD),
        **db.session.execute(counts).one()._asdict(),
    }


def newest_users():
    return select(User).order_by(User.created_at.desc(), User.id.desc())


def newest_events():
    return select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def requested_page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


def paginate(statement, count: bool = True):
    return db.paginate(
        statement,
        page=requested_page(),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
        count=count,
    )


def search_users(query: str):
    """A page of the accounts whose address contains `query`, newest first."""
    # Addresses are stored lower-cased (forms.normalise_email), so a lower-cased
    # pattern matches case-insensitively on every database with no lower() per row;
    # autoescape makes % and _ match only themselves.
    matching = User.email.contains(query.lower(), autoescape=True)
    walk_from = requested_page() * PER_PAGE * WALK_FACTOR
    if walk_from <= COLLECT_LIMIT:
        found = db.session.execute(
            select(User.id, User.created_at).where(matching).limit(walk_from)
        ).all()
        if len(found) < walk_from:
            return rank_here(found)
    total = count_users(matching)
    if total == 0:
        pagination = paginate(select(User).where(false()), count=False)
    elif requested_page() * PER_PAGE * WALK_FACTOR <= total:
        # Many matches: walking the created_at index stops after a few rows.
        pagination = paginate(newest_users().where(matching), count=False)
    else:
        # Few matches, or a deep page: one pass over the table, sorting only the
        # matches' ids and dates, then the page's rows by id. OFFSET 0 keeps the
        # database from merging the subquery back (and walking the index after all).
        found = select(User.id, User.created_at).where(matching).offset(0).subquery()
        ranked = select(found.c.id).order_by(found.c.created_at.desc(), found.c.id.desc())
        pagination = paginate(ranked, count=False)
        page_ids = pagination.items
        pagination.items = db.session.scalars(newest_users().where(User.id.in_(page_ids))).all()
    pagination.total = total  # counted above, without the ORDER BY
    return pagination


def rank_here(found):
    """The requested page of `found` (every match's id and date): newest first, ties by id."""
    ranked = sorted(found, key=lambda row: (row.created_at, row.id), reverse=True)
    start = (requested_page() - 1) * PER_PAGE
    page_ids = [row.id for row in ranked[start : start + PER_PAGE]]
    pagination = paginate(select(User).where(false()), count=False)
    pagination.items = db.session.scalars(newest_users().where(User.id.in_(page_ids))).all()
    pagination.total = len(found)
    return pagination


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
    pagination = search_users(query) if query else paginate(newest_users())
    return render_template("admin/users.html", pagination=pagination, q=query or "")


@bp.route("/audit")
def audit():
    return render_template("admin/audit.html", pagination=paginate(newest_events()))


# --- actions -------------------------------------------------------------------
#
# Two admins can act at the same moment, even on each other. Each action therefore
# locks the active admins' rows first (SELECT ... FOR UPDATE; SQLite, which has one
# writer at a time, skips it), makes its change, and then checks inside the same
# transaction, which sees whatever the other admin committed, that the change can
# stand (finish). Only then is it recorded and committed.


def find_target(user_id: int) -> User | None:
    """The account to act on, after locking the active admins' rows until commit."""
    db.session.scalars(select(User.id).where(User.is_admin, User.is_active).with_for_update()).all()
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
    admin_ids = db.session.scalars(select(User.id).where(User.is_admin, User.is_active)).all()
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


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
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


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
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


@bp.route("/users/<int:user_id>/promote", methods=["POST"])
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


@bp.route("/users/<int:user_id>/demote", methods=["POST"])
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


@bp.route("/users/<int:user_id>/delete", methods=["POST"])
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


@bp.route("/users/<int:user_id>/send-reset", methods=["POST"])
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
