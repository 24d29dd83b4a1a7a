"""The admin panel: access, figures, search, every action, the guard rails and the audit log."""

import re
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import PASSWORD
from sqlalchemy import event, func, select, update

from {{ cookiecutter.package_name }}.admin import routes
from {{ cookiecutter.package_name }}.admin.models import AuditEvent
from {{ cookiecutter.package_name }}.database import utcnow
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import PasswordResetToken, User, UserSession
from {{ cookiecutter.package_name }}.passwords import hash_password
from {{ cookiecutter.package_name }}.tokens import hash_token, new_token
{%- if cookiecutter.use_otp %}
from {{ cookiecutter.package_name }}.verification.models import OneTimeCode
{%- endif %}

ADMIN = "admin@example.com"
ACTIONS = ("activate", "deactivate", "promote", "demote", "delete", "send-reset")
PAGES = ("/admin/", "/admin/users", "/admin/audit")
STAT = re.compile(r'data-stat="(\w+)">([\d,]+)<')
ROW = re.compile(r'<tr data-user="(\d+)">')
EVENT_ROW = re.compile(r'<tr data-event="(\w+)">')
# A plan line that reads the users table row by row, not through an index.
{%- if cookiecutter.database == "postgresql" %}
TABLE_SCAN = re.compile(r"^SCAN users$|Seq Scan on users", re.MULTILINE)
{%- else %}
TABLE_SCAN = re.compile(r"^SCAN users$", re.MULTILINE)
{%- endif %}


@pytest.fixture
def admin(client, app_context, make_user):
    """An admin, signed in with `client`."""
    user = make_user(ADMIN, is_admin=True)
    assert client.log_in(ADMIN).status_code == 302
    return user


def redirect_of(response) -> tuple[str, str | None]:
    """Where a redirect leads: the path and its `next` parameter."""
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    return location.path, parse_qs(location.query).get("next", [None])[0]


def act(client, user_id: int, action: str, query: str = ""):
    """Press an action's button on the users page, as the admin would."""
    return client.submit("/admin/users", {}, action=f"/admin/users/{user_id}/{action}{query}")


def flashed(client) -> str:
    return client.get("/admin/users").get_data(as_text=True)


def flash_messages(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def entries() -> list[tuple]:
    rows = db.session.execute(
        select(
            AuditEvent.action,
            AuditEvent.actor_email,
            AuditEvent.subject_id,
            AuditEvent.subject_email,
        ).order_by(AuditEvent.id)
    )
    return [tuple(row) for row in rows]


def sessions_of(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
    )


def add_users(count: int, start: int = 0, **fields) -> list[User]:
    """Many accounts at once (one shared hash), signed up a minute apart, oldest first."""
    password_hash = hash_password(PASSWORD)
    now = utcnow()
    users = [
        User(
            email=f"member{number:03}@example.com",
            password_hash=password_hash,
            created_at=now - timedelta(days=30, minutes=count - number),
            **fields,
        )
        for number in range(start, start + count)
    ]
    db.session.add_all(users)
    db.session.commit()
    return users


def expire_password_proof(app, user: User) -> None:
    window = app.config["REAUTHENTICATION_WINDOW"]
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(authenticated_at=utcnow() - window - timedelta(seconds=1))
    )
    db.session.commit()


# --- access ----------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitor_is_sent_to_the_login_page(client, app_context, page):
    assert redirect_of(client.get(page)) == ("/auth/login", page)


def test_anonymous_action_changes_nothing(client, app_context, make_user, find_user):
    user = make_user()
    response = client.post(
        f"/admin/users/{user.id}/delete", data={"csrf_token": client.csrf_token("/auth/login")}
    )
    assert redirect_of(response) == ("/auth/login", "/admin/users")
    assert find_user("user@example.com") is not None


@pytest.mark.parametrize("page", PAGES)
def test_member_gets_403(client, app_context, page, make_user):
    make_user()
    client.log_in()
    assert client.get(page).status_code == 403


@pytest.mark.parametrize("action", ACTIONS)
def test_member_cannot_act(client, app_context, action, make_user, find_user):
    member = make_user()
    other = make_user("other@example.com", is_active=False)
    client.log_in()
    response = client.post(
        f"/admin/users/{other.id}/{action}", data={"csrf_token": client.csrf_token("/dashboard")}
    )
    assert response.status_code == 403
    assert entries() == []
    assert find_user("other@example.com") is not None
    assert not find_user("other@example.com").is_active
    assert not member.is_admin


