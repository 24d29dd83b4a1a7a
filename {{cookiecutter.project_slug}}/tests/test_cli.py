"""`flask create-admin`: creates a ready admin or promotes an account; the policy applies."""

import pytest
from sqlalchemy import func, select

from {{ cookiecutter.package_name }}.auth.passwords import verify_password
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import AuditEvent, User

from conftest import PASSWORD, create_user, find_user, log_in

ADMIN = "admin@example.com"


@pytest.fixture
def run(app, app_context):
    runner = app.test_cli_runner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(args=["create-admin", *args], input=input)

    return run


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def audit_actions() -> list[str]:
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_creates_a_ready_admin(app, run):
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
    assert log_in(browser, ADMIN).headers["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200


def test_email_is_normalised(run):
    assert run("--email", "  Admin@Example.COM ", "--password", PASSWORD).exit_code == 0
    assert find_user(ADMIN) is not None


def test_prompts_for_what_is_not_given_and_hides_the_password(run):
    result = run(input=f"{ADMIN}\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "E-mail address:" in result.output
    assert "Password:" in result.output
    assert "Repeat for confirmation:" in result.output
    assert PASSWORD not in result.output
    assert verify_password(PASSWORD, find_user(ADMIN).password_hash)


def test_password_prompt_asks_again_when_the_two_differ(run):
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
    assert user_count() == 0


def test_weak_prompted_password_is_refused_too(run):
    result = run("--email", ADMIN, input="short\nshort\n")
    assert result.exit_code == 1
    assert "Use at least 12 characters." in result.output
    assert user_count() == 0


def test_invalid_email_is_refused(run):
    result = run("--email", "not-an-address", "--password", PASSWORD)
    assert result.exit_code == 2
    assert "Invalid value for '--email'" in result.output
    assert user_count() == 0


def test_promotes_an_existing_account_and_keeps_its_password(run):
    create_user(
        "member@example.com",
        is_active=False,
{%- if cookiecutter.use_otp %}
        email_verified_at=None,
{%- endif %}
    )
    result = run("--email", "MEMBER@example.com", "--password", "an entirely different one")
    assert result.exit_code == 0, result.output
    assert "The password is unchanged." in result.output
    user = find_user("member@example.com")
    assert user.is_admin
    assert user.is_active
{%- if cookiecutter.use_otp %}
    assert user.is_verified
{%- endif %}
    assert verify_password(PASSWORD, user.password_hash)
    assert user_count() == 1
    assert audit_actions() == ["promote"]


def test_existing_account_is_promoted_without_asking_for_a_password(run):
    create_user("member@example.com")
    result = run("--email", "member@example.com", input="")
    assert result.exit_code == 0, result.output
    assert "Password:" not in result.output
    assert find_user("member@example.com").is_admin


def test_running_it_again_changes_nothing(run):
    assert run("--email", ADMIN, "--password", PASSWORD).exit_code == 0
    result = run("--email", ADMIN, "--password", PASSWORD)
    assert result.exit_code == 0
    assert "already an active admin" in result.output
    assert user_count() == 1
    assert audit_actions() == ["create_admin"]


def test_appears_in_flask_help(app):
    result = app.test_cli_runner().invoke(args=["--help"])
    assert "create-admin" in result.output
