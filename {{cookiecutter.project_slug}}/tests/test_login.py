import re

import pytest
from helpers import PASSWORD

from {{ cookiecutter.package_name }}.auth.gate import safe_next_url


def without_values(html: bytes) -> bytes:
    return re.sub(rb'value="[^"]*"', b"", html)


def test_login_lands_on_the_dashboard(client, app_context, make_user):
    make_user()
    response = client.log_in()
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_email_is_matched_case_insensitively(client, app_context, make_user):
    make_user("mixed@example.com")
    assert client.log_in("MIXED@Example.com").status_code == 302


def test_unknown_address_and_wrong_password_get_the_same_answer(app, app_context, make_user):
    make_user("known@example.com")
    wrong_password = app.test_client().log_in("known@example.com", "not the password at all")
    unknown_user = app.test_client().log_in("nobody@example.com", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 200
    # Identical pages once the echoed e-mail and the per-session CSRF token are set aside.
    assert without_values(wrong_password.data) == without_values(unknown_user.data)
    assert b"e-mail address or password is not correct" in unknown_user.data


def test_a_failed_login_keeps_the_address_and_never_echoes_the_password(
    client, app_context, make_user
):
    make_user()
    html = client.log_in("user@example.com", "not the password at all").get_data(as_text=True)
    email = re.search(r"<input [^>]*id=\"email\"[^>]*>", html).group()
    password = re.search(r"<input [^>]*id=\"password\"[^>]*>", html).group()
    remember = re.search(r"<input [^>]*id=\"remember\"[^>]*>", html).group()
    # The inputs are written out in _macros.html: type, value, required and maxlength
    # must still follow the form's fields and validators.
    assert 'type="email"' in email and 'value="user@example.com"' in email
    assert " required" in email and 'maxlength="254"' in email
    assert 'type="password"' in password and " required" in password
    assert "value=" not in password and "not the password" not in html
    assert 'type="checkbox"' in remember and " checked" not in remember
    again = client.log_in("user@example.com", "still not the password", remember=True)
    assert re.search(r"<input [^>]*id=\"remember\"[^>]* checked", again.get_data(as_text=True))


def test_deactivated_account_cannot_sign_in(client, app_context, make_user):
    make_user(is_active=False)
    response = client.log_in()
    assert response.status_code == 200
    assert b"deactivated" in response.data
    assert client.get("/dashboard").status_code == 302


def test_next_is_followed_when_it_is_a_local_path(client, app_context, make_user):
    make_user()
    response = client.submit(
        "/auth/login?next=/account/sessions",
        {"email": "user@example.com", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/account/sessions"


# As an attacker would write them in a link, URL-encoded.
@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/%2F/evil.example/",
        "/%5Cevil.example/",
        "%5C/evil.example/",
        "/%09/evil.example",
        "/%0A/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
    ],
)
def test_next_never_leaves_the_site(client, app_context, target, make_user):
    make_user()
    response = client.submit(
        "/auth/login",
        {"email": "user@example.com", "password": PASSWORD},
        action=f"/auth/login?next={target}",
    )
    assert response.headers["Location"] == "/dashboard"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account/password", "/account/password"),
        ("/dashboard?tab=1", "/dashboard?tab=1"),
        ("//evil.example", None),
        (r"/\evil.example", None),
        (r"\/evil.example", None),
        ("/\t/evil.example", None),
        ("https://evil.example", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next_url(target, expected):
    assert safe_next_url(target) == expected


def test_session_is_renewed_at_login(client, app_context, make_user):
    make_user()
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.log_in()
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_needs_post(client, app_context, make_user):
    make_user()
    client.log_in()
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/dashboard").status_code == 200


def test_logout_ends_the_session(client, app_context, make_user):
    make_user()
    client.log_in()
    response = client.submit("/dashboard", {}, action="/auth/logout")
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 302
{%- if cookiecutter.use_admin %}


def test_admins_land_on_the_admin_dashboard(client, app_context, make_user):
    make_user("boss@example.com", is_admin=True)
    response = client.log_in("boss@example.com")
    assert response.headers["Location"] == "/admin/"
{%- endif %}
