"""`flask create-admin`: the first admin, or a way back in when no admin can sign in."""

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from ..auth.accounts import find_user
from ..auth.passwords import hash_password, password_problems
{%- if cookiecutter.use_otp %}
from ..database import utcnow
{%- endif %}
from ..extensions import db
from ..forms import normalise_email
from ..models import AuditEvent, User

# Audit entries need an actor; this one is whoever can run commands on the server.
COMMAND_ACTOR = "flask create-admin"


def validate_email(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return normalise_email(value.strip())
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command("create-admin")
@click.option(
    "--email",
    prompt="E-mail address",
    callback=validate_email,
    help="The admin's e-mail address; an existing account is promoted.",
)
@click.option(
    "--password",
    help="The new account's password (asked for, hidden, when not given). "
    "An existing account keeps its password.",
)
@with_appcontext
def create_admin(email: str, password: str | None) -> None:
    """Create an admin account, or make an existing account an admin."""
    user = find_user(email)
    if user is not None:
        promote(user)
        return
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = password_problems(password, email)
    if problems:
        raise click.ClickException("The password is not accepted. " + " ".join(problems))
    user = User(
        email=email,
        password_hash=hash_password(password),
        is_admin=True,
{%- if cookiecutter.use_otp %}
        email_verified_at=utcnow(),
{%- endif %}
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        raise click.ClickException(f"{email} signed up a moment ago; run this again.") from None
    add_entry("create_admin", user)
    db.session.commit()
    click.echo(f"Created the admin {email}. They can sign in now.")


def promote(user: User) -> None:
    """Make an account a working admin: active{% if cookiecutter.use_otp %}, verified{% endif %} and an admin; the password stays."""
    changes = []
    if not user.is_admin:
        user.is_admin = True
        changes.append("made an admin")
    if not user.is_active:
        user.is_active = True
        changes.append("activated")
{%- if cookiecutter.use_otp %}
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        changes.append("e-mail address marked verified")
{%- endif %}
    if not changes:
        click.echo(f"{user.email} is already an active admin; nothing to do.")
        return
    add_entry("promote", user)
    db.session.commit()
    click.echo(f"{user.email}: {', '.join(changes)}. The password is unchanged.")


def add_entry(action: str, user: User) -> None:
    db.session.add(
        AuditEvent(
            action=action,
            actor_email=COMMAND_ACTOR,
            subject_id=user.id,
            subject_email=user.email,
        )
    )
