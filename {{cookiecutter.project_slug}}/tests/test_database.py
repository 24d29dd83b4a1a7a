"""The database settings: SQLite's pragmas and file location
{%- if cookiecutter.database == "postgresql" %}, the PostgreSQL connection pool
{%- if cookiecutter.use_admin %},
and the index the admin search uses{% endif %}
{%- endif %}."""

import secrets
from pathlib import Path

import pytest
{%- if cookiecutter.database == "postgresql" and cookiecutter.use_admin %}
from sqlalchemy import event, insert, text
{%- else %}
from sqlalchemy import text
{%- endif %}
from sqlalchemy.exc import IntegrityError
{% if cookiecutter.database == "postgresql" and cookiecutter.use_admin %}
from {{ cookiecutter.package_name }}.admin.routes import users_page
{%- endif %}
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import {% if cookiecutter.database == "postgresql" and cookiecutter.use_admin %}User, {% endif %}UserSession

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_sqlite_file_has_foreign_keys_and_wal_on(make_app, tmp_path):
    database = tmp_path / "app.db"
    app = make_app("testing", DATABASE_URL=f"sqlite:///{database}", schema=True)
    with app.app_context():
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        # Enforced, not only switched on: a session of an account that does not exist.
        db.session.add(UserSession(token_hash="0" * 64, user_id=12345))
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            db.session.commit()
        db.session.rollback()
    assert Path(f"{database}-wal").exists()


def test_default_database_file_lives_in_instance(make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env to be found: the built-in default applies
    app = make_app("development", SECRET_KEY=secrets.token_urlsafe(48))
    with app.app_context():
        url = db.engine.url
    assert url.get_backend_name() == "sqlite"
    assert Path(url.database) == PROJECT_ROOT / "instance" / "{{ cookiecutter.project_slug }}.db"
    assert Path(app.instance_path) == PROJECT_ROOT / "instance"
{%- if cookiecutter.database == "postgresql" %}


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgresql_connections_are_checked_and_renewed(make_app, scheme):
    """psycopg 3 for both spellings; a connection is tested before use (pre-ping) and
    renewed after 30 minutes. Building the engine connects to nothing."""
    app = make_app("production", env={"DATABASE_URL": f"{scheme}://app:secret@db.invalid:5432/app"})
    with app.app_context():
        engine = db.engine
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.pool._pre_ping is True
    assert engine.pool._recycle == 1800
{%- if cookiecutter.use_admin %}


def explain(statement: str, parameters) -> str:
    rows = db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters)
    return "\n".join(row[0] for row in rows)


def test_admin_search_uses_the_trigram_index(app, app_context):
    """On a table big enough for the planner to care, every query of a search for a
    few accounts reads the trigram index instead of every row."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
    # As wide as real rows (a bcrypt hash has 60 characters): with narrower ones the
    # table reads so cheaply that the planner's choice becomes a coin toss.
    hashed = "x" * 60
    rows = [{"email": f"user{n}@example.com", "password_hash": hashed} for n in range(20_000)]
    rows += [{"email": f"ada.lovelace{n}@example.org", "password_hash": hashed} for n in range(3)]
    db.session.execute(insert(User), rows)
    db.session.execute(text("ANALYZE users"))

    statements = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with app.test_request_context("/admin/users?q=LoveLace"):
            found = users_page("LoveLace")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(found.items) == 3
    assert not found.has_next
    assert sorted(user.email for user in found.items)[0] == "ada.lovelace0@example.org"

    searches = [(sql, parameters) for sql, parameters in statements if "LIKE" in sql]
    assert searches
    for statement, parameters in searches:
        plan = explain(statement, parameters)
        assert "ix_users_email_trgm" in plan, f"{statement}\n{plan}"
        assert "Seq Scan on users" not in plan, plan
{%- endif %}
{%- endif %}
