"""The ORM baseline: bare Flask with Flask-SQLAlchemy, one mapped class and the
project's health check (SELECT 1 on a connection of its own).

Its workers' memory is the floor for any app on the SQLAlchemy ORM, and its /healthz
the floor for a health check that asks the database. A module of its own, so that
the other baselines (app.py) do not import SQLAlchemy.
"""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, text
from sqlalchemy.orm import Mapped, configure_mappers, mapped_column

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


class Account(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)


# Done on the first query in an app that makes one; done here so that the workers
# hold what a working ORM holds.
configure_mappers()


@app.get("/healthz")
def healthz():
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok"}
