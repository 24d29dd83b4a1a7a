"""Run a baked project's migrations through a full cycle on each database URL given.

    cd <baked project> && python migration_cycle.py <package> <database url>...

For each URL, in one process (the app is imported once, not once per `flask db` call):

1. `flask db upgrade` on the empty database, then `flask db check`: no difference
   between the migrations and the models.
2. What `flask db check` cannot compare is compared directly: every index definition
   (expression indexes, such as lower(email), are invisible to it on SQLite; index
   methods and operator classes, such as a GIN trigram index, on PostgreSQL) and every
   constraint (foreign-key actions included), against what `db.create_all()` makes
   from the models on the same database.
3. `flask db downgrade base` leaves nothing but alembic's own table, empty.
4. `flask db upgrade` works again after that.

Prints one line per database and exits 1 with every problem when anything differs.
Run by tests/test_migrations.py; the template's tests import nothing from here.
"""

import importlib
import os
import re
import sys

import click
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import text

ALEMBIC_TABLE = "alembic_version"


def normalise(sql):
    return re.sub(r"\s+", " ", sql or "").replace('"', "").strip()


def sqlite_details(connection):
    details = set()
    tables = connection.execute(
        text("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ).scalars()
    for table in tables:
        if table == ALEMBIC_TABLE:
            continue
        for _, name, unique, origin, _ in connection.exec_driver_sql(
            f'PRAGMA index_list("{table}")'
        ):
            if origin == "c":  # CREATE INDEX: its SQL says everything
                sql = connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = :name"), {"name": name}
                ).scalar()
                details.add(("index", name, normalise(sql)))
            else:  # made by a UNIQUE or PRIMARY KEY clause: its name is a counter
                columns = [
                    row[2] for row in connection.exec_driver_sql(f'PRAGMA index_info("{name}")')
                ]
                details.add((origin, table, unique, tuple(columns)))
        for row in connection.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")'):
            # (id, seq, table, from, to, on_update, on_delete, match)
            details.add(("foreign key", table, *row[2:]))
    return details


def postgresql_details(connection):
    rows = connection.execute(
        text(
            "SELECT 'index', indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename <> :alembic"
            " UNION ALL"
            " SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE connamespace = current_schema()::regnamespace"
            " AND conrelid::regclass::text <> :alembic"
        ),
        {"alembic": ALEMBIC_TABLE},
    )
    return {tuple(row) for row in rows}


def details(connection):
    if connection.dialect.name == "sqlite":
        return sqlite_details(connection)
    if connection.dialect.name == "postgresql":
        return postgresql_details(connection)
    raise SystemExit(f"no schema comparison for {connection.dialect.name}")


def leftovers(connection):
    """Everything in the schema but alembic's own table, and any row in that table."""
    if connection.dialect.name == "sqlite":
        found = connection.execute(
            text(
                "SELECT type || ' ' || name FROM sqlite_master"
                " WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> :alembic"
            ),
            {"alembic": ALEMBIC_TABLE},
        ).scalars()
    else:
        found = connection.execute(
            text(
                "SELECT relkind::text || ' ' || relname FROM pg_class"
                " WHERE relnamespace = current_schema()::regnamespace"
                " AND relname NOT LIKE :alembic || '%'"
                " UNION ALL"
                " SELECT 'type ' || typname FROM pg_type"
                " WHERE typnamespace = current_schema()::regnamespace AND typtype = 'e'"
            ),
            {"alembic": ALEMBIC_TABLE},
        ).scalars()
    problems = [f"left after downgrade to base: {item}" for item in found]
    versions = connection.execute(text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalars()
    problems += [f"{ALEMBIC_TABLE} still holds {version}" for version in versions]
    return problems


def step(problems, what, action):
    """Run a Flask-Migrate command; it exits 1 (after logging why) when it fails."""
    try:
        action()
    except SystemExit as exit_:
        if exit_.code:
            problems.append(f"{what} failed (see the log above)")
            return False
    return True


def cycle(package, url):
    os.environ["DATABASE_URL"] = url
    # Loaded as the `flask` command loads it: the app sets up Flask-Migrate only while
    # a click command runs.
    with click.Context(click.Command("flask")):
        app = package.create_app("development")
    db = app.extensions["sqlalchemy"]
    problems = []
    with app.app_context():
        engine = db.engine
        name = engine.dialect.name
        if not step(problems, "flask db upgrade", upgrade):
            return name, problems
        step(problems, "flask db check", check)
        with engine.connect() as connection:
            migrated = details(connection)
        if not step(problems, "flask db downgrade base", lambda: downgrade(revision="base")):
            return name, problems
        with engine.connect() as connection:
            problems += leftovers(connection)
        db.create_all()
        with engine.connect() as connection:
            modelled = details(connection)
        db.drop_all()
        for item in sorted(migrated - modelled, key=str):
            problems.append(f"the migrations make {item}, the models do not")
        for item in sorted(modelled - migrated, key=str):
            problems.append(f"the models make {item}, the migrations do not")
        step(problems, "flask db upgrade after downgrade", upgrade)
        engine.dispose()
    print(f"{name}: {len(migrated)} indexes and constraints compared", flush=True)
    return name, problems


def main(argv):
    package = importlib.import_module(argv[1])
    failed = False
    for url in argv[2:]:
        name, problems = cycle(package, url)
        for problem in problems:
            print(f"{name}: {problem}", flush=True)
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
