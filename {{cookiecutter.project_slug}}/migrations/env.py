"""Alembic environment for Flask-Migrate: the app's engine and models' metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url",
    target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%"),
)


def include_object(item, name, type_, reflected, compare_to) -> bool:
    """Compare what the models keep for one database (info["dialect"]) only on that
    database, so `flask db migrate` and `flask db check` agree with the migrations on
    every database the project runs on."""
    dialect = item.info.get("dialect")
    return dialect is None or dialect == context.get_context().dialect.name


def check_foreign_keys(connection) -> None:
    """SQLite migrations run with foreign keys off: refuse to commit rows they orphaned."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        rows = sorted({f"{table} row {rowid} -> {parent}" for table, rowid, parent, _ in broken})
        raise RuntimeError(f"migrations rolled back, rows left without a parent: {', '.join(rows)}")


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_revisions(context, revision, directives) -> None:
        # `flask db migrate` with no model change writes no empty migration.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    configure_args = current_app.extensions["migrate"].configure_args
    configure_args.setdefault("process_revision_directives", skip_empty_revisions)
    configure_args.setdefault("include_object", include_object)

    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copying it, dropping the old one and renaming
            # the copy: with foreign keys on, that DROP deletes or nulls every row that
            # references the table. The pragma is ignored inside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            # One transaction for every pending migration, on both databases, so the
            # check below can still roll all of them back.
            with connection.begin():
                if sqlite:
                    # pysqlite would begin only at the first INSERT or UPDATE, after
                    # DDL that could then not be rolled back.
                    connection.exec_driver_sql("BEGIN")
                context.configure(
                    connection=connection, target_metadata=target_db.metadata, **configure_args
                )
                context.run_migrations()
                if sqlite:
                    check_foreign_keys(connection)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
