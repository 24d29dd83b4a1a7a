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
5. No migration loses data: every table is filled with rows that reference each other
   (values made from the models' column types), then the real revisions are
   downgraded one by one down to the first (never to base, which drops everything)
   and upgraded again: each step keeps every row of the tables and columns it keeps.
6. The same rows survive a rebuild of the users table, the way SQLite batch mode
   makes most changes (create a copy, DROP the old table, rename): a test-only
   revision written into migrations/versions is upgraded to and downgraded again, and
   every table must hold exactly the rows it held before.
7. A test-only revision that rebuilds the users table and then leaves sessions
   pointing at no user fails, and leaves the database exactly as it was.

Steps 6 and 7 write into the project's migrations/versions: run this in a copy.

Prints one line per database and exits 1 with every problem when anything differs.
Run by tests/test_migrations.py; the template's tests import nothing from here.
"""

import importlib
import os
import re
import sys
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

ALEMBIC_TABLE = "alembic_version"
ROWS_PER_TABLE = 6
# Rows point at the first rows of the tables they reference, several rows at each.
REFERENCED_ROWS = 3
# On SQLite, recreate="always" is the copy, DROP TABLE, rename that most changes make.
# PostgreSQL alters tables in place, and refuses to drop one that others reference.
TEST_REVISION = '''"""Test only: rebuild the users table with a harmless change{also}."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"


def recreate():
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


def upgrade():
    with op.batch_alter_table("users", recreate=recreate()) as batch_op:
        batch_op.add_column(sa.Column("rebuild_probe", sa.Integer(), nullable=True))
    {statement}


def downgrade():
    with op.batch_alter_table("users", recreate=recreate()) as batch_op:
        batch_op.drop_column("rebuild_probe")
'''


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


def sample(column, number):
    """A value for row `number` of `column`, distinct in every row (unique columns)."""
    # A TypeDecorator (the project's UTCDateTime) names no Python type; its impl does.
    kind = getattr(column.type, "impl_instance", column.type).python_type
    if kind is bool:
        return number % 2 == 0
    if kind is int:
        return number
    if kind is str:
        value = f"{column.name}-{number}"
        return value[-column.type.length :] if column.type.length else value
    if kind is datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=number, microseconds=number)
    raise SystemExit(f"no sample value for {column.table.name}.{column.name} ({column.type})")


def populate(connection, metadata):
    """Fill every table, parents first; each foreign key points at a row of its parent."""
    made = {}
    for table in metadata.sorted_tables:
        rows = []
        for number in range(1, ROWS_PER_TABLE + 1):
            row = {}
            for index, column in enumerate(table.columns):
                if column.foreign_keys:
                    target = next(iter(column.foreign_keys)).column
                    parent = made[target.table.name][(number + index) % REFERENCED_ROWS]
                    row[column.name] = parent[target.name]
                else:
                    row[column.name] = sample(column, number)
            rows.append(row)
        connection.execute(table.insert(), rows)
        made[table.name] = rows


def snapshot(engine):
    """{table: (column names, Counter of rows as stored)}, alembic's own table left out."""
    tables = {}
    with engine.connect() as connection:
        quote = connection.dialect.identifier_preparer.quote
        for name in inspect(connection).get_table_names():
            if name != ALEMBIC_TABLE:
                result = connection.exec_driver_sql(f"SELECT * FROM {quote(name)}")
                tables[name] = (tuple(result.keys()), Counter(tuple(row) for row in result))
    return tables


def project(table, kept):
    """The rows on the columns in `kept`, as (column, value) pairs in name order."""
    names, rows = table
    positions = [names.index(name) for name in sorted(kept & set(names))]
    projected = Counter()
    for row, count in rows.items():
        projected[tuple((names[i], row[i]) for i in positions)] += count
    return projected


def common_columns(*states):
    """{table: column names} of the tables every state has, with the columns all have."""
    return {
        table: set(names).intersection(*(state[table][0] for state in states))
        for table, (names, _) in states[0].items()
        if all(table in state for state in states)
    }


def lost_rows(what, before, after, kept=None):
    """A problem for each table whose rows differ between `before` and `after`, on the
    tables and columns both have, or on those in `kept` ({table: column names})."""
    problems = []
    if kept is None:
        kept = common_columns(before, after)
    for table, names in sorted(kept.items()):
        old, new = project(before[table], names), project(after[table], names)
        if old != new:
            missing, extra = old - new, new - old
            problems.append(
                f"{what}: {table} lost {sum(missing.values())} row(s) and gained "
                f"{sum(extra.values())}; first lost: {next(iter(missing), None)}"
            )
    return problems


def shape(state):
    return {table: names for table, (names, _) in state.items()}


def keep_rows_down_and_up(problems, engine, script):
    """Step 5: each real revision downgraded in turn, down to the first, then upgraded."""
    states = [snapshot(engine)]
    for revision in script.walk_revisions():  # head first
        target = revision.down_revision
        if target is None:
            break
        if not step(problems, f"flask db downgrade {target}", partial(downgrade, revision=target)):
            return
        states.append(snapshot(engine))
        problems += lost_rows(f"downgrade to {target}", states[-2], states[-1])
    if len(states) == 1:
        return  # a single revision: nothing but base below it
    if not step(problems, "flask db upgrade after the downgrades", upgrade):
        return
    states.append(snapshot(engine))
    # A table or column that a downgrade dropped comes back from the upgrade without
    # its old values: compare what every step kept.
    kept = common_columns(*states)
    problems += lost_rows("downgrades and upgrade back to head", states[0], states[-1], kept)


@contextmanager
def revision_after_head(script, revision, also="", statement="pass"):
    """A revision after the head that rebuilds the users table, then runs `statement`;
    gone again afterwards."""
    path = Path(script.versions) / f"{revision}.py"
    head = script.get_current_head()
    path.write_text(
        TEST_REVISION.format(revision=revision, down_revision=head, also=also, statement=statement)
    )
    try:
        yield head
    finally:
        path.unlink()


def keep_rows_through_rebuild(problems, engine, script):
    """Step 6: a test-only revision that rebuilds the users table, up and down."""
    with revision_after_head(script, "rebuild_users_test") as head:
        before = snapshot(engine)
        if not step(problems, "flask db upgrade to the users table rebuild", upgrade):
            return
        problems += lost_rows("users table rebuilt", before, snapshot(engine))
        if not step(problems, "flask db downgrade of it", lambda: downgrade(revision=head)):
            return
        after = snapshot(engine)
        problems += lost_rows("users table rebuilt back", before, after)
        if shape(before) != shape(after):
            problems.append(f"users table rebuilt back: {shape(after)}, was {shape(before)}")


def refuse_orphaned_rows(problems, engine, script):
    """Step 7: a revision that leaves sessions pointing at no user must fail as a whole,
    its table rebuild included, on SQLite (a check before commit, migrations/env.py)
    as on PostgreSQL (the foreign key itself)."""
    orphan = 'op.execute("UPDATE user_sessions SET user_id = user_id + 1000")'
    with revision_after_head(script, "orphan_rows_test", " that orphans sessions", orphan) as head:
        before = snapshot(engine)
        try:
            upgrade()
        except SystemExit as exit_:  # Flask-Migrate logs the check's error and exits 1
            failed = bool(exit_.code)
        except IntegrityError:
            failed = True
        else:
            failed = False
        if not failed:
            problems.append("a revision that orphans sessions was committed")
        if snapshot(engine) != before:
            problems.append("a failed revision left changes behind")
        with engine.connect() as connection:
            version = connection.execute(text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalar()
        if version != head:
            problems.append(f"a failed revision left {ALEMBIC_TABLE} at {version}, not {head}")


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
        if not step(problems, "flask db upgrade after downgrade", upgrade):
            return name, problems
        with engine.begin() as connection:
            populate(connection, db.metadata)
        filled = snapshot(engine)
        problems += [
            f"{table}: no rows after populate()" for table, (_, rows) in filled.items() if not rows
        ]
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        keep_rows_down_and_up(problems, engine, script)
        keep_rows_through_rebuild(problems, engine, script)
        refuse_orphaned_rows(problems, engine, script)
        engine.dispose()
    print(
        f"{name}: {len(migrated)} indexes and constraints compared,"
        f" rows of {len(filled)} tables compared through every migration",
        flush=True,
    )
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