def test_admin_lands_on_the_admin_panel(client, app_context, make_user):
    make_user(ADMIN, is_admin=True)
    response = client.log_in(ADMIN)
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_deactivated_admin_is_locked_out(app, client, admin):
    db.session.execute(update(User).where(User.id == admin.id).values(is_active=False))
    db.session.commit()
    assert redirect_of(client.get("/admin/")) == ("/auth/login", "/admin/")


def test_stale_login_must_enter_the_password_again(app, client, admin):
    expire_password_proof(app, admin)
    response = client.get("/admin/users?q=member")
    assert redirect_of(response) == ("/auth/reauthenticate", "/admin/users?q=member")

    response = client.submit(response.headers["Location"], {"password": PASSWORD})
    assert response.headers["Location"] == "/admin/users?q=member"
    assert client.get("/admin/users?q=member").status_code == 200


def test_stale_login_cannot_act(app, client, admin, make_user, find_user):
    user = make_user()
    expire_password_proof(app, admin)
    response = client.post(
        f"/admin/users/{user.id}/deactivate", data={"csrf_token": client.csrf_token("/dashboard")}
    )
    # A POST cannot be replayed after the password prompt: it comes back to the list.
    assert redirect_of(response) == ("/auth/reauthenticate", "/admin/users")
    assert find_user("user@example.com").is_active
    assert entries() == []


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_need_a_csrf_token(client, admin, action, make_user, find_user):
    user = make_user(is_active=False)
    response = client.post(f"/admin/users/{user.id}/{action}")
    assert response.status_code == 400
    assert find_user("user@example.com") is not None
    assert entries() == []


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_are_post_only(client, admin, action, make_user):
    user = make_user()
    assert client.get(f"/admin/users/{user.id}/{action}").status_code == 405


# --- dashboard -----------------------------------------------------------------


def test_dashboard_counts(client, admin, make_user):
    now = utcnow()
    make_user("new@example.com")
    make_user("old@example.com", created_at=now - timedelta(days=8))
    make_user("inactive@example.com", is_active=False, created_at=now - timedelta(days=30))
    make_user("second-admin@example.com", is_admin=True, created_at=now - timedelta(days=6))
{%- if cookiecutter.use_otp %}
    make_user("unverified@example.com", email_verified_at=None)
{%- endif %}

    page = client.get("/admin/").get_data(as_text=True)
    stats = {name: int(value.replace(",", "")) for name, value in STAT.findall(page)}
    assert stats == {
{%- if cookiecutter.use_otp %}
        "total": 6,
        "active": 5,
        "verified": 5,
        "new_this_week": 4,
{%- else %}
        "total": 5,
        "active": 4,
        "new_this_week": 3,
{%- endif %}
        "admins": 2,
    }


def dashboard_figures(client) -> dict[str, int]:
    page = client.get("/admin/").get_data(as_text=True)
    return {name: int(value.replace(",", "")) for name, value in STAT.findall(page)}


def figures_counted_here() -> dict[str, int]:
    """The dashboard's figures, counted in Python from every account."""
    users = db.session.scalars(select(User)).all()
    week_ago = utcnow() - routes.NEW_USER_PERIOD
    return {
        "total": len(users),
        "active": sum(user.is_active for user in users),
{%- if cookiecutter.use_otp %}
        "verified": sum(user.email_verified_at is not None for user in users),
{%- endif %}
        "new_this_week": sum(user.created_at >= week_ago for user in users),
        "admins": sum(user.is_admin for user in users),
    }


def test_dashboard_figures_follow_every_change(client, admin, make_user):
    """The figures come from partial indexes and subtraction: after each action (and a
    verification) they still equal a count of every account."""
    now = utcnow()
    members = add_users(6)
    make_user("old@example.com", created_at=now - timedelta(days=30))
{%- if cookiecutter.use_otp %}
    newcomer = make_user("newcomer@example.com", email_verified_at=None)
{%- endif %}
    first, second, third = members[:3]
    steps = [
        lambda: act(client, first.id, "deactivate"),
        lambda: act(client, second.id, "deactivate"),
        lambda: act(client, first.id, "activate"),
        lambda: act(client, third.id, "promote"),
        lambda: act(client, second.id, "promote"),  # a deactivated admin
        lambda: act(client, third.id, "demote"),
        lambda: act(client, members[4].id, "delete"),
{%- if cookiecutter.use_otp %}
        lambda: act(client, newcomer.id, "deactivate"),  # deactivated and unverified
        lambda: verify(newcomer),
{%- endif %}
    ]
    seen = [dashboard_figures(client)]
    for step in steps:
        step()
        seen.append(dashboard_figures(client))
        assert seen[-1] == figures_counted_here()
    assert seen[-1] != seen[0]
{%- if cookiecutter.use_otp %}


