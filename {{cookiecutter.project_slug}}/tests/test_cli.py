"""`flask create-admin`: creates a ready admin, or makes an existing account one with the
given password, taking it from whoever held it; the policy applies."""

import pytest
from helpers import PASSWORD{% if cookiecutter.use_otp %}, code_from{% endif %}
from sqlalchemy import func, select

from {{ cookiecutter.package_name }}.admin.models import AuditEvent
from {{ cookiecutter.package_name }}.auth.accounts import create_reset_link
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import PasswordResetToken, User, UserSession
from {{ cookiecutter.package_name }}.passwords import verify_password

ADMIN = "admin@example.com"
NEW_PASSWORD = "a different long passphrase"
INTRUDER_PASSWORD = "chosen by somebody else"


@pytest.fixture
def run(app, app_context):
    runner = app.test_cli_runner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(args=["create-admin", *args], input=input)

    return run


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audit_actions() -> list[str]:
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_creates_a_ready_admin(app, run, find_user):
    result = run("--email", ADMIN, "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert f"Created the admin {ADMIN}" in result.output
    user = find_user(ADMIN)
    assert user.is_admin
    assert user.is_active
{%- if cookiecutter.use_otp %}
    assert user.is_verified
{%- endif %}
    assert verify_password(PASSWORD, user.password_hash)
    assert audit_actions() == ["create_admin"]

    browser = app.test_client()
    assert browser.log_in(ADMIN).headers["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200


def test_email_is_normalised(run, find_user):
    assert run("--email", "  Admin@Example.COM ", "--password", PASSWORD).exit_code == 0
    assert find_user(ADMIN) is not None


def test_prompts_for_what_is_not_given_and_hides_the_password(run, find_user):
    result = run(input=f"{ADMIN}\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "E-mail address:" in result.output
    assert "Password:" in result.output
    assert "Repeat for confirmation:" in result.output
    assert PASSWORD not in result.output
    assert verify_password(PASSWORD, find_user(ADMIN).password_hash)


def test_password_prompt_asks_again_when_the_two_differ(run, find_user):
    other = "another long passphrase"
    result = run("--email", ADMIN, input=f"{PASSWORD}\n{other}\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert verify_password(PASSWORD, find_user(ADMIN).password_hash)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "Use at least 12 characters."),
        ("password1234", "most commonly used passwords"),
        ("admin-and-then-some", "Do not use your e-mail address"),
        ("x" * 73, "Use at most 72 bytes"),
    ],
)
def test_password_policy_applies(run, password, reason):
    result = run("--email", ADMIN, "--password", password)
    assert result.exit_code == 1
    assert "The password is not accepted." in result.output
    assert reason in result.output
    assert count(User) == 0


def test_weak_prompted_password_is_refused_too(run):
    result = run("--email", ADMIN, input="short\nshort\n")
    assert result.exit_code == 1
    assert "Use at least 12 characters." in result.output
    assert count(User) == 0


def test_invalid_email_is_refused(run):
    result = run("--email", "not-an-address", "--password", PASSWORD)
    assert result.exit_code == 2
    assert "Invalid value for '--email'" in result.output
    assert count(User) == 0


def signed_in(client) -> bool:
    return client.get("/dashboard").status_code == 200


def test_an_address_registered_first_is_taken_from_whoever_registered_it(app, run{% if cookiecutter.use_otp %}, outbox{% endif %}):
    # Someone signs up with the address the admin will have, choosing the password.
    intruder = app.test_client()
    data = {"email": ADMIN, "password": INTRUDER_PASSWORD, "confirm_password": INTRUDER_PASSWORD}
    assert intruder.submit("/auth/signup", data).status_code == 302
{%- if cookiecutter.use_otp %}
    signup_code = code_from(outbox[-1])
{%- else %}
    intruder.log_in(ADMIN, INTRUDER_PASSWORD)
    assert signed_in(intruder)
{%- endif %}

    result = run("--email", ADMIN, "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert "password replaced" in result.output
{%- if cookiecutter.use_otp %}
    assert "0 sessions ended" in result.output

    # The code of that sign-up verifies nothing now.
    intruder.submit("/auth/verify", {"code": signup_code})
{%- else %}
    assert "1 session ended" in result.output
{%- endif %}
    assert not signed_in(intruder)
    assert intruder.log_in(ADMIN, INTRUDER_PASSWORD).status_code == 200  # the form again
    assert not signed_in(intruder)
    admin = app.test_client()
    assert admin.log_in(ADMIN).headers["Location"] == "/admin/"
    assert signed_in(admin)


def test_an_existing_account_gets_the_given_password_and_loses_every_session(
    app, run, outbox, make_user, find_user
):
    user = make_user("member@example.com", password=INTRUDER_PASSWORD)
    browsers = [app.test_client(), app.test_client()]
    for browser in browsers:
        browser.log_in("member@example.com", INTRUDER_PASSWORD)
        assert signed_in(browser)
    with app.test_request_context():
        create_reset_link(user)

    result = run("--email", "MEMBER@example.com", "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "member@example.com: made an admin, password replaced, 2 sessions ended.\n"
    )
    user = find_user("member@example.com")
    assert user.is_admin
    assert verify_password(PASSWORD, user.password_hash)
    assert not any(signed_in(browser) for browser in browsers)
    assert count(UserSession) == 0
    assert count(PasswordResetToken) == 0
    # The owner of the address is told, as after any password change.
    assert [message.recipients for message in outbox] == [["member@example.com"]]
    assert outbox[0].subject.startswith("Your password was changed")
    assert audit_actions() == ["promote", "set_password"]
    assert count(User) == 1


def test_a_deactivated_{% if cookiecutter.use_otp %}unverified_{% endif %}account_is_made_ready(run, make_user, find_user):
    make_user(
        "member@example.com",
        is_active=False,
{%- if cookiecutter.use_otp %}
        email_verified_at=None,
{%- endif %}
    )
    result = run("--email", "member@example.com", "--password", NEW_PASSWORD)
    assert result.exit_code == 0, result.output
    changes = "made an admin, activated, {% if cookiecutter.use_otp %}e-mail address marked verified, {% endif %}password replaced"
    assert result.output == f"member@example.com: {changes}, 0 sessions ended.\n"
    user = find_user("member@example.com")
    assert user.is_admin
    assert user.is_active
{%- if cookiecutter.use_otp %}
    assert user.is_verified
{%- endif %}


def test_it_lifts_the_lock_that_strangers_wrong_guesses_put_on_the_account(app, run, make_user):
    make_user(ADMIN)
    stranger = app.test_client()
    attempts = int(app.config["RATELIMIT_LOGIN_PER_ACCOUNT"].split("/")[0])
    for _ in range(attempts):
        assert stranger.log_in(ADMIN, INTRUDER_PASSWORD).status_code == 200
    assert app.test_client().log_in(ADMIN).status_code == 429

    assert run("--email", ADMIN, "--password", NEW_PASSWORD).exit_code == 0
    assert app.test_client().log_in(ADMIN, NEW_PASSWORD).status_code == 302


def test_an_existing_account_is_asked_for_its_new_password(run, make_user, find_user):
    make_user("member@example.com")
    result = run("--email", "member@example.com", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password:" in result.output
    user = find_user("member@example.com")
    assert user.is_admin
    assert verify_password(NEW_PASSWORD, user.password_hash)


def test_an_existing_account_is_refused_a_weak_password(run, make_user, find_user):
    make_user("member@example.com")
    result = run("--email", "member@example.com", "--password", "short")
    assert result.exit_code == 1
    assert "Use at least 12 characters." in result.output
    user = find_user("member@example.com")
    assert not user.is_admin
    assert verify_password(PASSWORD, user.password_hash)


def test_running_it_again_changes_nothing(app, run):
    assert run("--email", ADMIN, "--password", PASSWORD).exit_code == 0
    admin = app.test_client()
    admin.log_in(ADMIN)
    result = run("--email", ADMIN, "--password", PASSWORD)
    assert result.exit_code == 0
    assert "already an active admin with this password; nothing to do" in result.output
    assert count(User) == 1
    assert audit_actions() == ["create_admin"]
    assert signed_in(admin)


def test_running_it_with_another_password_gets_an_admin_back_in(app, run):
    assert run("--email", ADMIN, "--password", PASSWORD).exit_code == 0
    result = run("--email", ADMIN, "--password", NEW_PASSWORD)
    assert result.exit_code == 0, result.output
    assert result.output == f"{ADMIN}: password replaced, 0 sessions ended.\n"
    assert app.test_client().log_in(ADMIN, NEW_PASSWORD).headers["Location"] == "/admin/"
    assert audit_actions() == ["create_admin", "set_password"]


def test_appears_in_flask_help(app):
    result = app.test_cli_runner().invoke(args=["--help"])
    assert "create-admin" in result.output
