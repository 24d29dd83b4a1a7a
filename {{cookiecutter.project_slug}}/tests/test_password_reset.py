import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from helpers import PASSWORD
from sqlalchemy import event, select

from {{ cookiecutter.package_name }}.database import utcnow
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import PasswordResetToken

NEW_PASSWORD = "a brand new passphrase"
RESET_LINK = re.compile(r"(https?://\S+/auth/reset-password/[\w-]+)")
RESET_PAGE = "/auth/reset-password"


def ask_for_reset(client, email="user@example.com"):
    return client.submit("/auth/forgot-password", {"email": email})


def reset_path(message) -> str:
    link = RESET_LINK.search(message.body).group(1)
    assert link in message.html
    return "/auth/" + link.split("/auth/", 1)[1]


def set_new_password(client, path, password=NEW_PASSWORD):
    client.get(path)  # the link hands its token to the session
    return client.submit(RESET_PAGE, {"password": password, "confirm_password": password})


def test_forgot_password_mails_a_link_built_from_base_url(
    app, client, app_context, outbox, make_user
):
    make_user()
    response = ask_for_reset(client, "USER@example.com")
    assert response.status_code == 302
    assert len(outbox) == 1
    link = RESET_LINK.search(outbox[0].body).group(1)
    assert link.startswith(app.config["BASE_URL"] + "/auth/reset-password/")
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits in URL-safe base64
    assert db.session.scalar(select(PasswordResetToken.token_hash)) != token


def test_link_ignores_a_forged_host_header(client, app_context, outbox, make_user):
    make_user()
    client.submit(
        "/auth/forgot-password",
        {"email": "user@example.com"},
        headers={"Host": "evil.test"},
    )
    assert "evil.test" not in outbox[0].body


def test_unknown_address_gets_the_same_answer(app, app_context, outbox, make_user):
    make_user()
    known = ask_for_reset(app.test_client(), "user@example.com")
    unknown = ask_for_reset(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert len(outbox) == 1


def test_known_and_unknown_addresses_cost_the_request_the_same(
    app, app_context, outbox, monkeypatch, make_user
):
    # The account is looked up and mailed off the request thread, so the answer's
    # timing cannot tell whether the address has an account.
    monkeypatch.setitem(app.config, "MAIL_SEND_ASYNC", True)
    make_user()
    request_thread = threading.get_ident()
    statements = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        if threading.get_ident() == request_thread:
            statements.append(statement)

    work = {}
    for email in ("user@example.com", "nobody@example.com"):
        client = app.test_client()
        client.csrf_token("/auth/forgot-password")  # the form page's own work is not counted
        statements.clear()
        with_listener = event.listens_for(db.engine, "before_cursor_execute")(record)
        ask_for_reset(client, email)
        event.remove(db.engine, "before_cursor_execute", with_listener)
        work[email] = list(statements)
    assert work["user@example.com"] == work["nobody@example.com"]
    # The known address still gets its link, from the background.
    for _ in range(100):
        if outbox:
            break
        time.sleep(0.05)
    assert [message.recipients for message in outbox] == [["user@example.com"]]


def test_reset_sets_the_password_without_signing_in(client, app_context, outbox, make_user):
    make_user()
    ask_for_reset(client)
    response = set_new_password(client, reset_path(outbox[0]))
    assert response.headers["Location"] == "/auth/login"
    assert client.get("/dashboard").status_code == 302
    assert client.log_in(password=PASSWORD).status_code == 200
    assert client.log_in(password=NEW_PASSWORD).status_code == 302
    assert "password was changed" in outbox[-1].subject


def test_link_works_once(client, app_context, outbox, make_user):
    make_user()
    ask_for_reset(client)
    path = reset_path(outbox[0])
    set_new_password(client, path)
    response = client.get(path, follow_redirects=True)
    assert response.request.path == "/auth/forgot-password"
    assert b"invalid or has expired" in response.data


def test_link_expires(client, app_context, outbox, make_user):
    make_user()
    ask_for_reset(client)
    token = db.session.scalars(select(PasswordResetToken)).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(reset_path(outbox[0]), follow_redirects=True)
    assert response.request.path == "/auth/forgot-password"


def test_link_dies_when_the_password_changes_another_way(client, app_context, outbox, make_user):
    make_user()
    ask_for_reset(client)
    path = reset_path(outbox[0])
    client.log_in()
    client.submit(
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert client.get(path, follow_redirects=True).request.path == "/auth/forgot-password"


def test_reset_ends_every_session(app, client, app_context, outbox, make_user):
    make_user()
    other_device = app.test_client()
    other_device.log_in()
    ask_for_reset(client)
    set_new_password(client, reset_path(outbox[0]))
    assert other_device.get("/dashboard").status_code == 302


def test_new_password_must_meet_the_policy(client, app_context, outbox, make_user):
    make_user()
    ask_for_reset(client)
    response = set_new_password(client, reset_path(outbox[0]), "password1234")
    assert response.status_code == 200
    assert b"commonly used" in response.data


def test_reset_page_keeps_the_token_on_this_site(client, app_context, outbox, make_user):
    make_user()
    ask_for_reset(client)
    response = client.get(reset_path(outbox[0]))
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_token_leaves_the_url_at_the_first_visit(client, app_context, outbox, make_user):
    # Access logs (gunicorn's, a proxy's) record every path: after the link is opened,
    # no request carries the token in its URL again.
    make_user()
    ask_for_reset(client)
    path = reset_path(outbox[0])
    token = path.rsplit("/", 1)[1]
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == RESET_PAGE
    page = client.get(RESET_PAGE)
    assert page.status_code == 200
    assert token not in page.get_data(as_text=True)
    assert f'action="{RESET_PAGE}"' in page.get_data(as_text=True)
    assert set_new_password(client, path).headers["Location"] == "/auth/login"


def test_the_reset_page_without_a_link_sends_to_forgot_password(client):
    response = client.get(RESET_PAGE, follow_redirects=True)
    assert response.request.path == "/auth/forgot-password"


def test_parallel_posts_of_one_link_change_the_password_once(app, app_context, outbox, make_user):
    make_user()
    ask_for_reset(app.test_client())
    path = reset_path(outbox[0])
    browsers = [app.test_client() for _ in range(4)]
    forms = []
    for browser in browsers:
        browser.get(path)
        forms.append({"csrf_token": browser.csrf_token(RESET_PAGE)})
    passwords = [f"parallel passphrase number {number}" for number in range(len(browsers))]

    def post(number):
        password = passwords[number]
        data = {**forms[number], "password": password, "confirm_password": password}
        return browsers[number].post(RESET_PAGE, data=data)

    with ThreadPoolExecutor(len(browsers)) as pool:
        responses = list(pool.map(post, range(len(browsers))))
    changed = [response.headers["Location"] == "/auth/login" for response in responses]
    assert changed.count(True) == 1
    assert sum("password was changed" in message.subject for message in outbox) == 1