def verify(user: User) -> None:
    """What /auth/verify does to the account when the right code is entered."""
    db.session.execute(update(User).where(User.id == user.id).values(email_verified_at=utcnow()))
    db.session.commit()
{%- endif %}


def test_dashboard_shows_newest_accounts_and_latest_actions(client, admin, make_user):
    member = make_user()
    act(client, member.id, "promote")
    page = client.get("/admin/").get_data(as_text=True)
    assert "user@example.com" in page
    assert "Made admin" in page


# --- users list ----------------------------------------------------------------


def test_search_is_a_case_insensitive_substring_match(client, admin, make_user, find_user):
    make_user("alice@example.com")
    make_user("bob@example.org")
    page = client.get("/admin/users?q=LiCe@EXAMPLE").get_data(as_text=True)
    assert ROW.findall(page) == [str(find_user("alice@example.com").id)]
    assert 'value="LiCe@EXAMPLE"' in page  # the search box keeps the query


@pytest.mark.parametrize(
    ("query", "expected"),
    [("a_b", "a_b@example.com"), ("100%", "100%off@example.com"), ("a\\b", "a\\b@example.com")],
)
def test_search_treats_like_wildcards_as_plain_characters(
    client, admin, query, expected, make_user, find_user
):
    for email in ("a_b@example.com", "axb@example.com", "100%off@example.com", "1000@example.com"):
        make_user(email)
    make_user("a\\b@example.com")
    rows = ROW.findall(client.get("/admin/users", query_string={"q": query}).get_data(as_text=True))
    assert rows == [str(find_user(expected).id)]


def test_users_are_listed_newest_first_25_a_page(client, admin):
    members = add_users(30)  # plus the admin, who signed up last: 31
    first = client.get("/admin/users").get_data(as_text=True)
    ids = [int(user_id) for user_id in ROW.findall(first)]
    assert len(ids) == 25
    assert ids[0] == admin.id
    assert ids[1:] == [user.id for user in reversed(members)][:24]

    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert [int(user_id) for user_id in ROW.findall(second)] == [u.id for u in members[5::-1]]
    beyond = client.get("/admin/users?page=99").get_data(as_text=True)
    assert ROW.findall(beyond) == []
    assert "There is nothing on this page." in beyond


def test_page_links_keep_the_search(client, admin):
    add_users(30)
    page = client.get("/admin/users?q=member").get_data(as_text=True)
    assert 'href="/admin/users?page=2&amp;q=member"' in page
    assert len(ROW.findall(page)) == 25
    second = client.get("/admin/users?page=2&q=member").get_data(as_text=True)
    assert len(ROW.findall(second)) == 5


def page_links(html: str) -> dict[str, str]:
    """The pager's Previous and Next links of a users page: {"prev": url, "next": url}."""
    links = re.findall(r'<a href="([^"]+)" rel="(prev|next)"', html)
    return {rel: url.replace("&amp;", "&") for url, rel in links}


def test_search_pages_through_every_match_newest_first(client, admin):
    """Next links lead through all matches and no other account, newest first, ties
    broken by id; the last page has no Next, every later page a Previous."""
    members = add_users(60)
    for user in members[::3]:
        user.email = user.email.replace("member", "other")
    tied = utcnow() - timedelta(days=10)
    for user in members[10:20]:
        user.created_at = tied
    db.session.commit()
    matching = [user for user in members if user.email.startswith("member")]
    assert len(matching) == 40

    listed, url, pages = [], "/admin/users?q=MEMBER", []
    while url:
        html = client.get(url).get_data(as_text=True)
        listed += [int(user_id) for user_id in ROW.findall(html)]
        links = page_links(html)
        pages.append(links)
        url = links.get("next")
    newest_first = sorted(matching, key=lambda user: (user.created_at, user.id), reverse=True)
    assert listed == [user.id for user in newest_first]
    assert pages == [
        {"next": "/admin/users?page=2&q=MEMBER"},
        {"prev": "/admin/users?q=MEMBER"},
    ]


