"""The baselines, served like the project: bare Flask apps rendering a one-line template.

`app` renders the template and does nothing else. `form_app` adds the least that any
form page of the project must do (the contract: every form carries a hidden
csrf_token): Flask-WTF's CSRFProtect and a token in the page, which also puts a signed
session cookie on every first visit. It is the floor for a page with a form, the
figure the project's login page can approach but not pass.
"""

import os

from flask import Flask, render_template
from flask_wtf.csrf import CSRFProtect

app = Flask(__name__)


@app.get("/auth/login")
def login():
    return render_template("hello.html", name="world")


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


form_app = Flask(__name__)
form_app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
CSRFProtect(form_app)


@form_app.get("/auth/login")
def login_form():
    return render_template("hello_form.html", name="world")
