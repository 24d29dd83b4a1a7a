"""E-mail verification with a 6-digit code: a sign-up waits for its code, and the login
gate asks for one before an unverified account gets a session."""

from flask import Flask

from ..auth import gate
from ..auth.signals import address_proven
from . import codes, routes


def init_app(app: Flask) -> None:
    app.register_blueprint(routes.bp)
    gate.set_sign_up(app, routes.sign_up_and_wait_for_code)
    gate.add_step(app, routes.require_verified_address)
    address_proven.connect(codes.address_proven, app)