@pytest.mark.parametrize(("accounts", "has_next"), [(24, False), (25, True)])
def test_next_link_only_when_another_page_has_rows(client, admin, accounts, has_next):
    """A full page is not proof of a next one: 25 accounts (24 and the admin) fill the
    first page exactly, the 26th starts the second."""
    add_users(accounts)
    html = client.get("/admin/users").get_data(as_text=True)
    assert len(ROW.findall(html)) == 25
    assert ("next" in page_links(html)) is has_next
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert len(ROW.findall(second)) == (1 if has_next else 0)


@pytest.mark.parametrize("page", ["0", "-3", "x", "1"])
def test_a_page_number_below_one_or_not_a_number_means_the_first(client, admin, page):
    add_users(30)
    html = client.get(f"/admin/users?page={page}").get_data(as_text=True)
    assert ROW.findall(html)[0] == str(admin.id)
    assert page_links(html) == {"next": "/admin/users?page=2"}


def test_an_absurd_page_number_is_an_empty_page(client, admin):
    add_users(3)
    response = client.get("/admin/users?q=member&page=" + "9" * 40)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert ROW.findall(html) == []
    assert "There is nothing on this page." in html
    assert 'href="/admin/users?q=member"' in html  # back to the first page


def test_search_without_matches(client, admin):
    add_users(3)
    html = client.get("/admin/users?q=nobody").get_data(as_text=True)
    assert ROW.findall(html) == []
    assert "No account matches" in html
    assert page_links(html) == {}


def test_users_page_shows_badges_and_dates(client, admin, make_user):
    make_user("off@example.com", is_active=False)
{%- if cookiecutter.use_otp %}
    make_user("unverified@example.com", email_verified_at=None)
{%- endif %}
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Deactivated" in page
    assert "Admin</span>" in page
{%- if cookiecutter.use_otp %}
    assert ">Unverified</span>" in page
    assert ">Verified</span>" in page
{%- endif %}
    assert "Never" in page  # last login of the accounts that never signed in
    assert admin.created_at.strftime("%Y-%m-%d") in page


def count_queries(client, page: str) -> int:
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(page).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


@pytest.mark.parametrize("page", PAGES)
def test_pages_run_a_fixed_number_of_queries(client, admin, page, make_user):
    """No query per row (N+1): 25 rows cost what 2 rows cost."""
    member = make_user()
    act(client, member.id, "promote")
    few = count_queries(client, page)
    users = add_users(40)
    for user in users[:30]:
        db.session.add(
            AuditEvent(
                action="promote",
                actor_id=admin.id,
                actor_email=ADMIN,
                subject_id=user.id,
                subject_email=user.email,
            )
        )
    db.session.commit()
    assert count_queries(client, page) == few


def statements_of(client, page: str) -> list[tuple]:
    """Every SQL statement a GET of `page` runs, with its parameters."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(page).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return statements


def plan_of(statement: str, parameters) -> str:
{%- if cookiecutter.database == "postgresql" %}
    """The database's plan for a statement. PostgreSQL is told to avoid reading the
    table wherever it can, as it would on a big one (on a few rows, reading the table
    is cheapest)."""
{%- else %}
    """The database's plan for a statement."""
{%- endif %}
    connection = db.session.connection()
{%- if cookiecutter.database == "postgresql" %}
    if connection.dialect.name != "sqlite":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in rows)
        db.session.rollback()
        return plan
{%- endif %}
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    return "\n".join(row[3] for row in rows)


def test_dashboard_counts_come_from_indexes(client, admin):
    """Each condition of the dashboard's counts must be written as its partial index's
    (models.py), or the database reads every row instead."""
    add_users(3)
    [figures] = [entry for entry in statements_of(client, "/admin/") if "count(" in entry[0]]
    plan = plan_of(*figures)
    for index in (
        "ix_users_admins",
        "ix_users_deactivated",
{%- if cookiecutter.use_otp %}
        "ix_users_unverified",
{%- endif %}
        "ix_users_created_at_id_email",
    ):
        assert index in plan, plan
    assert not TABLE_SCAN.search(plan), plan


