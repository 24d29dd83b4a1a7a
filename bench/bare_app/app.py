"""The baseline: a bare Flask app rendering a one-line template, served like the project."""

from flask import Flask, render_template

app = Flask(__name__)


@app.get("/auth/login")
def login():
    return render_template("hello.html", name="world")


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
