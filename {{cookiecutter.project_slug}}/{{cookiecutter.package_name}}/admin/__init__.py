"""The admin panel: user management, the audit log, re-authentication and the
create-admin command."""

from flask import Flask, url_for

from ..auth import gate
from ..auth.signals import password_proven
from . import reauth
from .commands import create_admin
from .routes import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(reauth.bp)
    app.cli.add_command(create_admin)
    gate.add_landing(app, lambda user: url_for("admin.index") if user.is_admin else None)
    password_proven.connect(reauth.password_proven, app)