@pytest.mark.parametrize("page", ["/admin/users", "/admin/users?q=member", "/admin/users?q=nobody"])
def test_users_page_ids_come_from_the_index_alone(client, admin, page):
    add_users(3)
    statements = statements_of(client, page)
    [ids] = [entry for entry in statements if entry[0].startswith("SELECT users.id ")]
    plan = plan_of(*ids)
    assert not TABLE_SCAN.search(plan), plan
{%- if cookiecutter.database == "postgresql" %}
    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL also has its trigram index (test_database.py)
{%- endif %}
    assert "USING COVERING INDEX ix_users_created_at_id_email" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the index is in the right order


def test_admin_never_sees_a_password(client, admin, make_user):
    user = make_user()
    for page in (*PAGES, "/admin/users?q=user"):
        html = client.get(page).get_data(as_text=True)
        assert user.password_hash not in html
        assert admin.password_hash not in html
        assert 'type="password"' not in html


def test_no_admin_route_sets_a_password(app):
    admin_rules = [
        rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
    ]
    assert admin_rules
    assert not [rule for rule in admin_rules if "password" in rule]


# --- actions ---------------------------------------------------------------------


def test_deactivate_signs_the_user_out_everywhere(app, client, admin, make_user, find_user):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    phone.log_in()
    laptop.log_in()
    assert sessions_of(user) == 2

    response = act(client, user.id, "deactivate")
    assert response.status_code == 302
    assert "is deactivated and signed out everywhere" in flashed(client)
    assert not find_user("user@example.com").is_active
    assert sessions_of(user) == 0
    assert phone.get("/dashboard").status_code == 302
    assert laptop.get("/dashboard").status_code == 302
    assert entries() == [("deactivate", ADMIN, user.id, "user@example.com")]


def test_activate(client, admin, make_user, find_user):
    user = make_user(is_active=False)
    act(client, user.id, "activate")
    assert find_user("user@example.com").is_active
    assert "is active again" in flashed(client)
    assert entries() == [("activate", ADMIN, user.id, "user@example.com")]
    assert client.application.test_client().log_in().headers["Location"] == "/dashboard"


def test_promote_gives_access_to_the_panel(app, client, admin, make_user, find_user):
    user = make_user()
    act(client, user.id, "promote")
    assert find_user("user@example.com").is_admin
    assert "is now an admin" in flashed(client)
    assert entries() == [("promote", ADMIN, user.id, "user@example.com")]
    browser = app.test_client()
    browser.log_in()
    assert browser.get("/admin/").status_code == 200


def test_demote_takes_access_away_at_once(app, client, admin, make_user, find_user):
    user = make_user(is_admin=True)
    browser = app.test_client()
    browser.log_in()
    assert browser.get("/admin/").status_code == 200

    act(client, user.id, "demote")
    assert not find_user("user@example.com").is_admin
    assert "is no longer an admin" in flashed(client)
    assert entries() == [("demote", ADMIN, user.id, "user@example.com")]
    assert browser.get("/admin/").status_code == 403


def test_send_reset_mails_a_working_link(app, client, admin, outbox, make_user, find_user):
    user = make_user()
    old_hash = user.password_hash
    act(client, user.id, "send-reset")
    assert "A password-reset link is on its way to user@example.com" in flashed(client)
    assert [message.recipients for message in outbox] == [["user@example.com"]]
    link = re.search(r"https?://\S+(/auth/reset-password/[\w-]+)", outbox[0].body).group(1)
    assert entries() == [("send_reset", ADMIN, user.id, "user@example.com")]
    # The admin never learns the link: only the owner's mailbox has it.
    assert link not in flashed(client)
    assert find_user("user@example.com").password_hash == old_hash

    owner = app.test_client()
    new_password = "a completely new passphrase"
    owner.get(link)
    data = {"password": new_password, "confirm_password": new_password}
    response = owner.submit("/auth/reset-password", data)
    assert response.headers["Location"] == "/auth/login"
    assert owner.log_in(password=new_password).status_code == 302


def test_send_reset_refuses_a_deactivated_account(client, admin, outbox, make_user):
    user = make_user(is_active=False)
    act(client, user.id, "send-reset")
    assert "is deactivated. Activate the account first." in flashed(client)
    assert outbox == []
    assert entries() == []


