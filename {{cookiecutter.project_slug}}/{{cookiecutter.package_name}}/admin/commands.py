"""`flask create-admin`: the first admin, or a way back in when no admin can sign in."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from ..auth.accounts import find_user, set_password
from ..auth.signals import address_proven
from ..extensions import db
from ..forms import normalise_email
from ..models import User
from ..passwords import hash_password, password_problems, verify_password
from ..throttling import clear_login_failures
from .models import AuditEvent

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
    help="The admin's password (asked for, hidden, when not given). "
    "An existing account gets it too, and its sessions end.",
)
@with_appcontext
def create_admin(email: str, password: str | None) -> None:
    """Create an admin account, or make an existing account an admin with a new password."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = password_problems(password, email)
    if problems:
        raise click.ClickException("The password is not accepted. " + " ".join(problems))
    user = find_user(email)
    if user is None:
        create(email, password)
    else:
        take_over(user, password)


def create(email: str, password: str) -> None:
    user = User(email=email, password_hash=hash_password(password), is_admin=True)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        raise click.ClickException(f"{email} signed up a moment ago; run this again.") from None
    add_entry("create_admin", user)
    db.session.commit()
    # Whoever runs commands on the server vouches for the address.
    prove_address(user)
    click.echo(f"Created the admin {email}. They can sign in now.")


def take_over(user: User, password: str) -> None:
    """Make an existing account a working admin that only the given password opens.

    Anyone may have registered the address first: whoever holds the account now loses it
    (set_password ends its sessions and reset links), and a sign-in lock from wrong
    guesses is lifted, as after a reset.
    """
    changes = []
    if not user.is_admin:
        user.is_admin = True
        changes.append("made an admin")
        add_entry("promote", user)
    if not user.is_active:
        user.is_active = True
        changes.append("activated")
    # Options add what proving the address changes (verified, pending sign-ups void).
    changes.extend(prove_address(user))
    # Already exactly what was asked for: running the command again ends no session.
    if not changes and verify_password(password, user.password_hash):
        click.echo(f"{user.email} is already an active admin with this password; nothing to do.")
        return
    add_entry("set_password", user)
    sessions = len(user.sessions)
    # set_password's e-mail builds its links with url_for, which needs a request.
    with current_app.test_request_context():
        set_password(user, password)
        clear_login_failures(user.email)
    changes.append("password replaced")
    ended = f"{sessions} session{'' if sessions == 1 else 's'} ended"
    click.echo(f"{user.email}: {', '.join(changes)}, {ended}.")


def prove_address(user: User) -> list[str]:
    """Tell the options the address is proven; returns what they changed."""
    results = address_proven.send(current_app._get_current_object(), user=user)
    return [change for _, change in results if change]


def add_entry(action: str, user: User) -> None:
    db.session.add(
        AuditEvent(
            action=action,
            actor_email=COMMAND_ACTOR,
            subject_id=user.id,
            subject_email=user.email,
        )
    )
