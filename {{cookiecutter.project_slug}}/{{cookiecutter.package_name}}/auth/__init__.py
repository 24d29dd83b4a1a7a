"""Sign-up, login, logout and password reset, and the login gate every way in ends at."""

from flask import Flask

from . import gate, sessions
from .routes import bp


def init_app(app: Flask) -> None:
    sessions.init_app(app)
    gate.init_app(app)
    app.register_blueprint(bp)