def test_delete_removes_the_account_and_everything_it_owns(
    app, client, admin, make_user, find_user
):
    user = make_user(is_admin=True)
    other = make_user("other@example.com")
    browser = app.test_client()
    browser.log_in()
    app.test_client().log_in()
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=hash_token(new_token()),
            expires_at=utcnow() + timedelta(minutes=30),
        )
    )
{%- if cookiecutter.use_otp %}
    db.session.add(
        OneTimeCode(
            user_id=user.id,
            purpose="verify",
            ticket_hash=hash_token("ticket"),
            code_hash=hash_token("123456"),
            password_hash=user.password_hash,
            expires_at=utcnow() + timedelta(minutes=10),
        )
    )
{%- endif %}
    db.session.commit()
    # Audit entries with the user as actor and as subject.
    browser.submit("/admin/users", {}, action=f"/admin/users/{other.id}/deactivate")
    act(client, user.id, "demote")
    user_id = user.id

    response = act(client, user_id, "delete")
    assert response.status_code == 302
    assert "user@example.com has been deleted" in flashed(client)
    assert find_user("user@example.com") is None
    for model in (
        UserSession,
        PasswordResetToken,
{%- if cookiecutter.use_otp %}
        OneTimeCode,
{%- endif %}
    ):
        owned = select(func.count()).select_from(model).where(model.user_id == user_id)
        assert db.session.scalar(owned) == 0, model.__name__
    assert browser.get("/dashboard").status_code == 302
    # The log outlives the account: e-mails kept as text, the ids cleared.
    assert entries() == [
        ("deactivate", "user@example.com", other.id, "other@example.com"),
        ("demote", ADMIN, None, "user@example.com"),
        ("delete", ADMIN, None, "user@example.com"),
    ]
    actor_ids = db.session.scalars(select(AuditEvent.actor_id).order_by(AuditEvent.id)).all()
    assert actor_ids == [None, admin.id, admin.id]
    assert find_user("other@example.com") is not None


def test_deleted_account_is_marked_in_the_audit_log(client, admin, make_user):
    user = make_user()
    act(client, user.id, "delete")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "user@example.com" in page
    assert "(deleted)" in page


@pytest.mark.parametrize("action", ACTIONS)
def test_action_on_a_missing_account(client, admin, action):
    response = act(client, 999_999, action)
    assert response.headers["Location"] == "/admin/users"
    assert "That account no longer exists." in flashed(client)
    assert entries() == []


def test_action_returns_to_the_page_and_search_it_came_from(client, admin, find_user):
    add_users(30)
    user = find_user("member003@example.com")
    response = act(client, user.id, "promote", "?q=member&page=2")
    assert response.headers["Location"] == "/admin/users?q=member&page=2"


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("activate", {"is_active": True}),
        ("deactivate", {"is_active": False}),
        ("promote", {"is_admin": True}),
        ("demote", {"is_admin": False}),
    ],
)
def test_action_that_changes_nothing_is_not_logged(
    client, admin, action, fields, make_user, find_user
):
    user = make_user(**fields)
    act(client, user.id, action)
    [message] = flash_messages(client)
    assert "already" in message or "is not an admin" in message
    assert entries() == []
    assert find_user("user@example.com") is not None


# --- guard rails -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("deactivate", "You cannot deactivate your own account."),
        ("demote", "You cannot remove your own admin rights."),
        ("delete", "You cannot delete your own account here."),
    ],
)
def test_admin_cannot_remove_themselves(client, admin, action, message, make_user, find_user):
    make_user("other-admin@example.com", is_admin=True)  # so it is not the last-admin rule
    act(client, admin.id, action)
    assert message in flashed(client)
    me = find_user(ADMIN)
    assert me.is_active
    assert me.is_admin
    assert sessions_of(me) == 1
    assert entries() == []


def test_own_row_offers_no_way_to_remove_yourself(client, admin):
    html = client.get("/admin/users").get_data(as_text=True)
    for action in ("deactivate", "demote", "delete"):
        assert f"/admin/users/{admin.id}/{action}" not in html


def demoted_meanwhile(monkeypatch, admin: User) -> None:
    """Demote the acting admin just after their request passed its access check, as a
    second admin's request would when both remove each other at the same moment."""
    find_target = routes.find_target

    def find_target_while_another_admin_demotes_me(user_id):
        db.session.execute(update(User).where(User.id == admin.id).values(is_admin=False))
        db.session.commit()
        return find_target(user_id)

    monkeypatch.setattr(routes, "find_target", find_target_while_another_admin_demotes_me)


def active_admins() -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.is_admin, User.is_active)
    )


