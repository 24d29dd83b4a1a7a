"""What the tests share that is not a fixture: the test client of every app they build,
and plain values.

PASSWORD is a default argument of helpers in several test files, so it is a constant;
code_from reads a message and needs no fixture.
"""

import contextvars
import re

from flask import has_app_context
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.extensions import db

PASSWORD = "correct horse battery staple"
CODE = re.compile(r"\b(\d{6})\b")
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
INPUT_VALUE = re.compile(r'value="([^"]+)"')


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a fresh context, as on a real server,
    and which fills in forms as a browser would.

    Without the fresh context a test holding an app context open for database work would
    share `g` (and so Flask-Login's user and Flask-WTF's token) across its requests.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()  # the test sees what the request wrote
        return response

    def csrf_token(self, page: str, **kwargs) -> str:
        """The CSRF token of the form on `page`, read from the HTML as a browser would."""
        response = self.get(page, **kwargs)
        assert response.status_code == 200, f"{page} answered {response.status_code}"
        field = CSRF_INPUT.search(response.get_data(as_text=True))
        assert field, f"no csrf_token field on {page}"
        return INPUT_VALUE.search(field.group(0)).group(1)

    def submit(self, page: str, data: dict, action: str | None = None, **kwargs):
        """Fill in the form on `page` and POST it (to `action`, default the page itself)."""
        data = {"csrf_token": self.csrf_token(page, headers=kwargs.get("headers")), **data}
        return self.post(action or page, data=data, **kwargs)

    def log_in(
        self, email: str = "user@example.com", password: str = PASSWORD, remember=False, **kwargs
    ):
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        return self.submit("/auth/login", data, **kwargs)


def code_from(message) -> str:
    """The 6-digit code in an e-mail."""
    return CODE.search(message.body).group(1)
