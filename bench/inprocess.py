"""In-process measurements of a baked project, run by run.py from the project's folder.

    python inprocess.py login PACKAGE --runs N
    python inprocess.py admin PACKAGE --users N --runs N

The project runs with its production configuration (the environment is set by run.py,
the schema is made by `flask db upgrade` beforehand). Requests go through Flask's test
client over https://localhost, as the production cookies are Secure and the CSRF check
wants a same-origin Referer. Prints one JSON object with every timing in milliseconds.
"""

import argparse
import importlib
import json
import random
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import bcrypt
from sqlalchemy import insert, text

BASE_URL = "https://localhost"
PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@example.com"
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
INPUT_VALUE = re.compile(r'value="([^"]+)"')
AUDIT_EVENTS = 20_000
DOMAINS = ("example.com", "mail.org", "corp.net")
# Some accounts of every kind the dashboard counts (more than most sites have), so
# that no figure comes from an empty index: 1 in 1,000 an admin, 1 in 20
# deactivated, 1 in 10 not verified.
ADMIN_EVERY = 1_000
DEACTIVATED_EVERY = 20
UNVERIFIED_EVERY = 10

# The admin pages timed: the dashboard, the users list, and searches with few, many
# and no matches (the search plans differ with the number of matches).
ADMIN_PAGES = {
    "dashboard": "/admin/",
    "users list": "/admin/users",
    "search, few matches": "/admin/users?q=user04213",
    "search, many matches": "/admin/users?q=mail.org",
    "search, no match": "/admin/users?q=no-such-address",
}


def milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 3)


def summary(samples: list[float]) -> dict:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def load_project(package: str):
    sys.path.insert(0, str(Path.cwd()))
    project = importlib.import_module(package)
    return {
        "create_app": project.create_app,
        "db": importlib.import_module(f"{package}.extensions").db,
        "models": importlib.import_module(f"{package}.models"),
        "package": package,
        "utcnow": importlib.import_module(f"{package}.database").utcnow,
    }


def user_row(
    models,
    email: str,
    password_hash: str,
    created_at,
    is_admin=False,
    is_active=True,
    is_verified=True,
) -> dict:
    """The columns of one account; optional ones only when the variant has them."""
    row = {
        "email": email,
        "password_hash": password_hash,
        "is_active": is_active,
        "created_at": created_at,
        "password_changed_at": created_at,
    }
    columns = models.User.__table__.columns
    if "is_admin" in columns:
        row["is_admin"] = is_admin
    if "email_verified_at" in columns:
        row["email_verified_at"] = created_at if is_verified else None
        row["otp_failed_attempts"] = 0
    return row


def csrf_token(client, page: str) -> str:
    response = client.get(page, base_url=BASE_URL)
    assert response.status_code == 200, (page, response.status_code)
    field = CSRF_INPUT.search(response.get_data(as_text=True))
    assert field, f"no csrf_token field on {page}"
    return INPUT_VALUE.search(field.group(0)).group(1)


def post_login(client, email: str):
    token = csrf_token(client, "/auth/login")
    started = time.perf_counter()
    response = client.post(
        "/auth/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        base_url=BASE_URL,
        headers={"Referer": f"{BASE_URL}/auth/login"},
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 302, f"login answered {response.status_code}"
    return elapsed


def measure_login(project, runs: int) -> dict:
    """A successful login POST against bcrypt.checkpw at the same cost, interleaved."""
    app = project["create_app"]("production")
    rounds = app.config["BCRYPT_LOG_ROUNDS"]
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds))
    email = "someone@example.com"
    with app.app_context():
        now = project["utcnow"]()
        row = user_row(project["models"], email, password_hash.decode(), now)
        project["db"].session.execute(insert(project["models"].User), [row])
        project["db"].session.commit()

    post_login(app.test_client(), email)  # warm-up: templates, dummy hash, connections
    logins, checks = [], []
    for _ in range(runs):
        logins.append(milliseconds(post_login(app.test_client(), email)))
        started = time.perf_counter()
        assert bcrypt.checkpw(PASSWORD.encode(), password_hash)
        checks.append(milliseconds(time.perf_counter() - started))
    return {"rounds": rounds, "login_post": summary(logins), "checkpw": summary(checks)}


def insert_accounts(project, users: int) -> float:
    """`users` accounts and a log of admin actions, bulk-inserted with SQL."""
    db, models, now = project["db"], project["models"], project["utcnow"]()
    # Every account shares one hash: hashing 100,000 passwords would take hours.
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    rng = random.Random(1)
    started = time.perf_counter()
    batch = []
    for number in range(users):
        created_at = now - timedelta(minutes=rng.randrange(525_600))
        email = f"user{number:06}@{rng.choice(DOMAINS)}"
        row = user_row(
            models,
            email,
            password_hash,
            created_at,
            is_admin=number % ADMIN_EVERY == 0,
            is_active=number % DEACTIVATED_EVERY != 0,
            is_verified=number % UNVERIFIED_EVERY != 0,
        )
        batch.append(row)
        if len(batch) == 10_000:
            db.session.execute(insert(models.User), batch)
            batch = []
    if batch:
        db.session.execute(insert(models.User), batch)
    admin_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(12)).decode()
    db.session.execute(
        insert(models.User), [user_row(models, ADMIN_EMAIL, admin_hash, now, is_admin=True)]
    )
    events = [
        {
            "action": "promote",
            "actor_email": ADMIN_EMAIL,
            "subject_email": f"user{number:06}@example.com",
            "created_at": now - timedelta(minutes=number),
        }
        for number in range(AUDIT_EVENTS)
    ]
    audit_event = importlib.import_module(f"{project['package']}.admin.models").AuditEvent
    db.session.execute(insert(audit_event), events)
    db.session.commit()
    # The planner statistics (and on PostgreSQL the visibility map, which lets count(*)
    # read an index alone) that autovacuum keeps up to date on a live database.
    maintenance = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(maintenance))
    return time.perf_counter() - started


def measure_admin(project, users: int, runs: int) -> dict:
    app = project["create_app"]("production")
    with app.app_context():
        insert_seconds = insert_accounts(project, users)
        dialect = project["db"].engine.dialect.name
    client = app.test_client()
    post_login(client, ADMIN_EMAIL)
    pages = {}
    for name, page in ADMIN_PAGES.items():
        samples = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            response = client.get(page, base_url=BASE_URL)
            samples.append(milliseconds(time.perf_counter() - started))
            assert response.status_code == 200, (page, response.status_code)
        pages[name] = summary(samples[1:])  # the first request warms the caches
    return {
        "database": dialect,
        "users": users,
        "insert_seconds": round(insert_seconds, 1),
        "pages": pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["login", "admin"])
    parser.add_argument("package")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    project = load_project(args.package)
    if args.what == "login":
        result = measure_login(project, args.runs)
    else:
        result = measure_admin(project, args.users, args.runs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