@pytest.mark.parametrize("action", ["deactivate", "demote", "delete"])
def test_last_active_admin_is_never_removed(
    app, client, admin, monkeypatch, action, make_user, find_user
):
    other = make_user("other-admin@example.com", is_admin=True)
    demoted_meanwhile(monkeypatch, admin)
    act(client, other.id, action)

    assert flash_messages(client) == [
        "other-admin@example.com is the last active admin. Make someone else an admin first."
    ]
    survivor = find_user("other-admin@example.com")
    assert survivor is not None
    assert survivor.is_admin
    assert survivor.is_active
    assert active_admins() == 1
    assert entries() == []
    browser = app.test_client()
    browser.log_in("other-admin@example.com")
    assert browser.get("/admin/").status_code == 200


@pytest.mark.parametrize("action", ["deactivate", "demote", "delete"])
def test_two_admins_removing_each_other_at_the_same_moment(
    app, app_context, monkeypatch, action, make_user
):
    """Real concurrent requests: exactly one of them wins."""
    first = make_user("first@example.com", is_admin=True)
    second = make_user("second@example.com", is_admin=True)
    requests = []
    for actor, target in ((first, second), (second, first)):
        browser = app.test_client()
        browser.log_in(actor.email)
        token = browser.csrf_token("/dashboard")
        requests.append((browser, f"/admin/users/{target.id}/{action}", token))
    both_checked_in = threading.Barrier(len(requests))
    find_target = routes.find_target

    def find_target_together(user_id):
        both_checked_in.wait(timeout=10)  # both requests passed their access checks
        return find_target(user_id)

    monkeypatch.setattr(routes, "find_target", find_target_together)
    statuses = []

    def press(browser, url, token):
        statuses.append(browser.post(url, data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=press, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [302, 302]
    assert active_admins() == 1
    assert [entry[0] for entry in entries()] == [action]


def test_action_of_an_admin_removed_meanwhile_is_refused(
    client, admin, monkeypatch, make_user, find_user
):
    make_user("third-admin@example.com", is_admin=True)
    user = make_user()
    demoted_meanwhile(monkeypatch, admin)
    act(client, user.id, "promote")
    assert flash_messages(client) == [
        "Another admin has just removed your admin rights. Nothing was changed."
    ]
    assert not find_user("user@example.com").is_admin
    assert entries() == []


def test_a_deactivated_admin_does_not_count(client, admin, monkeypatch, make_user, find_user):
    other = make_user("other-admin@example.com", is_admin=True)
    make_user("dormant-admin@example.com", is_admin=True, is_active=False)
    demoted_meanwhile(monkeypatch, admin)
    act(client, other.id, "demote")
    assert find_user("other-admin@example.com").is_admin
    assert active_admins() == 1
    assert entries() == []


def test_removing_one_of_two_admins_is_allowed(client, admin, make_user, find_user):
    other = make_user("other-admin@example.com", is_admin=True)
    act(client, other.id, "demote")
    assert not find_user("other-admin@example.com").is_admin


# --- audit log -------------------------------------------------------------------


def test_audit_log_is_newest_first_and_paginated(client, admin):
    users = add_users(30)
    now = utcnow()
    for minutes, user in enumerate(users):
        db.session.add(
            AuditEvent(
                action="promote" if minutes % 2 else "demote",
                actor_id=admin.id,
                actor_email=ADMIN,
                subject_id=user.id,
                subject_email=user.email,
                created_at=now - timedelta(minutes=minutes),
            )
        )
    db.session.commit()

    first = client.get("/admin/audit").get_data(as_text=True)
    assert len(EVENT_ROW.findall(first)) == 25
    body = first.split("<tbody", 1)[1]
    newest, oldest_shown = body.find("member000@example.com"), body.find("member024@example.com")
    assert -1 < newest < oldest_shown
    assert "member025@example.com" not in body

    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert len(EVENT_ROW.findall(second)) == 5
    assert "member029@example.com" in second
    assert 'href="/admin/audit?page=2"' in first


def test_every_action_is_in_the_audit_log(client, admin, outbox, make_user):
    user = make_user()
    for action in ("deactivate", "activate", "promote", "demote", "send-reset", "delete"):
        act(client, user.id, action)
    assert [entry[0] for entry in entries()] == [
        "deactivate",
        "activate",
        "promote",
        "demote",
        "send_reset",
        "delete",
    ]
    page = client.get("/admin/audit").get_data(as_text=True)
    assert EVENT_ROW.findall(page) == [
        "delete",
        "send_reset",
        "demote",
        "promote",
        "activate",
        "deactivate",
    ]
    assert page.count(ADMIN) >= 6
